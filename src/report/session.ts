/**
 * Dashboard sessions: signing in with an admin token sets a signed cookie,
 * `HttpOnly; Secure; SameSite=Strict`, holding only its expiry and an HMAC of it. The key is
 * SESSION_SECRET, or else derived from ADMIN_TOKENS, so rotating the admin tokens ends every
 * session. A cookie that does not verify is ignored.
 */
import { getCookie, setCookie, deleteCookie } from "hono/cookie";
import type { Context } from "hono";
import type { AppEnv } from "../env.ts";
import { hmacSha256, sha256Hex, timingSafeEqual, toHex, utf8 } from "../lib/crypto.ts";

export const sessionCookie = "sluice_session";
const lifetimeSeconds = 12 * 3600;

async function sessionKey(c: Context<AppEnv>): Promise<string> {
  const { settings } = c.var.runtime;
  return settings.sessionSecret ?? (await sha256Hex(`sluice-session|${settings.adminTokens.join(",")}`));
}

async function sign(c: Context<AppEnv>, expires: number): Promise<string> {
  return toHex(await hmacSha256(await sessionKey(c), utf8(`session|${expires}`)));
}

export async function startSession(c: Context<AppEnv>): Promise<void> {
  const expires = Math.floor(Date.now() / 1000) + lifetimeSeconds;
  setCookie(c, sessionCookie, `${expires}.${await sign(c, expires)}`, {
    httpOnly: true,
    secure: true,
    sameSite: "Strict",
    path: "/",
    maxAge: lifetimeSeconds,
  });
}

export function endSession(c: Context<AppEnv>): void {
  deleteCookie(c, sessionCookie, { path: "/", secure: true });
}

export async function hasSession(c: Context<AppEnv>): Promise<boolean> {
  if (c.var.runtime.settings.adminTokens.length === 0) return false;
  const value = getCookie(c, sessionCookie);
  const match = value ? /^(\d{1,12})\.([0-9a-f]{64})$/.exec(value) : null;
  if (!match) return false;
  const expires = Number(match[1]);
  if (expires < Date.now() / 1000) return false;
  return timingSafeEqual(match[2]!, await sign(c, expires));
}
