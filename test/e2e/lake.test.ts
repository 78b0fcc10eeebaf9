/**
 * The Parquet lake through a real `wrangler dev`: a landed table seeded in local D1, compaction
 * fired on its cron over HTTP, the files taken out of local R2 with wrangler, and read by DuckDB,
 * an engine that has never seen Sluice, as any lake reader would.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, queryLocalD1, repoRoot, startDevServer } from "../../scripts/lib/dev-server.ts";
import { testSecrets } from "../support/fixtures.ts";

const lakeCron = "30 * * * *";
const table = "raw_e2elake__orders";

let server: DevServer;
let downloads: string;

beforeAll(async () => {
  server = await startDevServer({ vars: { ...testSecrets, LOG_LEVEL: "info" } });
  downloads = mkdtempSync(join(tmpdir(), "sluice-lake-"));
});

afterAll(async () => {
  await server?.stop();
  if (downloads) rmSync(downloads, { recursive: true, force: true });
});

/** Copies one object out of the dev server's local R2 to `downloads/<key>`, as a user would. */
function getLocalR2Object(key: string): string {
  const file = join(downloads, key);
  mkdirSync(dirname(file), { recursive: true });
  const wrangler = join(repoRoot, "node_modules", "wrangler", "bin", "wrangler.js");
  const args = [wrangler, "r2", "object", "get", `sluice-raw/${key}`, "--local", "--persist-to", server.persistTo, "--file", file];
  const result = spawnSync(process.execPath, args, { cwd: repoRoot, encoding: "utf8", env: { ...process.env, CI: "true" } });
  if (result.status !== 0)
    throw new Error(`wrangler r2 object get ${key} failed:\n${result.stdout}\n${result.stderr}\n${server.output().slice(-4000)}`);
  return file;
}

/** Epoch microseconds of an ISO-8601 timestamp, keeping digits past the millisecond. */
function epochMicros(iso: string): string {
  const micros = /\.\d{3}(\d{0,3})/.exec(iso)?.[1] ?? "";
  return String(BigInt(Date.parse(iso)) * 1000n + BigInt(micros.padEnd(3, "0")));
}

describe("D1 → Parquet lake in R2 on cron → DuckDB", () => {
  it("writes each UTC day as Parquet that DuckDB reads back as the D1 rows", async () => {
    queryLocalD1(
      server.persistTo,
      `CREATE TABLE "${table}" ("_sluice_key" TEXT PRIMARY KEY NOT NULL, "_sluice_load_id" TEXT NOT NULL,
  "_sluice_received_at" TEXT NOT NULL, "_sluice_source_object" TEXT NOT NULL,
  "id" INTEGER, "amount" REAL, "note" TEXT, "paid" BOOLEAN, "paid_at" TIMESTAMP, "meta" JSON);
INSERT INTO "${table}" VALUES
  ('o-1', 'ld_01a', '2031-05-01T08:00:00.000Z', 'raw/e2elake/orders/a.ndjson.gz', 9007199254740993, 12.5, 'first — ünïcode', 1, '2031-05-01T07:59:59.123456Z', '{"tags":["a","b"],"n":1.0}'),
  ('o-2', 'ld_01a', '2031-05-01T09:30:00.000Z', 'raw/e2elake/orders/a.ndjson.gz', -42, NULL, NULL, 0, '2031-05-01T12:30:00+02:00', NULL),
  ('o-3', 'ld_01b', '2031-05-01T23:59:59.999Z', 'raw/e2elake/orders/b.ndjson.gz', NULL, 0.0, '', NULL, NULL, '[]'),
  ('o-4', 'ld_01c', '2031-05-02T00:00:00.000Z', 'raw/e2elake/orders/c.ndjson.gz', 7, -1e-9, 'second day', 1, '2031-05-02T00:00Z', '{"x":null}');`,
    );

    const cron = await fetch(`${server.url}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent(lakeCron)}`);
    expect(cron.status).toBe(200);

    const keys = ["2031-05-01", "2031-05-02"].map((day) => `lake/${table}/dt=${day}/part-0.parquet`);
    const files = keys.map(getLocalR2Object);

    const d1 = queryLocalD1<Record<string, unknown>>(
      server.persistTo,
      `SELECT _sluice_key, _sluice_load_id, _sluice_received_at, _sluice_source_object, CAST(id AS TEXT) AS id, amount, note, paid, paid_at, meta
FROM "${table}" ORDER BY _sluice_key`,
    ).map((row) => ({ ...row, paid_at: row.paid_at === null ? null : epochMicros(row.paid_at as string) }));

    const db = await DuckDBInstance.create(":memory:");
    const conn = await db.connect();
    try {
      const list = files.map((file) => `'${file}'`).join(", ");
      const reader = await conn.runAndReadAll(
        `SELECT * EXCLUDE (dt) REPLACE (CAST(id AS VARCHAR) AS id, CAST(paid AS INTEGER) AS paid, CAST(epoch_us(paid_at) AS VARCHAR) AS paid_at)
FROM read_parquet([${list}], hive_partitioning = true) ORDER BY _sluice_key`,
      );
      expect(reader.getRowObjectsJson()).toEqual(d1);

      // Typed for the reader: integers as BIGINT, timestamps as instants, and the day from the path.
      const described = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet([${list}], hive_partitioning = true)`);
      const types = Object.fromEntries(described.getRowObjectsJson().map((c) => [c.column_name, c.column_type]));
      expect(types).toMatchObject({
        id: "BIGINT",
        amount: "DOUBLE",
        paid: "BOOLEAN",
        paid_at: "TIMESTAMP WITH TIME ZONE",
        meta: "VARCHAR",
      });
      const days = await conn.runAndReadAll(
        `SELECT CAST(dt AS VARCHAR) AS dt, count(*) AS n FROM read_parquet([${list}], hive_partitioning = true) GROUP BY dt ORDER BY dt`,
      );
      expect(days.getRowObjectsJson()).toEqual([
        { dt: "2031-05-01", n: "3" },
        { dt: "2031-05-02", n: "1" },
      ]);
    } finally {
      conn.closeSync();
      db.closeSync();
    }

    const state = queryLocalD1(
      server.persistTo,
      `SELECT day, parts, rows, last_load_id FROM _sluice_lake_partitions WHERE table_name = '${table}' ORDER BY day`,
    );
    expect(state).toEqual([
      { day: "2031-05-01", parts: 1, rows: 3, last_load_id: "ld_01b" },
      { day: "2031-05-02", parts: 1, rows: 1, last_load_id: "ld_01c" },
    ]);
    expect(server.output()).toContain('"event":"lake.compacted"');
  });
});
