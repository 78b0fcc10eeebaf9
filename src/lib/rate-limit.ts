/**
 * Rate limits through the Workers rate limiting binding (`[[ratelimits]]` in wrangler.toml,
 * which `wrangler dev` enforces locally as well). A binding has one fixed limit and period (10 or
 * 60 s), and its counts are kept per Cloudflare location, not globally. Limits:
 * - `WEBHOOK_LIMITER`: authentic deliveries per webhook source, set to what a queue accepts
 *   (5,000 messages/s); a source that needs another limit names its own binding (`rateLimit`);
 * - `AUTH_FAILURE_LIMITER`: failed authentication (bad signatures, missing or wrong tokens)
 *   per client address, so guessing is slow.
 * An over-limit request gets 429 with `Retry-After`. Every call counts, benchmarks included: a
 * benchmark that would exceed a limit declares a higher one in its own config.
 */
import type { Runtime } from "../env.ts";
import { SluiceError } from "./errors.ts";

/** Each limiter's period in seconds, as wrangler.toml declares it (10 or 60). */
export const limitPeriods = { WEBHOOK_LIMITER: 10, AUTH_FAILURE_LIMITER: 60 } as const;
export type Limiter = keyof typeof limitPeriods;

/** Another rate limiting binding, by name, with the period wrangler.toml declares for it. */
export interface LimiterBinding {
  binding: string;
  periodSeconds: 10 | 60;
}

/** Bindings a config names that the Worker does not have: each is logged once per isolate. */
const missing = new Set<string>();

/** Counts one event against `key`; false once the limiter's budget for the period is spent. */
async function withinLimit(runtime: Runtime, limiter: Limiter | LimiterBinding, key: string): Promise<boolean> {
  const name = typeof limiter === "string" ? limiter : limiter.binding;
  const binding = (runtime.env as unknown as Record<string, RateLimit | undefined>)[name];
  if (!binding && typeof limiter !== "string" && !missing.has(name)) {
    // Failing open keeps deliveries flowing; the log says the limit is not being applied.
    missing.add(name);
    runtime.log.error("ratelimit.binding_missing", { binding: name, fix: "declare it as [[ratelimits]] in wrangler.toml" });
  }
  if (!binding) return true;
  return (await binding.limit({ key })).success;
}

/** Counts one event against `key`; throws `rate_limited` once the limiter's budget is spent. */
export async function enforceLimit(runtime: Runtime, limiter: Limiter | LimiterBinding, key: string, what: string): Promise<void> {
  const period = typeof limiter === "string" ? limitPeriods[limiter] : limiter.periodSeconds;
  if (!(await withinLimit(runtime, limiter, key))) throw rateLimited(what, period);
}

function rateLimited(what: string, retryAfterSeconds: number): SluiceError {
  return new SluiceError("rate_limited", `${what}; retry after ${retryAfterSeconds} s`, { details: { retryAfterSeconds } });
}

/** The client's address as Cloudflare reports it; one bucket for local requests without it. */
export function clientAddress(headers: Headers): string {
  return headers.get("cf-connecting-ip") ?? "local";
}

/**
 * Addresses over the failed-authentication limit, with when their block ends. The limiter's
 * count is shared across isolates (of a location); once an address is over it, each isolate that
 * sees it fail again blocks it here until the period is over.
 */
const blockedUntil = new Map<string, number>();
const maxBlocked = 10_000;

/** Seconds left on the address's block for failing authentication too often; 0 if not blocked. */
export function blockedFor(headers: Headers, now = Date.now()): number {
  const address = clientAddress(headers);
  const until = blockedUntil.get(address);
  if (until === undefined) return 0;
  if (until <= now) {
    blockedUntil.delete(address);
    return 0;
  }
  return Math.ceil((until - now) / 1000);
}

/**
 * Throws `rate_limited` if the address is blocked. For tokens (the ops API, reports, the
 * dashboard): a blocked address is refused before any token is checked, right or wrong, so
 * guessing gains nothing. Webhooks do not call this: an address there may be a provider's,
 * shared with whoever forges from the same provider, so a delivery is refused only when its own
 * signature fails (see authFailure).
 */
export function assertNotBlocked(headers: Headers, now = Date.now()): void {
  const seconds = blockedFor(headers, now);
  if (seconds > 0) throw tooManyFailures(seconds);
}

/**
 * Counts a failed authentication against the client's address, and returns the error to throw:
 * the failure itself, or `rate_limited` (and a block on the address) once it has failed too often.
 * While the address is blocked its failures are refused without counting them again, so a blocked
 * sender costs no limiter call.
 */
export async function authFailure(runtime: Runtime, headers: Headers, failure: SluiceError): Promise<SluiceError> {
  const blocked = blockedFor(headers);
  if (blocked > 0) return tooManyFailures(blocked);
  const address = clientAddress(headers);
  // A limiter that cannot be reached leaves the failure as it was.
  if (await withinLimit(runtime, "AUTH_FAILURE_LIMITER", address).catch(() => true)) return failure;
  if (blockedUntil.size >= maxBlocked) blockedUntil.clear();
  blockedUntil.set(address, Date.now() + limitPeriods.AUTH_FAILURE_LIMITER * 1000);
  return tooManyFailures(limitPeriods.AUTH_FAILURE_LIMITER);
}

export function tooManyFailures(retryAfterSeconds: number): SluiceError {
  return rateLimited("too many failed authentication attempts from this address", retryAfterSeconds);
}
