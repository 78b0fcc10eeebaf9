/**
 * Dashboard sessions: signing in with an admin token sets a signed cookie,
 * `HttpOnly; Secure; SameSite=Strict`, holding only its expiry and an HMAC of the expiry and the
 * session generation (in D1, `_sluice_session_generation`). The key is SESSION_SECRET, or else
 * derived from ADMIN_TOKENS, so rotating the admin tokens ends every session; "sign out
 * everywhere" bumps the generation, which ends every session at once, in every isolate, without
 * a rotation. A cookie that does not verify against the current generation is ignored.
 */
import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { sessionGeneration } from "../db/schema.ts";
import type { AppEnv } from "../env.ts";
import { hmacSha256, sha256Hex, timingSafeEqual, toHex, utf8 } from "../lib/crypto.ts";

export const sessionCookie = "sluice_session";
const lifetimeSeconds = 12 * 3600;
const row = 1;

async function sessionKey(c: Context<AppEnv>): Promise<string> {
  const { settings } = c.var.runtime;
  return settings.sessionSecret ?? (await sha256Hex(`sluice-session|${settings.adminTokens.join(",")}`));
}

async function sign(c: Context<AppEnv>, expires: number, generation: number): Promise<string> {
  return toHex(await hmacSha256(await sessionKey(c), utf8(`session|${expires}|${generation}`)));
}

/** The current session generation, read from D1 on every check so a revocation holds at once everywhere. */
async function currentGeneration(c: Context<AppEnv>): Promise<number> {
  const [current] = await drizzle(c.var.runtime.env.DB)
    .select({ generation: sessionGeneration.generation })
    .from(sessionGeneration)
    .where(eq(sessionGeneration.id, row));
  return current?.generation ?? 0;
}

export async function startSession(c: Context<AppEnv>): Promise<void> {
  const expires = Math.floor(Date.now() / 1000) + lifetimeSeconds;
  setCookie(c, sessionCookie, `${expires}.${await sign(c, expires, await currentGeneration(c))}`, {
    httpOnly: true,
    secure: true,
    sameSite: "Strict",
    path: "/",
    maxAge: lifetimeSeconds,
  });
}

/** Clears this browser's cookie. Other sessions stay; `revokeAllSessions` ends them. */
export function endSession(c: Context<AppEnv>): void {
  deleteCookie(c, sessionCookie, { path: "/", secure: true });
}

/** Ends every session issued so far, in every browser, by moving to the next generation. */
export async function revokeAllSessions(c: Context<AppEnv>): Promise<number> {
  const [bumped] = await drizzle(c.var.runtime.env.DB)
    .insert(sessionGeneration)
    .values({ id: row, generation: 1, changedAt: new Date().toISOString() })
    .onConflictDoUpdate({
      target: sessionGeneration.id,
      set: { generation: sql`${sessionGeneration.generation} + 1`, changedAt: new Date().toISOString() },
    })
    .returning({ generation: sessionGeneration.generation });
  return bumped!.generation;
}

export async function hasSession(c: Context<AppEnv>): Promise<boolean> {
  if (c.var.runtime.settings.adminTokens.length === 0) return false;
  const value = getCookie(c, sessionCookie);
  const match = value ? /^(\d{1,12})\.([0-9a-f]{64})$/.exec(value) : null;
  if (!match) return false;
  const expires = Number(match[1]);
  if (expires < Date.now() / 1000) return false;
  return timingSafeEqual(match[2]!, await sign(c, expires, await currentGeneration(c)));
}
