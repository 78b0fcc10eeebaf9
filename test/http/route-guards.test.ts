/**
 * Deny by default: every route the app serves refuses a request without credentials, except a
 * short public allowlist, and a route declared on a router made by createRouter is guarded by its
 * class wherever its path falls.
 */

import { env } from "cloudflare:test";
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { inspectRoutes } from "hono/dev";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app.ts";
import { type AppEnv, createRuntime } from "../../src/env.ts";
import { createRouter } from "../../src/http/routers.ts";
import { errorBody, toSluiceError } from "../../src/lib/errors.ts";
import { call, origin } from "../support/worker.ts";

/** Every route the app serves, once per method and path (middleware left out). */
const served = [
  ...new Set(
    inspectRoutes(app)
      .filter((r) => !r.isMiddleware)
      .map((r) => `${r.method} ${r.path}`),
  ),
];

/** Served to anyone: they hold nothing an operator must guard. */
const publicRoutes = [
  "GET /v1/health",
  "GET /openapi.json",
  "GET /docs",
  "GET /sign-in",
  "POST /sign-in",
  "POST /sign-out",
  "GET /favicon.ico",
];
/** Authenticated by the provider's signature inside the handler. */
const webhookRoutes = ["POST /v1/webhooks/:source", "ALL /v1/webhooks/:source"];

/** The console's pages, which send a browser without a session to sign in. */
const consolePages = ["GET /", "GET /monitors/:id", "GET /quality"];

/** A request for a route with its path params filled in, without credentials. */
function bare(route: string, headers: Record<string, string> = {}): Request {
  const [method, path] = route.split(" ") as [string, string];
  const url = path.replace(/:(\w+)/g, (_, name: string) => (name === "source" ? "generic" : `some-${name}`));
  return new Request(`${origin}${url}`, { method: method === "ALL" ? "GET" : method, headers });
}

describe("every route refuses a request without credentials", () => {
  it("serves every allowlisted route, so the allowlist names nothing stale", () => {
    expect(served).toEqual(expect.arrayContaining([...publicRoutes, ...webhookRoutes]));
  });

  const guarded = served.filter((route) => !publicRoutes.includes(route) && !webhookRoutes.includes(route));

  it("guards the ops API, reports, metrics and the dashboard", () => {
    expect(guarded).toEqual(
      expect.arrayContaining([
        "GET /v1/loads",
        "GET /v1/runs/:runId",
        "GET /v1/reports/:name",
        "GET /metrics",
        ...consolePages,
        "POST /ui/replay",
      ]),
    );
  });

  it.each(guarded)("%s", async (route) => {
    // Same-origin, as the dashboard's own forms are, so a refusal is for the missing session.
    const response = await call(bare(route, { origin, "sec-fetch-site": "same-origin" }));
    if (consolePages.includes(route)) {
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toBe("/sign-in");
      return;
    }
    expect(response.status).toBe(401);
    const body = (await response.json()) as { error: { code: string } };
    expect(body.error.code).toBe("unauthorized");
  });

  it.each(["generic", "stripe", "github"])(
    "refuses an unsigned delivery to the %s webhook with 401, and any other method with 405",
    async (source) => {
      const unsigned = await call(
        new Request(`${origin}/v1/webhooks/${source}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }),
      );
      expect(unsigned.status).toBe(401);
      expect(((await unsigned.json()) as { error: { code: string } }).error.code).toBe("bad_signature");
      const other = await call(new Request(`${origin}/v1/webhooks/${source}`));
      expect(other.status).toBe(405);
    },
  );

  it("answers the public routes without credentials", async () => {
    for (const route of ["GET /v1/health", "GET /openapi.json", "GET /docs", "GET /sign-in"]) {
      expect((await call(bare(route))).status, route).toBe(200);
    }
  });
});

describe("createRouter", () => {
  /** An app like Sluice's: a runtime per request, and errors as the one error body. */
  function appWith(...routers: object[]) {
    const probe = new OpenAPIHono<AppEnv>();
    probe.use(async (c, next) => {
      c.set("runtime", createRuntime(env, "fetch"));
      c.set("requestId", "test");
      await next();
    });
    for (const router of routers) probe.route("/", router as never);
    probe.onError((error, c) => {
      const refused = toSluiceError(error);
      return c.json(errorBody(refused, "test"), refused.status);
    });
    return probe;
  }
  const ok = (path: string) => createRoute({ method: "get", path, responses: { 200: { description: "ok" } } });

  it("guards a new route with an admin token by default, whatever its path", async () => {
    const stage = createRouter();
    stage.openapi(ok("/v1/loads/{id}"), (c) => c.text("a load"));
    const probe = appWith(stage);
    const refused = await probe.request("/v1/loads/7", {}, env);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({
      error: { code: "unauthorized", message: "missing bearer token: send Authorization: Bearer <token>", requestId: "test" },
    });
    const allowed = await probe.request("/v1/loads/7", { headers: { authorization: "Bearer test-admin-token" } }, env);
    expect(await allowed.text()).toBe("a load");
  });

  it("guards only its own routes: a public router's route beside it stays open", async () => {
    const admin = createRouter("admin");
    admin.openapi(ok("/v1/secret"), (c) => c.text("secret"));
    const open = createRouter("public");
    open.openapi(ok("/v1/open"), (c) => c.text("open"));
    const probe = appWith(admin, open);
    expect((await probe.request("/v1/secret", {}, env)).status).toBe(401);
    expect(await (await probe.request("/v1/open", {}, env)).text()).toBe("open");
  });

  it("a report token reads report routes but not admin ones", async () => {
    const reports = createRouter("report");
    reports.openapi(ok("/v1/reports/x"), (c) => c.text(c.var.grant.admin ? "admin" : "report"));
    const admin = createRouter();
    admin.openapi(ok("/v1/ops"), (c) => c.text("ops"));
    const probe = appWith(reports, admin);
    const asReport = { headers: { authorization: "Bearer test-report-token" } };
    expect(await (await probe.request("/v1/reports/x", asReport, env)).text()).toBe("report");
    expect((await probe.request("/v1/ops", asReport, env)).status).toBe(401);
  });
});
