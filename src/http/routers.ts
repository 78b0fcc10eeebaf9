/**
 * Routers by auth class. Every route is declared with `createRoute` on a router made here, and
 * the router puts its class's guard in front of each route it registers, so a route is guarded
 * by the router it is declared on, never by a path list kept elsewhere. A stage whose routes
 * span classes makes one router per class. Admin is the default: a route is reachable without an
 * admin token only where it was declared on a router of another class.
 *
 * The guard is part of each route's own handler chain, not a `use("*")`: routers are mounted at
 * `/`, where a wildcard middleware would reach every other router's routes as well. So routes are
 * added with `openapi()` (`hiddenRoute` for those left out of the document), never with `get()`
 * or `post()`, which would skip the guard; test/http/route-guards.test.ts walks every served
 * route and fails on one that answers without credentials outside its public allowlist.
 */
import { createRoute, type Hook, OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import type { MiddlewareHandler } from "hono/types";
import { z } from "zod";
import type { AppEnv, Grant } from "../env.ts";
import { requireToken } from "../lib/auth.ts";
import { SluiceError } from "../lib/errors.ts";
import { assertSameOrigin } from "./csrf.ts";
import { hasSession } from "./session.ts";

/**
 * Who may call a route: anyone (`public`), a provider whose signature the handler verifies
 * (`webhook`), a REPORT_TOKENS or ADMIN_TOKENS bearer (`report`), an ADMIN_TOKENS bearer
 * (`admin`), or a signed-in dashboard browser (`session`).
 */
export type AuthClass = "public" | "webhook" | "report" | "admin" | "session";

/** The context variables a class's guard provides. */
type ClassEnv<A extends AuthClass> = A extends "report" | "admin" ? AppEnv & { Variables: { grant: Grant } } : AppEnv;

/**
 * Dashboard pages and buttons: a state-changing request must come from this origin, then from
 * a browser with a live session. A page asked for without one redirects to the sign-in page.
 */
const requireSession = createMiddleware<AppEnv>(async (c, next) => {
  assertSameOrigin(c);
  if (!(await hasSession(c))) {
    if (c.req.method === "GET") return c.redirect("/sign-in", 302);
    throw new SluiceError("unauthorized", "sign in to the dashboard first");
  }
  return next();
});

// A webhook's signature covers its body, so its handler checks it once it has read the body.
const guards: Record<AuthClass, MiddlewareHandler<AppEnv> | undefined> = {
  public: undefined,
  webhook: undefined,
  report: requireToken("report") as unknown as MiddlewareHandler<AppEnv>,
  admin: requireToken("admin") as unknown as MiddlewareHandler<AppEnv>,
  session: requireSession,
};

/** How each class appears in the OpenAPI document (securitySchemes registered in openapi.ts). */
const security: Partial<Record<AuthClass, RouteConfig["security"]>> = {
  report: [{ reportToken: [] }],
  admin: [{ adminToken: [] }],
};

/** Every request that fails its schema: a 400 naming each problem, as zod words it. */
export const refuseInvalid: Hook<unknown, AppEnv, string, undefined> = (result) => {
  if (!result.success) throw new SluiceError("bad_request", z.prettifyError(result.error));
};

export type Router<A extends AuthClass> = OpenAPIHono<ClassEnv<A>>;

/** A router whose every route, as registered with `openapi()`, runs behind the guard of `auth`. */
export function createRouter<A extends AuthClass = "admin">(auth: A = "admin" as A): Router<A> {
  const router = new OpenAPIHono<ClassEnv<A>>({ defaultHook: refuseInvalid as Hook<unknown, ClassEnv<A>, string, undefined> });
  const register = router.openapi;
  const guard = guards[auth];
  // The handler and hook pass through untouched; only the route gains the guard and its security.
  router.openapi = ((route: RouteConfig, handler: never, hook?: never) =>
    register(
      {
        ...route,
        ...(security[auth] && route.security === undefined ? { security: security[auth] } : {}),
        middleware: [...(guard ? [guard] : []), ...[route.middleware ?? []].flat()],
      },
      handler,
      hook,
    )) as unknown as typeof register;
  return router;
}

type Method = RouteConfig["method"] | "all";

/**
 * A route served but left out of the OpenAPI document (HTML pages, the dashboard's forms);
 * `all` answers every method.
 */
export function hiddenRoute<P extends string>(method: Method, path: P) {
  // `all` is Hono's, not OpenAPI's; a hidden route never reaches the document, so the type may say otherwise.
  return createRoute({ method: method as RouteConfig["method"], path, hide: true, responses: { 200: { description: "Not documented" } } });
}
