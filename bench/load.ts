/**
 * `npm run bench -- load`: BENCH_RECORDS record envelopes (50,000 by default; 8 fields each) go
 * onto the real `INGEST` queue in workerd, one message per record as webhooks queue them, and
 * Sluice's own queue handler (`consumeIngestBatch`, bench/load-worker.ts) loads them in batches of
 * 100. Its floor (bench/load-floor-worker.ts) consumes the same messages from a queue with the
 * same settings and does only the storage work the contract requires: parse, the raw-zone object
 * in R2, then one D1 batch of load counter, `json_each` insert into an identical table and ledger
 * row. Both Workers serve the same D1 file. Each clock starts at the first message sent and stops
 * when the ledger counts every record loaded; the producer stays at most BENCH_WINDOW records
 * ahead of the loads, as a steady webhook stream would, so memory stays bounded at any size.
 *
 * Floor and Sluice alternate (BENCH_ROUNDS, 5 by default; which goes first swaps every round),
 * each round on fresh tables, and the
 * medians are reported: `ratio_to_floor`, and for reference `ratio_to_bare_insert` against the
 * old baseline (the same rows inserted by a bare `json_each` statement per batch, four in
 * flight, called directly in the Worker: no queue, no raw zone, no ledger). The last round's
 * floor table must hold exactly Sluice's rows, or the bench fails. The JSON line also carries the
 * peak memory (VmHWM) of each workerd and of this Node process.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { queryLocalD1 } from "../scripts/lib/dev-server.ts";
import { startWorkerd, type WorkerdServer } from "../scripts/lib/workerd-server.ts";
import { testSecrets } from "../test/support/fixtures.ts";
import { median } from "./lib/phases.ts";

const records = Number(process.env.BENCH_RECORDS ?? 50_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const window = Number(process.env.BENCH_WINDOW ?? 20_000);
/** Records the step-by-step breakdown times (in batches of 100). */
const breakdownRecords = Number(process.env.BENCH_BREAKDOWN_RECORDS ?? 10_000);
/** Records per enqueue request (sent by the Worker in sendBatch calls of 100). */
const chunk = 2_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function call(server: WorkerdServer, path: string): Promise<Record<string, number>> {
  const response = await fetch(`${server.url}${path}`, { method: "POST" });
  if (!response.ok) throw new Error(`${path} failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, number>;
}

/** Sends `count` records to `stream` through `server`'s queue and returns the ms until all are loaded. */
async function timedLoad(server: WorkerdServer, stream: string, count: number): Promise<number> {
  const started = performance.now();
  let loaded = 0;
  let sent = 0;
  let done = false;
  const producer = (async () => {
    while (sent < count && !done) {
      if (sent - loaded >= window) {
        await sleep(20);
        continue;
      }
      const n = Math.min(chunk, count - sent);
      await call(server, `/enqueue?stream=${stream}&from=${sent}&count=${n}`);
      sent += n;
    }
  })();
  let lastChange = performance.now();
  while (loaded < count) {
    await sleep(50);
    const now = (await call(server, `/progress?stream=${stream}`)).loaded!;
    if (now !== loaded) lastChange = performance.now();
    loaded = now;
    if (performance.now() - lastChange > 60_000) {
      done = true;
      throw new Error(`${stream}: stuck at ${loaded} of ${count} records`);
    }
  }
  const ms = performance.now() - started;
  await producer;
  return ms;
}

/** workerd processes among this process's descendants. */
function workerdPids(): number[] {
  const out = execFileSync("ps", ["-eo", "pid=,ppid=,comm="], { encoding: "utf8" });
  const procs = out
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .map(([pid, ppid, comm]) => ({ pid: Number(pid), ppid: Number(ppid), comm: comm ?? "" }));
  const mine = new Set([process.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs)
      if (mine.has(p.ppid) && !mine.has(p.pid)) {
        mine.add(p.pid);
        grew = true;
      }
  }
  return procs.filter((p) => mine.has(p.pid) && p.comm.startsWith("workerd")).map((p) => p.pid);
}

/** Peak resident memory of a process, in MB (Linux's VmHWM). */
function peakMb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Math.round(Number(match[1]) / 1024) : 0;
}

export async function main(): Promise<void> {
  const benchStarted = performance.now();
  const sluice = await startWorkerd({ vars: { ...testSecrets, LOG_LEVEL: "warn" }, configPath: "bench/wrangler.toml" });
  const sluicePids = workerdPids();
  const floor = await startWorkerd({ vars: {}, configPath: "bench/wrangler.load-floor.toml", persistTo: sluice.persistTo });
  const floorPids = workerdPids().filter((pid) => !sluicePids.includes(pid));
  try {
    // Warm both isolates; Sluice's warm table is the one every floor table copies.
    await timedLoad(sluice, "warm", 2_000);
    await call(floor, "/setup?from=raw_bench__warm&to=raw_bench__floor_warm");
    await timedLoad(floor, "floor_warm", 2_000);

    // Where a batch's time goes, each step timed on its own in Sluice's Worker (ms per batch of 100),
    // while its isolate is fresh: after the rounds, one run in ten lost the connection here.
    const steps = await call(sluice, `/breakdown?records=${breakdownRecords}&tag=${Date.now()}`);

    const floorMs: number[] = [];
    const sluiceMs: number[] = [];
    const bareMs: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      await call(floor, `/setup?from=raw_bench__warm&to=raw_bench__f${round}`);
      // Floor first in odd rounds, Sluice first in even ones, so a machine that speeds up or slows
      // down during the run favours neither.
      const floorRun = () => timedLoad(floor, `f${round}`, records).then((ms) => floorMs.push(ms));
      const sluiceRun = () => timedLoad(sluice, `s${round}`, records).then((ms) => sluiceMs.push(ms));
      if (round % 2) await floorRun().then(sluiceRun);
      else await sluiceRun().then(floorRun);
      const bare = await call(floor, `/bare?records=${records}&table=raw_bench__b${round}`);
      if (bare.rows !== records) throw new Error(`bare insert loaded ${bare.rows} of ${records} rows`);
      bareMs.push(bare.ms!);
      console.log(
        `round ${round}: floor ${Math.round(floorMs.at(-1)!)} ms, sluice ${Math.round(sluiceMs.at(-1)!)} ms, bare insert ${bareMs.at(-1)} ms`,
      );
    }

    // The floor must have written what Sluice wrote: same rows, same indexes.
    const last = rounds;
    // Receive times differ (each side was sent its own messages); every other value must match.
    const columns = "_sluice_key, id, customer, amount, currency, status, paid, created_at, note";
    const [diff] = queryLocalD1<{ n: number }>(
      sluice.persistTo,
      `SELECT (SELECT count(*) FROM (SELECT ${columns} FROM raw_bench__s${last} EXCEPT SELECT ${columns} FROM raw_bench__f${last}))
        + (SELECT count(*) FROM (SELECT ${columns} FROM raw_bench__f${last} EXCEPT SELECT ${columns} FROM raw_bench__s${last})) AS n`,
    );
    if (diff?.n !== 0) throw new Error(`the floor's rows differ from Sluice's in ${diff?.n} rows`);
    const indexesOf = (table: string) =>
      queryLocalD1<{ sql: string }>(
        sluice.persistTo,
        `SELECT sql FROM sqlite_master WHERE tbl_name = '${table}' AND sql IS NOT NULL ORDER BY name`,
      )
        .map((r) => r.sql.split(table).join("T"))
        .join("\n");
    if (indexesOf(`raw_bench__s${last}`) !== indexesOf(`raw_bench__f${last}`)) throw new Error("the floor's table differs from Sluice's");

    for (const [step, ms] of Object.entries(steps)) console.log(`  ${step.padEnd(42)} ${ms} ms a batch`);

    const rate = (ms: number) => Math.round(records / (ms / 1000));
    const ratioToFloor = median(sluiceMs.map((ms, k) => floorMs[k]! / ms));
    const ratioToBare = median(sluiceMs.map((ms, k) => bareMs[k]! / ms));
    const result = {
      bench: "load",
      ratio_to_floor: Number(ratioToFloor.toFixed(2)),
      ratio_to_bare_insert: Number(ratioToBare.toFixed(2)),
      records,
      rounds,
      rows_per_s: rate(median(sluiceMs)),
      floor_rows_per_s: rate(median(floorMs)),
      bare_insert_rows_per_s: rate(median(bareMs)),
      sluice_s: Number((median(sluiceMs) / 1000).toFixed(1)),
      floor_s: Number((median(floorMs) / 1000).toFixed(1)),
      batch: 100,
      window,
      bench_total_s: Math.round((performance.now() - benchStarted) / 1000),
      breakdown_ms_per_batch: steps,
      peak_rss_mb_workerd_sluice: Math.max(0, ...sluicePids.map(peakMb)),
      peak_rss_mb_workerd_floor: Math.max(0, ...floorPids.map(peakMb)),
      peak_rss_mb_node: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    console.log(`floor:  ${result.floor_rows_per_s} rows/s (rounds: ${floorMs.map(rate).join(", ")})`);
    console.log(`sluice: ${result.rows_per_s} rows/s (rounds: ${sluiceMs.map(rate).join(", ")})`);
    console.log(`bare json_each insert, for reference: ${result.bare_insert_rows_per_s} rows/s`);
    console.log(`ratio to floor ${result.ratio_to_floor} (target ≥ 0.8); ratio to the bare insert ${result.ratio_to_bare_insert}`);
    console.log(JSON.stringify(result));
  } finally {
    await floor.stop();
    await sluice.stop();
  }
}
