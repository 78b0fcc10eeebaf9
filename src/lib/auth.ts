/**
 * Bearer-token access control. Reports accept tokens from REPORT_TOKENS; the ops API accepts
 * ADMIN_TOKENS (an admin token also reads reports). Lists allow rotation; every comparison runs in
 * constant time.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { matchesAny } from "./crypto.ts";
import { SluiceError } from "./errors.ts";

export type TokenScope = "report" | "admin";

export function requireToken(scope: TokenScope) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const { settings } = c.var.runtime;
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      throw new SluiceError("unauthorized", "missing bearer token: send Authorization: Bearer <token>");
    }
    const allowed = scope === "admin" ? settings.adminTokens : [...settings.reportTokens, ...settings.adminTokens];
    if (allowed.length === 0 || !(await matchesAny(match[1]!, allowed))) {
      throw new SluiceError("unauthorized", "invalid bearer token");
    }
    await next();
  });
}
