/**
 * The dashboard's buttons, behind its session: build now, redrive dead letters, replay the last
 * 24 hours of a source. Each answers with a redirect back to the dashboard and what it did. The
 * actions reach into other stages, so the wiring (app.ts) hands them in.
 */
import type { Runtime } from "../env.ts";
import { createRouter, hiddenRoute } from "../http/routers.ts";

export interface DashboardActions {
  build(runtime: Runtime): Promise<string>;
  redrive(runtime: Runtime): Promise<string>;
  replay(runtime: Runtime, source: string): Promise<string>;
}

export function dashboardActionRoutes(actions: DashboardActions) {
  const routes = createRouter("session");
  const done = (message: string) => `/?done=${encodeURIComponent(message)}`;
  routes.openapi(hiddenRoute("post", "/ui/build"), async (c) => c.redirect(done(await actions.build(c.var.runtime)), 303));
  routes.openapi(hiddenRoute("post", "/ui/redrive"), async (c) => c.redirect(done(await actions.redrive(c.var.runtime)), 303));
  routes.openapi(hiddenRoute("post", "/ui/replay"), async (c) => {
    const form = await c.req.parseBody();
    const source = typeof form.source === "string" ? form.source : "";
    return c.redirect(done(await actions.replay(c.var.runtime, source)), 303);
  });
  return routes;
}
