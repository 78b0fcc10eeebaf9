/**
 * A field always lands in the same column: names come from the field alone, are stored per table
 * in `_sluice_columns`, and never depend on key order or on the other keys of a record.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { forgetColumns } from "../../src/load/column-cache.ts";
import { consumeWith, labRuntime, rows } from "../support/pipeline.ts";
import { recordMessage } from "../support/queue.ts";

const lab = (key: string, payload: unknown, stream: string) => recordMessage(key, payload, { source: "lab", stream });

/** The stored field map of a table: field (JSON Pointer) to column. */
async function fieldMap(table: string): Promise<Record<string, string>> {
  const map = await rows<{ field: string; column_name: string }>(
    "SELECT field, column_name FROM _sluice_columns WHERE table_name = ?1",
    table,
  );
  return Object.fromEntries(map.map((row) => [row.field, row.column_name]));
}

/** Each row as field to value, read through the stored map, in key order. */
async function rowsByField(table: string): Promise<Record<string, Record<string, unknown>>> {
  const map = await fieldMap(table);
  const result: Record<string, Record<string, unknown>> = {};
  for (const row of await rows<Record<string, unknown>>(`SELECT * FROM "${table}" ORDER BY _sluice_key`)) {
    result[String(row._sluice_key)] = Object.fromEntries(
      Object.entries(map)
        .filter(([, column]) => row[column] != null)
        .map(([field, column]) => [field, row[column]]),
    );
  }
  return result;
}

async function columnNames(table: string): Promise<string[]> {
  return (await rows<{ name: string }>("SELECT name FROM pragma_table_info(?1)", table)).map((c) => c.name);
}

describe("column names", () => {
  it("lands the same record shape identically whatever the order of its keys", async () => {
    const runtime = labRuntime({ shuffled: {} });
    await consumeWith(runtime, [
      lab("sh-1", { 名前: "Ada", 住所: "London", "e-mail": "a@x", id: 1 }, "shuffled"),
      lab("sh-2", { id: 2, "e-mail": "g@x", 住所: "Arlington", 名前: "Grace" }, "shuffled"),
    ]);
    expect(await rowsByField("raw_lab__shuffled")).toEqual({
      "sh-1": { "/名前": "Ada", "/住所": "London", "/e-mail": "a@x", "/id": 1 },
      "sh-2": { "/名前": "Grace", "/住所": "Arlington", "/e-mail": "g@x", "/id": 2 },
    });
    const map = await fieldMap("raw_lab__shuffled");
    // A plain name is kept; any other is its normalised name plus a hash of the field.
    expect(map["/id"]).toBe("id");
    expect(map["/名前"]).toMatch(/^_field_[0-9a-f]{8}$/);
    expect(map["/住所"]).toMatch(/^_field_[0-9a-f]{8}$/);
    expect(map["/名前"]).not.toBe(map["/住所"]);
    expect(map["/e-mail"]).toMatch(/^e_mail_[0-9a-f]{8}$/);
  });

  it("keeps A and a in distinct columns that do not move between records, or isolates", async () => {
    const runtime = labRuntime({ cased: {} });
    await consumeWith(runtime, [lab("c-1", { A: 1 }, "cased"), lab("c-2", { a: 2 }, "cased")]);
    // Another isolate, with nothing cached, reads the stored map.
    forgetColumns("raw_lab__cased");
    await consumeWith(runtime, [lab("c-3", { a: 3, A: 4 }, "cased"), lab("c-4", { A: 5, a: 6 }, "cased")]);
    const map = await fieldMap("raw_lab__cased");
    expect(map["/a"]).toBe("a");
    expect(map["/A"]).toMatch(/^a_[0-9a-f]{8}$/);
    expect(await rows(`SELECT _sluice_key, a, "${map["/A"]}" AS big_a FROM raw_lab__cased ORDER BY _sluice_key`)).toEqual([
      { _sluice_key: "c-1", a: null, big_a: 1 },
      { _sluice_key: "c-2", a: 2, big_a: null },
      { _sluice_key: "c-3", a: 3, big_a: 4 },
      { _sluice_key: "c-4", a: 6, big_a: 5 },
    ]);
  });

  it("gives two plain paths with one name (a__b and a.b) stable columns", async () => {
    const runtime = labRuntime({ nested: {} });
    await consumeWith(runtime, [lab("n-1", { a__b: 1 }, "nested"), lab("n-2", { a: { b: 2 } }, "nested")]);
    forgetColumns("raw_lab__nested");
    await consumeWith(runtime, [lab("n-3", { a: { b: 3 }, a__b: 4 }, "nested")]);
    expect(await fieldMap("raw_lab__nested")).toEqual({ "/a__b": "a__b", "/a/b": "a__b_2" });
    expect(await rows("SELECT a__b, a__b_2 FROM raw_lab__nested ORDER BY _sluice_key")).toEqual([
      { a__b: 1, a__b_2: null },
      { a__b: null, a__b_2: 2 },
      { a__b: 4, a__b_2: 3 },
    ]);
  });

  it("loads a record of 20,000 keys that all normalise alike, each value once", async () => {
    const runtime = labRuntime({ wide: { maxFields: 50_000 } });
    const record = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [String.fromCharCode(0x4e00 + i), i]));
    const result = await consumeWith(runtime, [lab("w-1", record, "wide")]);
    expect(result.explicitAcks).toHaveLength(1);
    const [row] = await rows<Record<string, unknown>>("SELECT * FROM raw_lab__wide");
    const own = Object.entries(row!).filter(([name]) => !name.startsWith("_sluice_"));
    const overflow = JSON.parse(String(row!._sluice_overflow)) as Record<string, number>;
    // 94 columns, the rest kept whole in the overflow column; no value lost or doubled.
    expect(own).toHaveLength(94);
    const values = [...own.map(([, value]) => Number(value)), ...Object.values(overflow)].sort((x, y) => x - y);
    expect(values).toEqual(Array.from({ length: 20_000 }, (_, i) => i));
    expect(new Set([...own.map(([name]) => name), ...Object.keys(overflow)]).size).toBe(20_000);
  });

  it("quarantines a record with more fields than the stream's maxFields, with the reason", async () => {
    const runtime = labRuntime({ capped: { maxFields: 3 } });
    await consumeWith(runtime, [
      lab("cap-ok", { a: 1, b: { c: 2, d: 3 } }, "capped"),
      lab("cap-over", { a: 1, b: { c: 2, d: 3 }, e: 4 }, "capped"),
    ]);
    expect(await rows("SELECT _sluice_key, a, b__c, b__d FROM raw_lab__capped")).toEqual([
      { _sluice_key: "cap-ok", a: 1, b__c: 2, b__d: 3 },
    ]);
    expect(await rows("SELECT key, reason, record FROM _sluice_quarantine WHERE stream = 'capped'")).toEqual([
      {
        key: "cap-over",
        reason: "record has more than 3 fields (the stream's maxFields); nothing of it was loaded",
        record: JSON.stringify({ a: 1, b: { c: 2, d: 3 }, e: 4 }),
      },
    ]);
  });

  it("re-reads the stored map when another isolate named a field first, writing nothing twice", async () => {
    const runtime = labRuntime({ raced: {} });
    await consumeWith(runtime, [lab("r-1", { id: 1 }, "raced")]);
    // Another isolate gave 名前 a column this isolate has not seen (here, one no rule would pick).
    await env.DB.batch([
      env.DB.prepare('ALTER TABLE raw_lab__raced ADD COLUMN "name_jp" TEXT'),
      env.DB.prepare(
        "INSERT INTO _sluice_columns (table_name, field, column_name, load_id) VALUES ('raw_lab__raced', '/名前', 'name_jp', 'other')",
      ),
    ]);
    const result = await consumeWith(runtime, [lab("r-2", { id: 2, 名前: "Grace" }, "raced")]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(await rows("SELECT _sluice_key, id, name_jp FROM raw_lab__raced ORDER BY _sluice_key")).toEqual([
      { _sluice_key: "r-1", id: 1, name_jp: null },
      { _sluice_key: "r-2", id: 2, name_jp: "Grace" },
    ]);
    expect(await columnNames("raw_lab__raced")).toEqual([
      "_sluice_key",
      "_sluice_load_id",
      "_sluice_received_at",
      "_sluice_source_object",
      "_sluice_load_seq",
      "id",
      "name_jp",
    ]);
    expect(await fieldMap("raw_lab__raced")).toEqual({ "/id": "id", "/名前": "name_jp" });
  });

  it("keeps feeding a column created under the old naming rule, and gives new fields new names", async () => {
    // A table as the loader made it before field maps: 名前 (first non-ASCII key) in _field, A in a.
    await env.DB.batch([
      env.DB.prepare(
        `CREATE TABLE raw_lab__legacy ("_sluice_key" TEXT PRIMARY KEY NOT NULL, "_sluice_load_id" TEXT NOT NULL, "_sluice_received_at" TEXT NOT NULL, "_sluice_source_object" TEXT NOT NULL, "_field" TEXT, "a" INTEGER)`,
      ),
      env.DB.prepare(`INSERT INTO raw_lab__legacy VALUES ('old-1', 'load-0', '2026-01-01T00:00:00Z', 'raw/old', 'Ada', 1)`),
    ]);
    const runtime = labRuntime({ legacy: {} });
    await consumeWith(runtime, [lab("new-1", { 名前: "Grace", A: 2 }, "legacy")]);
    forgetColumns("raw_lab__legacy");
    await consumeWith(runtime, [lab("new-2", { 住所: "Arlington", 名前: "Edsger" }, "legacy")]);

    const map = await fieldMap("raw_lab__legacy");
    expect(map).toMatchObject({ "/名前": "_field", "/A": "a" });
    expect(map["/住所"]).toMatch(/^_field_[0-9a-f]{8}$/);
    expect(await columnNames("raw_lab__legacy")).toEqual([
      "_sluice_key",
      "_sluice_load_id",
      "_sluice_received_at",
      "_sluice_source_object",
      "_field",
      "a",
      "_sluice_load_seq",
      map["/住所"],
    ]);
    expect(await rows(`SELECT _sluice_key, _field, a, "${map["/住所"]}" AS address FROM raw_lab__legacy ORDER BY _sluice_key`)).toEqual([
      { _sluice_key: "new-1", _field: "Grace", a: 2, address: null },
      { _sluice_key: "new-2", _field: "Edsger", a: null, address: "Arlington" },
      { _sluice_key: "old-1", _field: "Ada", a: 1, address: null },
    ]);
  });
});
