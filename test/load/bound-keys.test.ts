/**
 * Keys taken from outside a delivery's signature (GitHub and Shopify delivery ids, generic key
 * headers) are bound to the body's SHA-256: a re-delivery is the same key and the same body, per
 * source. A different body under a used key is loaded as its own record, counted and alerted.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { reconcile } from "../../src/load/reconcile.ts";
import { readCounters } from "../../src/ops/rollups.ts";
import { sha256Hex } from "../support/http.ts";
import { consumeWith, labRuntime, rows } from "../support/pipeline.ts";
import { recordMessage } from "../support/queue.ts";

/** A webhook record whose key came from an unsigned header, bound to its body's hash. */
async function unsigned(key: string, payload: unknown, stream: string) {
  const bodyHash = await sha256Hex(JSON.stringify(payload));
  return recordMessage(key, payload, { source: "lab", stream, keySigned: false, bodyHash });
}

const suffixed = async (key: string, payload: unknown) => `${key}#${(await sha256Hex(JSON.stringify(payload))).slice(0, 16)}`;

const ledger = (stream: string) =>
  rows<{ records: number; inserted: number; duplicates: number; quarantined: number; key_conflicts: number }>(
    "SELECT records, inserted, duplicates, quarantined, key_conflicts FROM _sluice_loads WHERE source = 'lab' AND stream = ?1 ORDER BY load_seq",
    stream,
  );

describe("unsigned keys are bound to the body", () => {
  it("a second body under a used key loads as its own record, `<key>#<hash>`, counted and alerted", async () => {
    const runtime = labRuntime({ spoofed: {} });
    const genuine = { action: "opened", n: 2 };
    const replayed = { action: "opened", n: 1 };
    // A captured body replayed under the id of a genuine later event, then the genuine event.
    await consumeWith(runtime, [await unsigned("evt-2", replayed, "spoofed")]);
    const acked = await consumeWith(runtime, [await unsigned("evt-2", genuine, "spoofed")]);
    expect(acked.explicitAcks).toHaveLength(1);

    const loaded = await rows<{ _sluice_key: string; n: number }>("SELECT _sluice_key, n FROM raw_lab__spoofed ORDER BY n");
    expect(loaded).toEqual([
      { _sluice_key: "evt-2", n: 1 },
      { _sluice_key: await suffixed("evt-2", genuine), n: 2 },
    ]);
    expect(await ledger("spoofed")).toEqual([
      { records: 1, inserted: 1, duplicates: 0, quarantined: 0, key_conflicts: 0 },
      { records: 1, inserted: 1, duplicates: 0, quarantined: 0, key_conflicts: 1 },
    ]);

    const counters = await readCounters(env.DB);
    expect(counters.get("sluice_records_key_conflict_total")).toContainEqual({ labels: { source: "lab", stream: "spoofed" }, value: 1 });
    const balance = (await reconcile(runtime)).streams.find((s) => s.source === "lab" && s.stream === "spoofed");
    expect(balance).toMatchObject({ processed: 2, loaded: 2, duplicates: 0, key_conflicts: 1, rows: 2 });
    expect(await rows("SELECT kind, subject, status FROM _sluice_incidents WHERE kind = 'key_conflict'")).toEqual([
      { kind: "key_conflict", subject: "lab/spoofed", status: "open" },
    ]);
  });

  it("a re-delivery of either body (same key, same body) is a duplicate, and adds no conflict", async () => {
    const runtime = labRuntime({ redelivered: {} });
    const first = { v: "first" };
    const second = { v: "second" };
    await consumeWith(runtime, [await unsigned("evt-r", first, "redelivered"), await unsigned("evt-r", second, "redelivered")]);
    await consumeWith(runtime, [await unsigned("evt-r", second, "redelivered"), await unsigned("evt-r", first, "redelivered")]);

    expect(await rows("SELECT _sluice_key, v FROM raw_lab__redelivered ORDER BY v")).toEqual([
      { _sluice_key: "evt-r", v: "first" },
      { _sluice_key: await suffixed("evt-r", second), v: "second" },
    ]);
    expect(await ledger("redelivered")).toEqual([
      { records: 2, inserted: 2, duplicates: 0, quarantined: 0, key_conflicts: 1 },
      { records: 2, inserted: 0, duplicates: 2, quarantined: 0, key_conflicts: 0 },
    ]);
  });

  it("conflicts are checked per source: the same key and body routed to another stream is a re-delivery there", async () => {
    const runtime = labRuntime({ issues: {}, pushes: {} });
    const body = { ref: "main", n: 7 };
    await consumeWith(runtime, [await unsigned("delivery-7", body, "issues")]);
    // The routing header (X-GitHub-Event, X-Shopify-Topic) is not signed either.
    await consumeWith(runtime, [await unsigned("delivery-7", body, "pushes")]);
    // A different body under the same key in the other stream is a conflict, loaded there.
    const other = { ref: "main", n: 8 };
    await consumeWith(runtime, [await unsigned("delivery-7", other, "pushes")]);

    expect(await rows("SELECT _sluice_key, n FROM raw_lab__issues")).toEqual([{ _sluice_key: "delivery-7", n: 7 }]);
    expect(await rows("SELECT _sluice_key, n FROM raw_lab__pushes")).toEqual([{ _sluice_key: await suffixed("delivery-7", other), n: 8 }]);
    expect(await ledger("pushes")).toEqual([
      { records: 1, inserted: 0, duplicates: 1, quarantined: 0, key_conflicts: 0 },
      { records: 1, inserted: 1, duplicates: 0, quarantined: 0, key_conflicts: 1 },
    ]);
    const balances = (await reconcile(runtime)).streams.filter((s) => s.source === "lab" && ["issues", "pushes"].includes(s.stream));
    expect(balances.map(({ stream, processed, loaded, duplicates, rows }) => ({ stream, processed, loaded, duplicates, rows }))).toEqual([
      { stream: "issues", processed: 1, loaded: 1, duplicates: 0, rows: 1 },
      { stream: "pushes", processed: 2, loaded: 1, duplicates: 1, rows: 1 },
    ]);
  });

  it("two isolates loading different bodies under one key at once both load, and agree on who owns the key", async () => {
    const runtime = labRuntime({ racing: {} });
    const bodies = Array.from({ length: 6 }, (_, i) => ({ n: i }));
    const messages = await Promise.all(bodies.map((body) => unsigned("evt-race", body, "racing")));
    await Promise.all(messages.map((message) => consumeWith(runtime, [message])));

    const loaded = await rows<{ _sluice_key: string; n: number }>("SELECT _sluice_key, n FROM raw_lab__racing ORDER BY n");
    expect(loaded).toHaveLength(6);
    const owner = await rows<{ n: number }>("SELECT n FROM raw_lab__racing WHERE _sluice_key = 'evt-race'");
    expect(owner).toHaveLength(1);
    for (const row of loaded) {
      expect(row._sluice_key).toBe(row.n === owner[0]!.n ? "evt-race" : await suffixed("evt-race", { n: row.n }));
    }
    const loads = await ledger("racing");
    expect(loads.reduce((n, l) => n + l.key_conflicts, 0)).toBe(5);
    expect(loads.every((l) => l.inserted === 1 && l.duplicates === 0)).toBe(true);
  });

  it("a conflicting body that fails the schema gets its own quarantine row, under its suffixed key", async () => {
    const runtime = labRuntime({ strict: { schema: z.looseObject({ n: z.number() }) } });
    const first = { n: "not a number" };
    const second = { n: "still not" };
    await consumeWith(runtime, [await unsigned("evt-q", first, "strict"), await unsigned("evt-q", second, "strict")]);
    await consumeWith(runtime, [await unsigned("evt-q", second, "strict")]);

    expect(await rows("SELECT key, status FROM _sluice_quarantine WHERE source = 'lab' AND stream = 'strict' ORDER BY id")).toEqual([
      { key: "evt-q", status: "open" },
      { key: await suffixed("evt-q", second), status: "open" },
    ]);
    expect(await ledger("strict")).toEqual([
      { records: 2, inserted: 0, duplicates: 0, quarantined: 2, key_conflicts: 1 },
      { records: 1, inserted: 0, duplicates: 1, quarantined: 0, key_conflicts: 0 },
    ]);
  });
});

describe("keys the signature covers, pulls and merge keep today's rule", () => {
  it("a signed key seen again is a duplicate, whatever the body", async () => {
    const runtime = labRuntime({ signed: {} });
    const hash = await sha256Hex("one body");
    await consumeWith(runtime, [recordMessage("evt_s", { v: 1 }, { source: "lab", stream: "signed", bodyHash: hash })]);
    await consumeWith(runtime, [
      recordMessage("evt_s", { v: 2 }, { source: "lab", stream: "signed", bodyHash: await sha256Hex("another") }),
    ]);
    expect(await rows("SELECT _sluice_key, v FROM raw_lab__signed")).toEqual([{ _sluice_key: "evt_s", v: 1 }]);
    expect(await rows("SELECT * FROM _sluice_keys WHERE source = 'lab' AND key LIKE 'evt_s%'")).toEqual([]);
  });

  it("a merge stream updates its row from a new body under the same key", async () => {
    const runtime = labRuntime({ merged: { disposition: "merge", primaryKey: ["id"] } });
    await consumeWith(runtime, [await unsigned("evt-m", { id: 1, v: "old" }, "merged")]);
    await consumeWith(runtime, [await unsigned("evt-m", { id: 1, v: "new" }, "merged")]);
    expect(await rows("SELECT _sluice_key, id, v FROM raw_lab__merged")).toEqual([{ _sluice_key: "evt-m", id: 1, v: "new" }]);
    expect(await ledger("merged")).toEqual([
      { records: 1, inserted: 1, duplicates: 0, quarantined: 0, key_conflicts: 0 },
      { records: 1, inserted: 1, duplicates: 0, quarantined: 0, key_conflicts: 0 },
    ]);
  });
});
