/**
 * Rate limits through the Workers rate limiting binding (`[[ratelimits]]` in wrangler.toml,
 * which `wrangler dev` enforces locally as well). Two limits:
 * - `WEBHOOK_LIMITER`: deliveries per webhook source, so one noisy or hostile sender cannot
 *   crowd out the others;
 * - `AUTH_FAILURE_LIMITER`: failed authentication (bad signatures, missing or wrong tokens)
 *   per client address, so guessing is slow.
 * An over-limit request gets 429 with `Retry-After`. Benchmarks (`SLUICE_BENCH_BASELINE`) lift
 * the limits, as they lift the pull politeness limit, to measure the path itself.
 */
import type { Runtime } from "../env.ts";
import { SluiceError } from "./errors.ts";

/** Each limiter's period in seconds, as wrangler.toml declares it (10 or 60). */
export const limitPeriods = { WEBHOOK_LIMITER: 10, AUTH_FAILURE_LIMITER: 60 } as const;
export type Limiter = keyof typeof limitPeriods;

/** Counts one event against `key`; false once the limiter's budget for the period is spent. */
async function withinLimit(runtime: Runtime, limiter: Limiter, key: string): Promise<boolean> {
  const binding = (runtime.env as Partial<Record<Limiter, RateLimit>>)[limiter];
  if (!binding || runtime.settings.benchBaseline) return true;
  return (await binding.limit({ key })).success;
}

/** Counts one event against `key`; throws `rate_limited` once the limiter's budget is spent. */
export async function enforceLimit(runtime: Runtime, limiter: Limiter, key: string, what: string): Promise<void> {
  if (!(await withinLimit(runtime, limiter, key))) throw rateLimited(what, limitPeriods[limiter]);
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
 * count is shared across isolates; once an address is over it, each isolate that sees it fail
 * again blocks it here, and refuses it before checking any further credential, right or wrong,
 * until the period is over. Guessing gains nothing from the block's first moments.
 */
const blockedUntil = new Map<string, number>();
const maxBlocked = 10_000;

/** Throws `rate_limited` if the address is blocked for failing authentication too often. */
export function assertNotBlocked(headers: Headers, now = Date.now()): void {
  const address = clientAddress(headers);
  const until = blockedUntil.get(address);
  if (until === undefined) return;
  if (until <= now) {
    blockedUntil.delete(address);
    return;
  }
  throw tooManyFailures(Math.ceil((until - now) / 1000));
}

/**
 * Counts a failed authentication against the client's address, and returns the error to throw:
 * the failure itself, or `rate_limited` (and a block on the address) once it has failed too often.
 */
export async function authFailure(runtime: Runtime, headers: Headers, failure: SluiceError): Promise<SluiceError> {
  const address = clientAddress(headers);
  // A limiter that cannot be reached leaves the failure as it was.
  if (await withinLimit(runtime, "AUTH_FAILURE_LIMITER", address).catch(() => true)) return failure;
  if (blockedUntil.size >= maxBlocked) blockedUntil.clear();
  blockedUntil.set(address, Date.now() + limitPeriods.AUTH_FAILURE_LIMITER * 1000);
  return tooManyFailures(limitPeriods.AUTH_FAILURE_LIMITER);
}

function tooManyFailures(retryAfterSeconds: number): SluiceError {
  return rateLimited("too many failed authentication attempts from this address", retryAfterSeconds);
}
