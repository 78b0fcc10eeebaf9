/**
 * `npm run bench -- load`: 100,000 records of 8 columns through Sluice's consumer code path in
 * workerd (raw zone, typing, schema evolution, one D1 batch with the ledger per queue batch of
 * 100), against a bare `INSERT … SELECT FROM json_each` of the same rows in the same batches, in
 * the same run, with the same number of batches in flight. Also times the raw-zone writes alone
 * (the object each batch must write to R2 before D1) and the making of the records (which every
 * mode includes): the baseline plus the writes bounds the ratio any loader that keeps the raw zone
 * could reach here. Prints rows/s for each, the ratio and
 * that bound, then one JSON line.
 */
import { startDevServer } from "../scripts/lib/dev-server.ts";

const records = Number(process.env.BENCH_RECORDS ?? 100_000);
const batch = Number(process.env.BENCH_BATCH ?? 100);
// Queues run consumer invocations concurrently; both paths get the same number in flight, so the
// consumer's R2 writes can overlap D1 work as they do in production.
const inflight = Number(process.env.BENCH_INFLIGHT ?? 4);

export async function main(): Promise<void> {
  const server = await startDevServer({ vars: { LOG_LEVEL: "warn" }, configPath: "bench/wrangler.toml", readyPath: "/ready" });
  const run = async (mode: "consumer" | "baseline" | "rawzone" | "generate", table: string) => {
    const response = await fetch(`${server.url}/${mode}?records=${records}&batch=${batch}&inflight=${inflight}&table=${table}`, {
      method: "POST",
    });
    if (!response.ok) throw new Error(`${mode} failed: ${response.status} ${await response.text()}\n${server.output().slice(-2000)}`);
    const result = (await response.json()) as { ms: number; rows: number };
    if (result.rows !== records) throw new Error(`${mode} loaded ${result.rows} of ${records} rows`);
    return records / (Math.max(1, result.ms) / 1000);
  };
  try {
    // Warm both paths, then measure the baseline first and the consumer second on fresh tables.
    await run("baseline", "warm_baseline").catch(() => undefined);
    const baselineRate = await run("baseline", "baseline");
    const consumerRate = await run("consumer", "consumer");
    const rawZoneRate = await run("rawzone", "rawzone");
    const generateRate = await run("generate", "generate");
    const ratio = Number((consumerRate / baselineRate).toFixed(2));
    // Seconds a row: the baseline, plus the raw-zone write without the record making both include.
    const bound = Number((1 / baselineRate / (1 / baselineRate + 1 / rawZoneRate - 1 / generateRate)).toFixed(2));
    console.log(`bare json_each insert: ${Math.round(baselineRate)} rows/s`);
    console.log(
      `consumer code path:    ${Math.round(consumerRate)} rows/s (${records} records, batches of ${batch}, ${inflight} in flight)`,
    );
    console.log(
      `raw-zone writes alone: ${Math.round(rawZoneRate)} rows/s, so a loader that writes the raw zone before D1 reaches a ratio of at most ${bound}`,
    );
    console.log(`ratio ${ratio} (target ≥ 0.7)`);
    console.log(
      JSON.stringify({
        bench: "load",
        ratio,
        rows_per_s: Math.round(consumerRate),
        baseline_rows_per_s: Math.round(baselineRate),
        raw_zone_rows_per_s: Math.round(rawZoneRate),
        ratio_bound_with_raw_zone: bound,
        records,
        batch,
        inflight,
      }),
    );
  } finally {
    await server.stop();
  }
}
