/**
 * The ledger counts each load's rows from what its writes changed (`changes()`, or for merge the
 * rows that carry its load id, found by key), so raw tables keep no index by load id: every write
 * would pay for it. Tables made by older versions lose that index on their next load.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { consumeWith, labRecord as lab, labRuntime, rows } from "../support/pipeline.ts";

interface Counts {
  records: number;
  inserted: number;
  duplicates: number;
  quarantined: number;
}

const ledgerOf = (stream: string) =>
  rows<Counts>("SELECT records, inserted, duplicates, quarantined FROM _sluice_loads WHERE stream = ?1 ORDER BY load_seq", stream);
const indexNames = (table: string) =>
  rows<{ name: string }>(
    "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL ORDER BY name",
    table,
  ).then((r) => r.map((i) => i.name));

describe("raw table indexes", () => {
  it("an append table has only its load-order index (and its key), none by load id", async () => {
    await consumeWith(labRuntime({ plain: {} }), [lab("p-1", { n: 1 }, "plain")]);
    expect(await indexNames("raw_lab__plain")).toEqual(["raw_lab__plain__seq_idx"]);
    expect(await rows("SELECT name FROM sqlite_master WHERE name LIKE '%load_idx' AND tbl_name LIKE 'raw_%'")).toEqual([]);
  });

  it("a merge table has its key, primary key and load-order indexes, none by load id", async () => {
    await consumeWith(labRuntime({ merged: { disposition: "merge", primaryKey: ["id"] } }), [lab("m-1", { id: 1 }, "merged")]);
    expect(await indexNames("raw_lab__merged")).toEqual(["raw_lab__merged__key_idx", "raw_lab__merged__pk", "raw_lab__merged__seq_idx"]);
  });

  it("a table from an older version loses its load-id index on its first load, and still counts exactly", async () => {
    await env.DB.batch([
      env.DB.prepare(
        `CREATE TABLE raw_lab__older ("_sluice_key" TEXT PRIMARY KEY NOT NULL, "_sluice_load_id" TEXT NOT NULL,
          "_sluice_received_at" TEXT NOT NULL, "_sluice_source_object" TEXT NOT NULL, "_sluice_load_seq" INTEGER, "n" INTEGER)`,
      ),
      env.DB.prepare(`CREATE INDEX "raw_lab__older__load_idx" ON raw_lab__older ("_sluice_load_id")`),
      env.DB.prepare("INSERT INTO raw_lab__older VALUES ('old-1', 'ld_old', '2026-01-01T00:00:00.000Z', 'raw/x', 1, 1)"),
    ]);
    const runtime = labRuntime({ older: {} });
    await consumeWith(runtime, [lab("old-1", { n: 1 }, "older"), lab("new-1", { n: 2 }, "older")]);
    expect(await indexNames("raw_lab__older")).toEqual(["raw_lab__older__seq_idx"]);
    expect(await ledgerOf("older")).toEqual([{ records: 2, inserted: 1, duplicates: 1, quarantined: 0 }]);
  });
});

describe("ledger counts without a load-id index", () => {
  it("append: new rows, keys the table held and repeats within the batch; a redelivered batch is counted once", async () => {
    const runtime = labRuntime({ counted: {} });
    await consumeWith(runtime, [lab("c-1", { n: 1 }, "counted")]);
    const batch = [
      lab("c-1", { n: 1 }, "counted"),
      lab("c-2", { n: 2 }, "counted"),
      lab("c-2", { n: 2 }, "counted"),
      lab("c-3", { n: 3 }, "counted"),
    ];
    await consumeWith(runtime, batch);
    // The same batch delivered again: every record is a duplicate, no row is counted twice.
    await consumeWith(runtime, batch);
    expect(await ledgerOf("counted")).toEqual([
      { records: 1, inserted: 1, duplicates: 0, quarantined: 0 },
      { records: 4, inserted: 2, duplicates: 2, quarantined: 0 },
      { records: 4, inserted: 0, duplicates: 4, quarantined: 0 },
    ]);
    expect(await rows("SELECT count(*) AS n FROM raw_lab__counted")).toEqual([{ n: 3 }]);
  });

  it("append: a quarantined record is counted as quarantined, not inserted", async () => {
    const runtime = labRuntime({ strict: { schema: z.object({ n: z.number() }) } });
    await consumeWith(runtime, [lab("s-1", { n: 1 }, "strict")]);
    await consumeWith(runtime, [lab("s-2", { n: 2 }, "strict"), lab("s-3", { n: "three" }, "strict")]);
    expect((await ledgerOf("strict")).at(-1)).toEqual({ records: 2, inserted: 1, duplicates: 0, quarantined: 1 });
  });

  it("merge: rows inserted or updated are counted once; records superseded in the batch or older than the row are duplicates", async () => {
    const runtime = labRuntime({ upserts: { disposition: "merge", primaryKey: ["id"], cursor: "v" } });
    await consumeWith(runtime, [lab("u-1", { id: 1, v: 5 }, "upserts"), lab("u-2", { id: 2, v: 5 }, "upserts")]);
    await consumeWith(runtime, [
      // id 1: two newer versions in one batch: one row updated, the first version superseded.
      lab("u-3", { id: 1, v: 6 }, "upserts"),
      lab("u-4", { id: 1, v: 7 }, "upserts"),
      // id 2: older than the stored row, so it changes nothing.
      lab("u-5", { id: 2, v: 4 }, "upserts"),
      // id 3: new.
      lab("u-6", { id: 3, v: 1 }, "upserts"),
    ]);
    expect(await ledgerOf("upserts")).toEqual([
      { records: 2, inserted: 2, duplicates: 0, quarantined: 0 },
      { records: 4, inserted: 2, duplicates: 2, quarantined: 0 },
    ]);
    expect(await rows("SELECT id, v, _sluice_key FROM raw_lab__upserts ORDER BY id")).toEqual([
      { id: 1, v: 7, _sluice_key: "u-4" },
      { id: 2, v: 5, _sluice_key: "u-2" },
      { id: 3, v: 1, _sluice_key: "u-6" },
    ]);
  });
});
