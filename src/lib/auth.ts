/**
 * Bearer-token access control. Reports accept tokens from REPORT_TOKENS, each valid for every
 * report or, written `<token>@<report>+<report>`, for only those; the ops API accepts
 * ADMIN_TOKENS (an admin token also reads every report). Lists allow rotation; every comparison
 * runs in constant time, against every token, whichever matches.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv, Grant } from "../env.ts";
import { equalDigests, sha256 } from "./crypto.ts";
import { SluiceError } from "./errors.ts";
import { assertNotBlocked, authFailure } from "./rate-limit.ts";

export type TokenScope = "report" | "admin";

function bearer(header: string | undefined): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!match) throw new SluiceError("unauthorized", "missing bearer token: send Authorization: Bearer <token>");
  return match[1]!;
}

type Settings = AppEnv["Variables"]["runtime"]["settings"];

/** Digests of the configured tokens, computed once per isolate and settings. */
const digests = new WeakMap<Settings, Promise<{ admin: Uint8Array[]; reports: Uint8Array[] }>>();

function tokenDigests(settings: Settings) {
  let cached = digests.get(settings);
  if (!cached) {
    cached = (async () => ({
      admin: await Promise.all(settings.adminTokens.map((t) => sha256(t))),
      reports: await Promise.all(settings.reportTokens.map((g) => sha256(g.token))),
    }))();
    digests.set(settings, cached);
  }
  return cached;
}

async function grantOf(token: string, settings: Settings, scope: TokenScope): Promise<Grant | undefined> {
  // Compare digests, every one of them, so timing reveals neither length nor which token matched.
  const presented = await sha256(token);
  const known = await tokenDigests(settings);
  const admin = known.admin.map((digest) => equalDigests(presented, digest));
  const reports = scope === "report" ? known.reports.map((digest) => equalDigests(presented, digest)) : [];
  if (admin.includes(true)) return { admin: true, reports: null };
  const index = reports.indexOf(true);
  return index < 0 ? undefined : { admin: false, reports: settings.reportTokens[index]!.reports };
}

/** Whether `token` is one of the admin tokens, compared as every other token is. */
export async function isAdminToken(token: string, settings: Settings): Promise<boolean> {
  return (await grantOf(token, settings, "admin"))?.admin === true;
}

export function requireToken(scope: TokenScope) {
  return createMiddleware<AppEnv & { Variables: { grant: Grant } }>(async (c, next) => {
    let grant: Grant | undefined;
    try {
      assertNotBlocked(c.req.raw.headers);
      grant = await grantOf(bearer(c.req.header("authorization")), c.var.runtime.settings, scope);
      if (!grant) throw new SluiceError("unauthorized", "invalid bearer token");
    } catch (error) {
      throw error instanceof SluiceError ? await authFailure(c.var.runtime, c.req.raw.headers, error) : error;
    }
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
