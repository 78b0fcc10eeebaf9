/**
 * `npm run bench -- ingest`: signed Stripe deliveries to the production bundle in workerd,
 * against its floor (bench/ingest-floor-worker.ts): a Worker that reads the body, verifies one
 * HMAC, counts the delivery against the same rate limiter and sends one queue message, then
 * answers 202. Both Workers' queues are consumed by Sluice's loader into their own D1, and every
 * phase waits until its deliveries are loaded, so each side pays for its own loading in its own
 * phase. `WEBHOOK_LIMITER` is raised for both alike, high enough that neither is throttled; both
 * verify against one secret.
 *
 * Every delivery is a new event (its own id, signed when it is sent). Closed loop at
 * BENCH_CONNECTIONS (32), floor and Sluice alternating for BENCH_ROUNDS (3), medians reported;
 * then latency at a fixed rate of half the floor's capacity, alternating again, p99 against the
 * floor's. Every response must be a 202: a 429 or a 500 fails the bench.
 */
import { createHmac } from "node:crypto";
import autocannon from "autocannon";
import { startWorkerd, type WorkerdServer } from "../scripts/lib/workerd-server.ts";
import { secrets } from "../test/support/fixtures.ts";
import { countRows } from "./lib/local-d1.ts";
import { medianCpu, medianP99, medianRatio, medianRps, type Phase, printPhases, runPhase } from "./lib/phases.ts";
import { withChildPid } from "./lib/process-cpu.ts";

const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
/** Far above what two cores can send, for both Workers: the limiter is called, never hit. */
const rateLimits = { WEBHOOK_LIMITER: { limit: 10_000_000, period: 10 as const } };
/** One signing secret on both sides (Sluice verifies against every secret a source lists). */
const vars = { STRIPE_WEBHOOK_SECRET: secrets.stripe, LOG_LEVEL: "info" };
const table = "raw_stripe__charges";

let sent = 0;
/** A new charge event, signed now, as Stripe sends it. */
function delivery() {
  const i = sent++;
  const body = JSON.stringify({
    id: `evt_bench_${i}`,
    object: "event",
    type: "charge.succeeded",
    data: { object: { id: `ch_${i}`, object: "charge", amount: 1000 + (i % 1000), currency: "usd", status: "succeeded" } },
  });
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac("sha256", secrets.stripe).update(`${t}.${body}`).digest("hex");
  return { path: "/v1/webhooks/stripe", headers: { "content-type": "application/json", "stripe-signature": `t=${t},v1=${v1}` }, body };
}

interface Side {
  name: string;
  server: WorkerdServer & { pid: number | undefined };
  accepted: number;
}

/** Waits until every delivery the side accepted is a row in its D1, and returns how long that took. */
async function drained(side: Side, timeoutMs = 180_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const rows = countRows(side.server.persistTo, table);
    if (rows >= side.accepted) return Date.now() - started;
    if (Date.now() - started > timeoutMs)
      throw new Error(`${side.name}: ${rows} of ${side.accepted} deliveries loaded after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function phase(side: Side, rate?: number): Promise<Phase & { drainMs: number }> {
  let accepted = 0;
  const result = await runPhase({
    url: side.server.url,
    connections,
    seconds,
    rate,
    method: "POST",
    pid: side.server.pid,
    next: delivery,
    check: (status) => {
      if (status !== 202) return `status ${status}`;
      accepted += 1;
      return undefined;
    },
  });
  side.accepted += accepted;
  return { ...result, drainMs: await drained(side) };
}

export async function main(): Promise<void> {
  const sluice: Side = { name: "sluice", server: await withChildPid(() => startWorkerd({ vars, rateLimits })), accepted: 0 };
  const floor: Side = {
    name: "floor",
    server: await withChildPid(() => startWorkerd({ vars, rateLimits, configPath: "bench/wrangler.ingest-floor.toml" })),
    accepted: 0,
  };
  try {
    // Warm both isolates (JIT, the first D1, R2 and queue use) and let the loads settle.
    for (const side of [floor, sluice]) {
      const warm = await autocannon({
        url: side.server.url,
        connections: 4,
        amount: 400,
        method: "POST",
        requests: [{ setupRequest: (request) => ({ ...request, ...delivery() }) }],
      });
      if (warm.non2xx > 0 || warm.errors > 0) throw new Error(`${side.name}: warm-up got ${warm.non2xx} non-2xx, ${warm.errors} errors`);
      side.accepted += warm.requests.total;
      await drained(side);
    }

    const closed = { floor: [] as Phase[], sluice: [] as Phase[] };
    const drains = { floor: [] as number[], sluice: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      for (const side of [floor, sluice]) {
        const measured = await phase(side);
        closed[side.name as "floor"].push(measured);
        drains[side.name as "floor"].push(measured.drainMs);
      }
    }
    const rate = Math.max(1, Math.round(medianRps(closed.floor) / 2));
    const atRate = { floor: [] as Phase[], sluice: [] as Phase[] };
    for (let round = 0; round < rounds; round++) {
      for (const side of [floor, sluice]) atRate[side.name as "floor"].push(await phase(side, rate));
    }

    printPhases("floor:", closed.floor);
    printPhases("sluice:", closed.sluice);
    printPhases(`floor @${rate}/s:`, atRate.floor);
    printPhases(`sluice @${rate}/s:`, atRate.sluice);
    console.log(`loaded after each closed-loop phase in: floor ${drains.floor.join(", ")} ms; sluice ${drains.sluice.join(", ")} ms`);
    const result = {
      bench: "ingest",
      ratio_to_floor: Number(medianRatio(closed.sluice, closed.floor).toFixed(2)),
      p99_ms_at_half_load: medianP99(atRate.sluice),
      floor_p99_ms_at_half_load: medianP99(atRate.floor),
      rate_at_half_load: rate,
      rps: medianRps(closed.sluice),
      rps_floor: medianRps(closed.floor),
      p99_ms_closed: medianP99(closed.sluice),
      floor_p99_ms_closed: medianP99(closed.floor),
      cpu_ms_per_request: medianCpu(closed.sluice),
      floor_cpu_ms_per_request: medianCpu(closed.floor),
      accepted: sluice.accepted,
      floor_accepted: floor.accepted,
      connections,
      rounds,
      seconds,
    };
    console.log(
      `targets: ratio ≥ 0.85 (${result.ratio_to_floor}), p99 within 10 ms of the floor's at ${rate} req/s (${result.p99_ms_at_half_load} vs ${result.floor_p99_ms_at_half_load})`,
    );
    console.log(JSON.stringify(result));
  } finally {
    await floor.server.stop();
    await sluice.server.stop();
  }
}
