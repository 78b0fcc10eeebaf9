/**
 * `npm run bench -- load`: 100,000 records of 8 columns through Sluice's consumer code path in
 * workerd (raw zone, typing, schema evolution, one D1 batch with the ledger per queue batch of
 * 100), against a bare `INSERT … SELECT FROM json_each` of the same rows in the same batches, in
 * the same run, with the same number of batches in flight. Prints rows/s for both and the ratio,
 * then one JSON line.
 */
import { startDevServer } from "../scripts/lib/dev-server.ts";

const records = Number(process.env.BENCH_RECORDS ?? 100_000);
const batch = Number(process.env.BENCH_BATCH ?? 100);
// Queues run consumer invocations concurrently; both paths get the same number in flight, so the
// consumer's R2 writes can overlap D1 work as they do in production.
const inflight = Number(process.env.BENCH_INFLIGHT ?? 4);

export async function main(): Promise<void> {
  const server = await startDevServer({ vars: { LOG_LEVEL: "warn" }, configPath: "bench/wrangler.toml", readyPath: "/ready" });
  const run = async (mode: "consumer" | "baseline", table: string) => {
    const response = await fetch(`${server.url}/${mode}?records=${records}&batch=${batch}&inflight=${inflight}&table=${table}`, { method: "POST" });
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
    const ratio = Number((consumerRate / baselineRate).toFixed(2));
    console.log(`bare json_each insert: ${Math.round(baselineRate)} rows/s`);
    console.log(`consumer code path:    ${Math.round(consumerRate)} rows/s (${records} records, batches of ${batch}, ${inflight} in flight)`);
    console.log(`ratio ${ratio} (target ≥ 0.7)`);
    console.log(JSON.stringify({ bench: "load", ratio, rows_per_s: Math.round(consumerRate), baseline_rows_per_s: Math.round(baselineRate), records, batch, inflight }));
  } finally {
    await server.stop();
  }
}
