/**
 * `/v1/reconcile` balances independent counts, so it can fail: deliveries accepted at intake,
 * duplicates counted before each load's writes, rows and quarantine rows counted after them, and
 * the rows the table holds now.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ledgerClose, ledgerOpen, nextLoadSeq } from "../../src/load/ledger.ts";
import { reconcile } from "../../src/load/reconcile.ts";
import { adminToken } from "../support/fixtures.ts";
import { consumeWith, labRuntime, rows } from "../support/pipeline.ts";
import { recordMessage } from "../support/queue.ts";
import { call, origin } from "../support/worker.ts";

const lab = (key: string, payload: unknown, stream: string) => recordMessage(key, payload, { source: "lab", stream });

/** What intake records for deliveries it answered 2xx. */
const accepted = (stream: string, count: number) =>
  env.DB.prepare(
    "INSERT INTO _sluice_webhook_counts (hour, source, stream, outcome, reason, count) VALUES ('2026-12-01T00', 'lab', ?1, 'accepted', '', ?2)",
  )
    .bind(stream, count)
    .run();

async function balanceOf(stream: string) {
  const balance = (await reconcile(labRuntime({ [stream]: {} }))).streams.find((s) => s.source === "lab" && s.stream === stream);
  return balance!;
}

describe("GET /v1/reconcile", () => {
  it("adds up for deliveries loaded once, re-delivered and quarantined", async () => {
    const runtime = labRuntime({ balanced: { schema: z.looseObject({ n: z.number() }) } });
    await accepted("balanced", 4);
    await consumeWith(runtime, [lab("b-1", { n: 1 }, "balanced"), lab("b-2", { n: 2 }, "balanced"), lab("b-1", { n: 1 }, "balanced")]);
    await consumeWith(runtime, [lab("b-3", { n: 3 }, "balanced"), lab("b-4", { n: "four" }, "balanced")]);
    // The quarantined record, delivered again, fails again: a duplicate of its open quarantine row.
    await consumeWith(runtime, [lab("b-4", { n: "four" }, "balanced")]);
    expect(await balanceOf("balanced")).toMatchObject({
      accepted: 4,
      processed: 6,
      loaded: 3,
      duplicates: 2,
      quarantined: 1,
      redelivered: 2,
      rows: 3,
      adds_up: true,
    });

    const response = await call(new Request(`${origin}/v1/reconcile`, { headers: { authorization: `Bearer ${adminToken}` } }));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { streams: { source: string; stream: string; adds_up: boolean }[] };
    expect(body.streams.find((s) => s.source === "lab" && s.stream === "balanced")).toMatchObject({ adds_up: true, key_conflicts: 0 });
  });

  it("a row deleted behind Sluice's back: adds_up is false", async () => {
    const runtime = labRuntime({ deleted: {} });
    await accepted("deleted", 2);
    await consumeWith(runtime, [lab("d-1", { n: 1 }, "deleted"), lab("d-2", { n: 2 }, "deleted")]);
    expect((await balanceOf("deleted")).adds_up).toBe(true);

    await env.DB.prepare("DELETE FROM raw_lab__deleted WHERE _sluice_key = 'd-1'").run();
    expect(await balanceOf("deleted")).toMatchObject({ loaded: 2, rows: 1, adds_up: false });
    expect((await reconcile(runtime)).adds_up).toBe(false);
  });

  it("a record a load drops without a trace is not a duplicate: adds_up is false", async () => {
    const runtime = labRuntime({ dropped: {} });
    await accepted("dropped", 2);
    await consumeWith(runtime, [lab("x-1", { n: 1 }, "dropped")]);
    // Something (here a trigger) silently swallows the next record's insert: the write reports
    // nothing wrong, and a ledger that counted "whatever remains" as duplicates would balance.
    await env.DB.prepare(
      "CREATE TRIGGER raw_lab__dropped_swallow BEFORE INSERT ON raw_lab__dropped WHEN NEW._sluice_key = 'x-2' BEGIN SELECT RAISE(IGNORE); END",
    ).run();
    const result = await consumeWith(runtime, [lab("x-2", { n: 2 }, "dropped")]);
    expect(result.explicitAcks).toHaveLength(1);

    const [ledger] = await rows(
      "SELECT records, inserted, duplicates FROM _sluice_loads WHERE stream = 'dropped' ORDER BY load_seq DESC LIMIT 1",
    );
    expect(ledger).toEqual({ records: 1, inserted: 0, duplicates: 0 });
    expect(await balanceOf("dropped")).toMatchObject({ accepted: 2, processed: 2, loaded: 1, duplicates: 0, rows: 1, adds_up: false });
  });

  it("counts duplicates across every chunk of a large load's keys", async () => {
    await consumeWith(labRuntime({ chunked: {} }), [lab("c-1", { n: 1 }, "chunked"), lab("c-2", { n: 2 }, "chunked")]);
    const table = "raw_lab__chunked";
    const entry = {
      loadId: "ld_chunked",
      kind: "replay" as const,
      source: "lab",
      stream: "chunked",
      records: 4,
      filtered: 0,
      r2Key: "raw/x",
      bytes: 0,
      startedAt: new Date().toISOString(),
    };
    // Two chunks of distinct keys (c-1 and c-2 known, c-9 new) plus one repeat within the load.
    const keys = { distinct: ['[["c-1",null,0],["c-9",null,0]]', '[["c-2",null,0]]'], repeats: 1, mergeRows: 0, boundKeys: false };
    const results = await env.DB.batch([
      nextLoadSeq(env.DB),
      ...ledgerOpen(env.DB, table, entry, keys),
      ledgerClose(env.DB, entry.loadId, keys),
    ]);
    expect(results.at(-1)!.results).toEqual([
      { inserted: 0, duplicates: 3, quarantined: 0, key_conflicts: 0, load_seq: expect.any(Number) },
    ]);
  });
});
