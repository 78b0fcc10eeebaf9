// Reads the lake's Parquet inside workerd with hyparquet, the reader that runs there, to check
// every type and part boundary quickly. test/e2e/lake.test.ts reads the same files with DuckDB,
// an independent engine, to prove that outside tools can query the lake: the two prove different
// things, so both stay.
import { env } from "cloudflare:test";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { describe, expect, it } from "vitest";
import { createRuntime } from "../../src/env.ts";
import { createLogger } from "../../src/lib/log.ts";
import { compactLake, type LakeResult, lakeObjectKey } from "../../src/load/lake.ts";

const runtime = () => createRuntime(env, "scheduled");

const columns = `"_sluice_key" TEXT PRIMARY KEY NOT NULL, "_sluice_load_id" TEXT NOT NULL, "_sluice_received_at" TEXT NOT NULL,
  "_sluice_source_object" TEXT NOT NULL, "id" INTEGER, "amount" REAL, "note" TEXT, "paid" BOOLEAN, "paid_at" TIMESTAMP, "meta" JSON`;

async function createTable(table: string): Promise<void> {
  await env.DB.batch([env.DB.prepare(`DROP TABLE IF EXISTS "${table}"`), env.DB.prepare(`CREATE TABLE "${table}" (${columns})`)]);
}

interface Row {
  key: string;
  loadId: string;
  receivedAt: string;
  /** Text, so that integers past 2^53 reach D1 exactly (CAST in SQL). */
  id: string | null;
  amount: number | null;
  note: string | null;
  paid: 0 | 1 | null;
  paidAt: string | null;
  meta: string | null;
}

async function insert(table: string, rows: Row[]): Promise<void> {
  const sql = `INSERT INTO "${table}" VALUES (?1, ?2, ?3, 'raw/lakecase/orders/x.ndjson.gz', CAST(?4 AS INTEGER), ?5, ?6, ?7, ?8, ?9)`;
  await env.DB.batch(
    rows.map((r) => env.DB.prepare(sql).bind(r.key, r.loadId, r.receivedAt, r.id, r.amount, r.note, r.paid, r.paidAt, r.meta)),
  );
}

const day1 = "2031-05-01";
const day2 = "2031-05-02";
const orders: Row[] = [
  {
    key: "o-1",
    loadId: "ld_01a",
    receivedAt: `${day1}T08:00:00.000Z`,
    id: "9007199254740993",
    amount: 12.5,
    note: "first — ünïcode",
    paid: 1,
    paidAt: "2031-05-01T07:59:59.123456Z",
    meta: '{"tags":["a","b"],"n":1.0}',
  },
  {
    key: "o-2",
    loadId: "ld_01a",
    receivedAt: `${day1}T09:30:00.000Z`,
    id: "-42",
    amount: null,
    note: null,
    paid: 0,
    paidAt: "2031-05-01T12:30:00+02:00",
    meta: null,
  },
  {
    key: "o-3",
    loadId: "ld_01b",
    receivedAt: `${day1}T23:59:59.999Z`,
    id: null,
    amount: 0,
    note: "",
    paid: null,
    paidAt: null,
    meta: "[]",
  },
  {
    key: "o-4",
    loadId: "ld_01c",
    receivedAt: `${day2}T00:00:00.000Z`,
    id: "7",
    amount: -1e-9,
    note: "second day",
    paid: 1,
    paidAt: "2031-05-02T00:00Z",
    meta: '{"x":null}',
  },
];

/** The rows D1 holds for one day, as the lake must hold them: INT64 as BigInt, TIMESTAMP as epoch microseconds. */
async function d1Rows(table: string, day: string): Promise<Record<string, unknown>[]> {
  const { results } = await env.DB.prepare(
    `SELECT _sluice_key, _sluice_load_id, _sluice_received_at, _sluice_source_object, CAST(id AS TEXT) AS id, amount, note, paid, paid_at, meta
FROM "${table}" WHERE substr(_sluice_received_at, 1, 10) = ?1 ORDER BY _sluice_key`,
  )
    .bind(day)
    .all<Record<string, unknown>>();
  return results.map((row) => ({
    ...row,
    id: row.id === null ? null : BigInt(row.id as string),
    paid: row.paid === null ? null : row.paid === 1,
    paid_at: row.paid_at === null ? null : epochMicros(row.paid_at as string),
  }));
}

function epochMicros(iso: string): bigint {
  const micros = /\.\d{3}(\d{0,3})/.exec(iso)?.[1] ?? "";
  return BigInt(Date.parse(iso)) * 1000n + BigInt(micros.padEnd(3, "0"));
}

async function lakeRows(key: string): Promise<Record<string, unknown>[]> {
  const object = await env.RAW.get(key);
  expect(object, key).not.toBeNull();
  const file = await object!.arrayBuffer();
  // Timestamps as raw microseconds, so sub-millisecond digits are checked too.
  return parquetReadObjects({ file, parsers: { timestampFromMicroseconds: (micros: bigint) => micros } });
}

const mine = (result: LakeResult, table: string) => result.tables.filter((t) => t.table === table);

const stateOf = async (table: string) =>
  (
    await env.DB.prepare(
      "SELECT day, parts, rows, last_load_id, compacted_at FROM _sluice_lake_partitions WHERE table_name = ?1 ORDER BY day",
    )
      .bind(table)
      .all()
  ).results;

describe("compactLake: happy", () => {
  it("writes one Parquet file per UTC day that reads back as exactly the D1 rows", async () => {
    const table = "raw_lakecase__orders";
    await createTable(table);
    await insert(table, orders);
    const now = new Date("2031-05-03T00:30:00.000Z");

    const result = await compactLake(runtime(), { now });

    expect(mine(result, table)).toEqual([
      { table, day: day1, parts: 1, rows: 3 },
      { table, day: day2, parts: 1, rows: 1 },
    ]);
    for (const day of [day1, day2]) {
      const key = `lake/${table}/dt=${day}/part-0.parquet`;
      expect(lakeObjectKey(table, day, 0)).toBe(key);
      expect(await lakeRows(key)).toEqual(await d1Rows(table, day));
    }
    expect(await stateOf(table)).toEqual([
      { day: day1, parts: 1, rows: 3, last_load_id: "ld_01b", compacted_at: now.toISOString() },
      { day: day2, parts: 1, rows: 1, last_load_id: "ld_01c", compacted_at: now.toISOString() },
    ]);
  });

  it("types the columns for other engines and records the declared types", async () => {
    const table = "raw_lakecase__typed";
    await createTable(table);
    await insert(table, orders.slice(0, 1));
    await compactLake(runtime());

    const object = await env.RAW.get(`lake/${table}/dt=${day1}/part-0.parquet`);
    expect(object!.httpMetadata?.contentType).toBe("application/vnd.apache.parquet");
    const metadata = parquetMetadata(await object!.arrayBuffer());
    const schema = Object.fromEntries(metadata.schema.slice(1).map((e) => [e.name, [e.type, e.converted_type ?? null]]));
    expect(schema).toEqual({
      _sluice_key: ["BYTE_ARRAY", "UTF8"],
      _sluice_load_id: ["BYTE_ARRAY", "UTF8"],
      _sluice_received_at: ["BYTE_ARRAY", "UTF8"],
      _sluice_source_object: ["BYTE_ARRAY", "UTF8"],
      id: ["INT64", null],
      amount: ["DOUBLE", null],
      note: ["BYTE_ARRAY", "UTF8"],
      paid: ["BOOLEAN", null],
      paid_at: ["INT64", "TIMESTAMP_MICROS"],
      meta: ["BYTE_ARRAY", "UTF8"],
    });
    const declared = JSON.parse(metadata.key_value_metadata!.find((kv) => kv.key === "sluice.columns")!.value!);
    expect(declared.slice(4)).toEqual([
      { name: "id", type: "INTEGER" },
      { name: "amount", type: "REAL" },
      { name: "note", type: "TEXT" },
      { name: "paid", type: "BOOLEAN" },
      { name: "paid_at", type: "TIMESTAMP" },
      { name: "meta", type: "JSON" },
    ]);
  });

  it("rewrites nothing when nothing changed, then only the day that changed", async () => {
    const table = "raw_lakecase__incremental";
    await createTable(table);
    await insert(table, orders);
    await compactLake(runtime(), { now: new Date("2031-05-03T00:30:00.000Z") });
    const key1 = lakeObjectKey(table, day1, 0);
    const key2 = lakeObjectKey(table, day2, 0);
    const etag1 = (await env.RAW.head(key1))!.etag;
    const etag2 = (await env.RAW.head(key2))!.etag;

    const again = await compactLake(runtime(), { now: new Date("2031-05-03T01:30:00.000Z") });
    expect(mine(again, table)).toEqual([]);
    expect((await env.RAW.head(key1))!.etag).toBe(etag1);
    expect((await env.RAW.head(key2))!.etag).toBe(etag2);

    await insert(table, [{ ...orders[3]!, key: "o-5", loadId: "ld_01d", id: "8", note: "late" }]);
    const later = new Date("2031-05-03T02:30:00.000Z");
    const third = await compactLake(runtime(), { now: later });

    expect(mine(third, table)).toEqual([{ table, day: day2, parts: 1, rows: 2 }]);
    expect((await env.RAW.head(key1))!.etag).toBe(etag1);
    expect((await env.RAW.head(key2))!.etag).not.toBe(etag2);
    expect(await lakeRows(key2)).toEqual(await d1Rows(table, day2));
    expect(await stateOf(table)).toEqual([
      { day: day1, parts: 1, rows: 3, last_load_id: "ld_01b", compacted_at: "2031-05-03T00:30:00.000Z" },
      { day: day2, parts: 1, rows: 2, last_load_id: "ld_01d", compacted_at: later.toISOString() },
    ]);
  });

  it("cuts a day into parts of at most 50,000 rows and deletes parts a smaller rewrite leaves", async () => {
    const table = "raw_lakecase__big";
    await createTable(table);
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50001)
INSERT INTO "${table}" (_sluice_key, _sluice_load_id, _sluice_received_at, _sluice_source_object, id, note)
SELECT printf('k%06d', i), 'ld_02a', '${day1}T10:00:00.000Z', 'raw/x', i, 'row ' || i FROM n`,
    ).run();

    const first = await compactLake(runtime());
    expect(mine(first, table)).toEqual([{ table, day: day1, parts: 2, rows: 50_001 }]);
    const part0 = await lakeRows(lakeObjectKey(table, day1, 0));
    const part1 = await lakeRows(lakeObjectKey(table, day1, 1));
    expect(part0).toHaveLength(50_000);
    expect(part1.map((r) => [r._sluice_key, r.id])).toEqual([["k050001", 50001n]]);

    await env.DB.prepare(`DELETE FROM "${table}" WHERE _sluice_key > 'k049990'`).run();
    const second = await compactLake(runtime());
    expect(mine(second, table)).toEqual([{ table, day: day1, parts: 1, rows: 49_990 }]);
    expect(await env.RAW.head(lakeObjectKey(table, day1, 1))).toBeNull();
    expect(await lakeRows(lakeObjectKey(table, day1, 0))).toHaveLength(49_990);
    expect(await stateOf(table)).toMatchObject([{ day: day1, parts: 1, rows: 49_990 }]);
    // 100,000 rows written to Parquet twice: seconds of CPU, more on a shared machine.
  }, 60_000);

  it("pages a merge table, where `_sluice_key` is not unique, without skipping or repeating rows", async () => {
    const table = "raw_lakecase__merged";
    await env.DB.batch([
      env.DB.prepare(`DROP TABLE IF EXISTS "${table}"`),
      env.DB.prepare(`CREATE TABLE "${table}" (${columns.replace("PRIMARY KEY ", "")})`),
      env.DB.prepare(`CREATE INDEX "${table}__key_idx" ON "${table}" ("_sluice_key")`),
      env.DB.prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
INSERT INTO "${table}" (_sluice_key, _sluice_load_id, _sluice_received_at, _sluice_source_object, id)
SELECT CASE WHEN i <= 1500 THEN 'same' ELSE 'k' || i END, 'ld_03a', '${day1}T10:00:00.000Z', 'raw/x', i FROM n`,
      ),
    ]);

    const result = await compactLake(runtime());

    expect(mine(result, table)).toEqual([{ table, day: day1, parts: 1, rows: 2500 }]);
    const ids = (await lakeRows(lakeObjectKey(table, day1, 0))).map((r) => Number(r.id)).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: 2500 }, (_, i) => i + 1));
  });
});

describe("compactLake: what it leaves alone", () => {
  it("skips staging tables and raw_ tables without Sluice's system columns", async () => {
    await createTable("raw_lakecase__skip__staging");
    await insert("raw_lakecase__skip__staging", orders.slice(0, 1));
    await env.DB.batch([
      env.DB.prepare(`DROP TABLE IF EXISTS "raw_lakecase_model"`),
      env.DB.prepare(`CREATE TABLE "raw_lakecase_model" (day TEXT, n INTEGER)`),
      env.DB.prepare(`INSERT INTO "raw_lakecase_model" VALUES ('${day1}', 1)`),
    ]);

    const result = await compactLake(runtime());

    expect(result.tables.filter((t) => t.table.startsWith("raw_lakecase_model") || t.table.endsWith("__staging"))).toEqual([]);
    const listed = await env.RAW.list({ prefix: "lake/raw_lakecase_" });
    expect(listed.objects.map((o) => o.key).filter((k) => k.includes("skip") || k.includes("model"))).toEqual([]);
  });

  it("keeps a day's files when its rows are gone from D1, since the lake outlives D1's retention", async () => {
    const table = "raw_lakecase__pruned";
    await createTable(table);
    await insert(table, orders);
    await compactLake(runtime());
    await env.DB.prepare(`DELETE FROM "${table}" WHERE substr(_sluice_received_at, 1, 10) = ?1`).bind(day1).run();

    const result = await compactLake(runtime());

    expect(mine(result, table)).toEqual([]);
    expect(await lakeRows(lakeObjectKey(table, day1, 0))).toHaveLength(3);
  });
});

describe("compactLake: errors", () => {
  it("fails a day whose values its declared type cannot hold, and still compacts the rest", async () => {
    const table = "raw_lakecase__bad";
    await createTable(table);
    await insert(table, orders);
    // SQLite keeps text in an INTEGER column when it does not look like a number.
    await env.DB.prepare(`UPDATE "${table}" SET id = 'not a number' WHERE _sluice_key = 'o-1'`).run();

    const logged: Record<string, unknown>[] = [];
    const log = createLogger({ sink: (line) => logged.push(JSON.parse(line)) });
    const error = await compactLake({ ...runtime(), log }).catch((e: unknown) => e);

    expect(error).toMatchObject({ name: "SluiceError", code: "internal", details: { failures: [{ table, day: day1, code: "internal" }] } });
    expect(logged.find((line) => line.event === "lake.failed")).toMatchObject({ table, day: day1, column: "id", key: "o-1" });
    expect(JSON.stringify(logged)).not.toContain("not a number");
    expect(await env.RAW.head(lakeObjectKey(table, day1, 0))).toBeNull();
    expect(await lakeRows(lakeObjectKey(table, day2, 0))).toEqual(await d1Rows(table, day2));
    expect(await stateOf(table)).toMatchObject([{ day: day2, rows: 1 }]);
  });
});
