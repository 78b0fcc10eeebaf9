/**
 * The dashboard's buttons, behind its session: build now, redrive dead letters, replay the last
 * 24 hours of a source. Each answers with a redirect back to the dashboard and what it did.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { SluiceError } from "../lib/errors.ts";
import { hasSession } from "./session.ts";

export interface DashboardActions {
  build(runtime: AppEnv["Variables"]["runtime"]): Promise<string>;
  redrive(runtime: AppEnv["Variables"]["runtime"]): Promise<string>;
  replay(runtime: AppEnv["Variables"]["runtime"], source: string): Promise<string>;
}

export function dashboardActionRoutes(actions: DashboardActions) {
  const routes = new Hono<AppEnv>();
  routes.use("/ui/*", async (c, next) => {
    if (!(await hasSession(c))) throw new SluiceError("unauthorized", "sign in to the dashboard first");
    await next();
  });
  const done = (message: string) => `/?done=${encodeURIComponent(message)}`;
  routes.post("/ui/build", async (c) => c.redirect(done(await actions.build(c.var.runtime)), 303));
  routes.post("/ui/redrive", async (c) => c.redirect(done(await actions.redrive(c.var.runtime)), 303));
  routes.post("/ui/replay", async (c) => {
    const form = await c.req.parseBody();
    const source = typeof form.source === "string" ? form.source : "";
    return c.redirect(done(await actions.replay(c.var.runtime, source)), 303);
  });
  return routes;
}
