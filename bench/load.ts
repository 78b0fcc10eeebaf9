/**
 * The D1 bulk load: Sluice's `INSERT … SELECT … FROM json_each(?)` in ~600 K-character chunks,
 * against the baseline of one bound INSERT per record (sent as one D1 batch). Both run inside
 * workerd (Miniflare) against the same local D1 and load the same records into fresh tables;
 * the time is taken inside the Worker, around the D1 batch alone.
 */
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { chunkRows, createRawTableSql, insertRawRowsSql } from "../src/db/raw-tables.ts";

const records = Number(process.env.BENCH_RECORDS ?? 5000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

// Runs one D1 batch of `sql` bound to each parameter list, and reports how long it took.
const benchWorker = `
export default {
  async fetch(request, env) {
    const { create, sql, params, table } = await request.json();
    await env.DB.prepare(create).run();
    const started = Date.now();
    await env.DB.batch(params.map((p) => env.DB.prepare(sql).bind(...p)));
    const ms = Date.now() - started;
    const count = await env.DB.prepare("SELECT count(*) AS n FROM " + table).first("n");
    return Response.json({ ms, count });
  },
};`;

function rows(prefix: string) {
  return Array.from({ length: records }, (_, i) => ({
    key: `${prefix}-${i}`,
    receivedAt: new Date(1_700_000_000_000 + i * 1000).toISOString(),
    payload: JSON.stringify({ id: i, type: i % 3 ? "order.paid" : "order.created", amount: i * 7, note: "x".repeat(200) }),
  }));
}

export async function main(): Promise<void> {
  const mf = new Miniflare(
    convertV4MiniflareOptions({ modules: true, script: benchWorker, compatibilityDate: "2026-11-01", d1Databases: ["DB"] }),
  );
  try {
    const timings = { jsonEach: [] as number[], perRow: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      for (const method of ["jsonEach", "perRow"] as const) {
        const stream = `${method.toLowerCase()}${round}`;
        const table = `raw_bench__${stream}`;
        const data = rows(stream);
        const job =
          method === "jsonEach"
            ? { sql: insertRawRowsSql("bench", stream), params: chunkRows(data).map((chunk) => ["ld_bench", "raw/bench", chunk]) }
            : {
                sql: `INSERT INTO ${table} VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING`,
                params: data.map((row) => [row.key, "ld_bench", row.receivedAt, "raw/bench", row.payload]),
              };
        const response = await mf.dispatchFetch("http://bench/", {
          method: "POST",
          body: JSON.stringify({ create: createRawTableSql("bench", stream), table, ...job }),
        });
        const result = (await response.json()) as { ms: number; count: number };
        if (result.count !== records) throw new Error(`${method} loaded ${result.count} of ${records} rows`);
        timings[method].push(result.ms);
      }
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const jsonEachMs = Math.max(1, median(timings.jsonEach));
    const perRowMs = median(timings.perRow);
    console.log(`json_each bulk load: ${jsonEachMs} ms for ${records} records (median of ${rounds})`);
    console.log(`one INSERT per row:  ${perRowMs} ms`);
    console.log(
      JSON.stringify({ bench: "load", records, json_each_ms: jsonEachMs, per_row_ms: perRowMs, ratio: Number((perRowMs / jsonEachMs).toFixed(2)) }),
    );
  } finally {
    await mf.dispose();
  }
}
