/**
 * `_sluice_load_seq`: every raw row carries the number of the load that last wrote it, from one
 * counter for the whole database bumped inside the load's batch, so incremental models can take
 * "what loaded since last time" even for records that arrive late.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { consumeWith, labRecord as lab, labPullRuntime, labRuntime, rows } from "../support/pipeline.ts";

const seqOf = (loadId: string) =>
  rows<{ load_seq: number }>("SELECT load_seq FROM _sluice_loads WHERE load_id = ?1", loadId).then((r) => r[0]!.load_seq);
const indexes = (table: string) =>
  rows<{ name: string; sql: string }>(
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND name LIKE '%seq%'",
    table,
  );

describe("_sluice_load_seq", () => {
  it("grows with each load in commit order, across streams, and is indexed", async () => {
    const runtime = labRuntime({ first: {}, second: {} });
    await consumeWith(runtime, [lab("o-1", { n: 1 }, "first")]);
    await consumeWith(runtime, [lab("o-2", { n: 2 }, "second")]);
    // A late record, received long ago, still loads after the others.
    await consumeWith(runtime, [lab("o-3", { n: 3 }, "first", "2020-01-01T00:00:00.000Z")]);

    const first = await rows<{ _sluice_key: string; _sluice_load_id: string; _sluice_load_seq: number }>(
      "SELECT _sluice_key, _sluice_load_id, _sluice_load_seq FROM raw_lab__first ORDER BY _sluice_load_seq",
    );
    const [second] = await rows<{ _sluice_load_seq: number }>("SELECT _sluice_load_seq FROM raw_lab__second");
    expect(first.map((r) => r._sluice_key)).toEqual(["o-1", "o-3"]);
    expect(first[0]!._sluice_load_seq).toBeLessThan(second!._sluice_load_seq);
    expect(second!._sluice_load_seq).toBeLessThan(first[1]!._sluice_load_seq);
    // The ledger row carries the same number as its rows.
    expect(await seqOf(first[1]!._sluice_load_id)).toBe(first[1]!._sluice_load_seq);
    expect(await indexes("raw_lab__first")).toEqual([
      { name: "raw_lab__first__seq_idx", sql: expect.stringContaining('("_sluice_load_seq") WHERE "_sluice_load_seq" IS NOT NULL') },
    ]);
  });

  it("is added, with its index, to a table created before it existed; old rows keep NULL", async () => {
    await env.DB.prepare(
      `CREATE TABLE raw_lab__legacy ("_sluice_key" TEXT PRIMARY KEY NOT NULL, "_sluice_load_id" TEXT NOT NULL,
        "_sluice_received_at" TEXT NOT NULL, "_sluice_source_object" TEXT NOT NULL, "n" INTEGER)`,
    ).run();
    await env.DB.prepare("INSERT INTO raw_lab__legacy VALUES ('old-1', 'ld_old', '2026-01-01T00:00:00.000Z', 'raw/x', 1)").run();

    const runtime = labRuntime({ legacy: {} });
    expect((await consumeWith(runtime, [lab("new-1", { n: 2 }, "legacy")])).explicitAcks).toHaveLength(1);
    await consumeWith(runtime, [lab("new-2", { n: 3 }, "legacy")]);

    const loaded = await rows<{ _sluice_key: string; _sluice_load_seq: number | null }>(
      "SELECT _sluice_key, _sluice_load_seq FROM raw_lab__legacy ORDER BY n",
    );
    expect(loaded.map((r) => [r._sluice_key, r._sluice_load_seq === null])).toEqual([
      ["old-1", true],
      ["new-1", false],
      ["new-2", false],
    ]);
    expect(loaded[2]!._sluice_load_seq).toBeGreaterThan(loaded[1]!._sluice_load_seq!);
    expect((await indexes("raw_lab__legacy")).map((i) => i.name)).toEqual(["raw_lab__legacy__seq_idx"]);
  });

  it("a merge upsert moves the row to the load that updated it", async () => {
    const runtime = labRuntime({ upserted: { disposition: "merge", primaryKey: ["id"] } });
    await consumeWith(runtime, [lab("u-1", { id: 1, v: "a" }, "upserted"), lab("u-2", { id: 2, v: "b" }, "upserted")]);
    await consumeWith(runtime, [lab("u-3", { id: 1, v: "c" }, "upserted")]);
    const loaded = await rows<{ id: number; v: string; _sluice_load_id: string; _sluice_load_seq: number }>(
      "SELECT id, v, _sluice_load_id, _sluice_load_seq FROM raw_lab__upserted ORDER BY id",
    );
    expect(loaded.map((r) => r.v)).toEqual(["c", "b"]);
    expect(loaded[0]!._sluice_load_seq).toBeGreaterThan(loaded[1]!._sluice_load_seq);
    expect(loaded[0]!._sluice_load_seq).toBe(await seqOf(loaded[0]!._sluice_load_id));
  });

  it("survives a replace swap, which keeps the index", async () => {
    const runtime = labPullRuntime({ swapped: { disposition: "replace" } });
    const commit = (id: string) => ({
      id,
      timestamp: new Date(),
      attempts: 1,
      body: { v: 1, kind: "replace_commit", source: "lab", stream: "swapped" },
    });
    await consumeWith(runtime, [lab("s-1", { n: 1 }, "swapped")]);
    await consumeWith(runtime, [commit("swap-1")]);
    const [before] = await rows<{ _sluice_load_seq: number }>("SELECT _sluice_load_seq FROM raw_lab__swapped");
    await consumeWith(runtime, [lab("s-2", { n: 2 }, "swapped")]);
    await consumeWith(runtime, [commit("swap-2")]);

    const [after] = await rows<{ _sluice_key: string; _sluice_load_seq: number }>(
      "SELECT _sluice_key, _sluice_load_seq FROM raw_lab__swapped",
    );
    expect(after!._sluice_key).toBe("s-2");
    expect(after!._sluice_load_seq).toBeGreaterThan(before!._sluice_load_seq);
    expect((await indexes("raw_lab__swapped")).map((i) => i.name)).toEqual(["raw_lab__swapped__seq_idx"]);
    expect(await indexes("raw_lab__swapped__staging")).toEqual([]);
  });
});
