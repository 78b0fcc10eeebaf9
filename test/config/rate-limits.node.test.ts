/**
 * The rate limits each environment deploys with: a webhook source may receive what a queue accepts,
 * and every limiter's period is the one Sluice states in Retry-After.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { repoRoot } from "../../scripts/lib/dev-server.ts";

interface RateLimitBinding {
  name: string;
  namespace_id: string;
  simple: { limit: number; period: number };
}

const environments = [undefined, "staging", "production"] as const;
const limitersOf = (env: string | undefined) =>
  (unstable_readConfig({ config: join(repoRoot, "wrangler.toml"), env }, {}) as { ratelimits: RateLimitBinding[] }).ratelimits;

/** The periods src/lib/rate-limit.ts answers in Retry-After (it imports the Worker's types, which Node lacks). */
const limitPeriods = { WEBHOOK_LIMITER: 10, AUTH_FAILURE_LIMITER: 60 };

/** Cloudflare Queues take 5,000 messages per second per queue. */
const queueMessagesPerSecond = 5000;

describe("rate limits in wrangler.toml", () => {
  for (const env of environments) {
    describe(env ?? "top level", () => {
      const limiters = new Map(limitersOf(env).map((binding) => [binding.name, binding]));

      it("lets a webhook source deliver as fast as a queue accepts", () => {
        const webhook = limiters.get("WEBHOOK_LIMITER")!;
        expect(webhook.simple.limit / webhook.simple.period).toBeGreaterThanOrEqual(queueMessagesPerSecond);
      });

      it("declares each limiter with the period Sluice answers in Retry-After", () => {
        for (const [name, period] of Object.entries(limitPeriods)) expect(limiters.get(name)?.simple.period).toBe(period);
      });

      it("gives each limiter its own namespace", () => {
        const ids = [...limiters.values()].map((binding) => binding.namespace_id);
        expect(new Set(ids).size).toBe(ids.length);
      });
    });
  }
});
