/**
 * The soak at test size: signed deliveries across all six example sources, with duplicates,
 * schema failures, claim checks and forged signatures, through a real `wrangler dev`. Every key
 * answered 2xx must have exactly one outcome in D1 (counted per key, not as net totals), every
 * forgery a counted rejection, and no log line, error body or metric may show a secret. The faulted run fails 5% of D1 statements, R2
 * puts, queue sends and consumer batches on the way and must reconcile just as exactly.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { knownSecrets, plan, reconcileKeys, runSoak } from "../../bench/soak.ts";

describe("per-key reconciliation", () => {
  it("counts lost and duplicated keys, which net totals would cancel out", () => {
    const persistTo = mkdtempSync(join(tmpdir(), "sluice-soak-keys-"));
    try {
      mkdirSync(join(persistTo, "v3", "d1", "miniflare-D1DatabaseObject"), { recursive: true });
      const db = new DatabaseSync(join(persistTo, "v3", "d1", "miniflare-D1DatabaseObject", "db.sqlite"));
      db.exec(`CREATE TABLE _sluice_loads (load_id TEXT);
        CREATE TABLE _sluice_quarantine (source TEXT, key TEXT, status TEXT);
        CREATE TABLE _sluice_dead_letters (source TEXT, key TEXT, status TEXT);
        CREATE TABLE raw_github__issues (_sluice_key TEXT);
        CREATE TABLE raw_github__pushes (_sluice_key TEXT);
        CREATE TABLE raw_github__pushes__staging (_sluice_key TEXT);
        INSERT INTO raw_github__issues VALUES ('a'), ('b'), ('stray');
        INSERT INTO raw_github__pushes VALUES ('b');
        INSERT INTO raw_github__pushes__staging VALUES ('d');
        INSERT INTO _sluice_quarantine VALUES ('github', 'c', 'open'), ('github', 'a', 'retried');
        INSERT INTO _sluice_dead_letters VALUES ('github', 'e', 'open'), ('github', 'd', 'redriven');`);
      db.close();
      // Five keys answered 2xx and five outcomes in D1, yet `b` has two and `d` none.
      const accepted = new Set(["a", "b", "c", "d", "e"].map((key) => `github\u0000${key}`));
      expect(reconcileKeys(persistTo, ["github"], accepted)).toEqual({
        loaded: 1,
        quarantined: 1,
        dead_lettered: 1,
        lost: 1,
        duplicated: 1,
        unexpected: 1,
      });
    } finally {
      rmSync(persistTo, { recursive: true, force: true });
    }
  });
});

describe("soak", () => {
  it("5,000 deliveries: every accepted event loaded exactly once, nothing leaked", async () => {
    const result = await runSoak({ events: 5_000, log: () => undefined });
    const expected = plan(5_000);
    expect(result).toMatchObject({ lost: 0, duplicated: 0, unexpected: 0, dead_lettered: 0, reconciled: true, secret_leaks: 0 });
    expect(result.accepted).toBe(expected.filter((p) => !p.duplicate && p.kind !== "badsig").length);
    expect(result.quarantined).toBe(result.expected_quarantined);
    expect(result.loaded + result.quarantined).toBe(result.accepted);
    expect(result.rejected).toBe(expected.filter((p) => !p.duplicate && p.kind === "badsig").length);
    expect(result.rejected_in_metrics).toBe(result.rejected);
    expect(result.duplicates_sent).toBe(expected.filter((p) => p.duplicate).length);
    expect(result.claim_checks).toBeGreaterThan(20);
    // The scan looks for real values: every secret and token the Worker was given.
    expect(knownSecrets).toEqual(
      expect.arrayContaining(["whsec_test_stripe_secret", "test-admin-token", "test-scoped-token", "test-hash-salt"]),
    );
  }, 600_000);

  it("with 5% injected faults, still exact", async () => {
    const result = await runSoak({ events: 2_000, faults: "0.05", log: () => undefined });
    expect(result).toMatchObject({ lost: 0, duplicated: 0, unexpected: 0, reconciled: true, secret_leaks: 0 });
    expect(result.loaded + result.quarantined + result.dead_lettered).toBe(result.accepted);
    expect(result.quarantined).toBe(result.expected_quarantined);
    expect(result.rejected_in_metrics).toBe(result.rejected);
    // Faults really happened: the Worker answered some deliveries 5xx and they were retried.
    expect(result.retried_requests).toBeGreaterThan(0);
  }, 600_000);
});
