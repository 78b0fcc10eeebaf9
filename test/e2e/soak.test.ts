/**
 * The soak at test size: signed deliveries across all six example sources, with duplicates,
 * schema failures, claim checks and forged signatures, through a real `wrangler dev`. Every 2xx
 * must be exactly one row or one quarantine row, every forgery a counted rejection, and no log
 * line, error body or metric may show a secret. The faulted run fails 5% of D1 statements, R2
 * puts, queue sends and consumer batches on the way and must reconcile just as exactly.
 */
import { describe, expect, it } from "vitest";
import { knownSecrets, plan, runSoak } from "../../bench/soak.ts";

describe("soak", () => {
  it("10,000 deliveries: every accepted event loaded exactly once, nothing leaked", async () => {
    const result = await runSoak({ events: 10_000, log: () => undefined });
    const expected = plan(10_000);
    expect(result).toMatchObject({ lost: 0, duplicated: 0, reconciled: true, secret_leaks: 0 });
    expect(result.accepted).toBe(expected.filter((p) => !p.duplicate && p.kind !== "badsig").length);
    expect(result.quarantined).toBe(result.expected_quarantined);
    expect(result.loaded + result.quarantined).toBe(result.accepted);
    expect(result.rejected).toBe(expected.filter((p) => !p.duplicate && p.kind === "badsig").length);
    expect(result.rejected_in_metrics).toBe(result.rejected);
    expect(result.duplicates_sent).toBe(expected.filter((p) => p.duplicate).length);
    expect(result.claim_checks).toBeGreaterThan(40);
    // The scan looks for real values: every secret and token the Worker was given.
    expect(knownSecrets).toEqual(expect.arrayContaining(["whsec_test_stripe_secret", "test-admin-token", "test-scoped-token", "test-hash-salt"]));
  }, 600_000);

  it("with 5% injected faults, still exact", async () => {
    const result = await runSoak({ events: 2_000, faults: "0.05", log: () => undefined });
    expect(result).toMatchObject({ lost: 0, duplicated: 0, reconciled: true, secret_leaks: 0 });
    expect(result.loaded + result.quarantined).toBe(result.accepted);
    expect(result.quarantined).toBe(result.expected_quarantined);
    expect(result.rejected_in_metrics).toBe(result.rejected);
    // Faults really happened: the Worker answered some deliveries 5xx and they were retried.
    expect(result.retried_requests).toBeGreaterThan(0);
  }, 600_000);
});
