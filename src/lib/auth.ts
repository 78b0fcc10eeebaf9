/**
 * Bearer-token access control. Reports accept tokens from REPORT_TOKENS, each valid for every
 * report or, written `<token>@<report>+<report>`, for only those; the ops API accepts
 * ADMIN_TOKENS (an admin token also reads every report). Lists allow rotation; every comparison
 * runs in constant time, against every token, whichever matches.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { timingSafeEqual } from "./crypto.ts";
import { SluiceError } from "./errors.ts";

export type TokenScope = "report" | "admin";

/** What the request's token may do: every report (null), some reports, or nothing. */
export type Grant = { admin: boolean; reports: string[] | null };

function bearer(header: string | undefined): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!match) throw new SluiceError("unauthorized", "missing bearer token: send Authorization: Bearer <token>");
  return match[1]!;
}

async function grantOf(token: string, settings: AppEnv["Variables"]["runtime"]["settings"], scope: TokenScope): Promise<Grant | undefined> {
  const admin = await Promise.all(settings.adminTokens.map((t) => timingSafeEqual(token, t)));
  const reports = scope === "report" ? await Promise.all(settings.reportTokens.map((g) => timingSafeEqual(token, g.token))) : [];
  if (admin.includes(true)) return { admin: true, reports: null };
  const index = reports.indexOf(true);
  return index < 0 ? undefined : { admin: false, reports: settings.reportTokens[index]!.reports };
}

export function requireToken(scope: TokenScope) {
  return createMiddleware<AppEnv & { Variables: { grant: Grant } }>(async (c, next) => {
    const grant = await grantOf(bearer(c.req.header("authorization")), c.var.runtime.settings, scope);
    if (!grant) throw new SluiceError("unauthorized", "invalid bearer token");
    c.set("grant", grant);
    await next();
  });
}

/** Whether a grant covers a report; a valid token outside its scope is a 403, not a 401. */
export function assertReportAllowed(grant: Grant, report: string): void {
  if (grant.reports !== null && !grant.reports.includes(report)) {
    throw new SluiceError("forbidden", `this token may not read the report "${report}"`);
  }
}
