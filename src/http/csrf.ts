/**
 * The dashboard's CSRF check: a request that changes state (any method but GET, HEAD and
 * OPTIONS) must say it comes from the dashboard's own origin, by `Sec-Fetch-Site: same-origin`
 * or an `Origin` equal to this one, whatever its content type. hono/csrf checks only the
 * content types an HTML form can send and lets every other request through, relying on
 * browsers to preflight them; the dashboard's cookie and its actions should not depend on that.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { SluiceError } from "../lib/errors.ts";

const safeMethods = new Set(["GET", "HEAD", "OPTIONS"]);

export function assertSameOrigin(c: Context<AppEnv>): void {
  if (!safeMethods.has(c.req.method)) {
    const sameOrigin = c.req.header("sec-fetch-site") === "same-origin" || c.req.header("origin") === new URL(c.req.url).origin;
    if (!sameOrigin) throw new SluiceError("forbidden", "cross-site request refused: dashboard forms must be posted from this origin");
  }
}

export const sameOriginOnly = createMiddleware<AppEnv>(async (c, next) => {
  assertSameOrigin(c);
  await next();
});
