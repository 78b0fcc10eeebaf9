/**
 * The webhook hot path under load. Starts `wrangler dev`, then drives it with autocannon at 32
 * connections: first a baseline route that answers 202 and does nothing else, then signed Stripe
 * deliveries (verify, parse, enqueue, 202; the consumer loads them meanwhile). Prints req/s, p50
 * and p99 for both and their ratio, and ends with one JSON line.
 */
import autocannon from "autocannon";
import { startDevServer } from "../scripts/lib/dev-server.ts";
import { secrets, testSecrets } from "../test/support/fixtures.ts";
import { signers } from "../test/support/sign.ts";

const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);

interface Phase {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function drive(url: string, next: () => { path: string; headers: Record<string, string>; body: string }): Promise<Phase> {
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    method: "POST",
    requests: [{ setupRequest: (request) => ({ ...request, method: "POST", ...next() }) }],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

async function deliveries(count: number) {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const body = JSON.stringify({
        id: `evt_bench_${i}`,
        object: "event",
        type: "charge.succeeded",
        data: { object: { id: `ch_${i}`, object: "charge", amount: 1000 + i, currency: "usd" } },
      });
      return {
        path: "/v1/webhooks/stripe",
        headers: { "content-type": "application/json", ...(await signers.stripe(body, { secret: secrets.stripe })) },
        body,
      };
    }),
  );
}

export async function main(): Promise<void> {
  const server = await startDevServer({ vars: { ...testSecrets, LOG_LEVEL: "info", SLUICE_BENCH_BASELINE: "1" } });
  try {
    const signed = await deliveries(5000);
    let i = 0;
    const nextDelivery = () => signed[i++ % signed.length]!;
    const baselineRequest = () => ({ path: "/__bench/baseline", headers: { "content-type": "application/json" }, body: signed[0]!.body });

    // Warm both paths (JIT, first D1/R2/queue use) before measuring.
    await autocannon({
      url: server.url,
      connections: 4,
      amount: 200,
      method: "POST",
      requests: [{ setupRequest: (r) => ({ ...r, ...nextDelivery() }) }],
    });

    const baseline = await drive(server.url, baselineRequest);
    const ingest = await drive(server.url, nextDelivery);
    if (ingest.non2xx > 0 || ingest.errors > 0) throw new Error(`ingest phase had ${ingest.non2xx} non-2xx and ${ingest.errors} errors`);

    const ratio = Number((ingest.rps / baseline.rps).toFixed(2));
    console.log(`baseline 202:    ${baseline.rps.toFixed(0)} req/s, p50 ${baseline.p50} ms, p99 ${baseline.p99} ms`);
    console.log(`stripe webhooks: ${ingest.rps.toFixed(0)} req/s, p50 ${ingest.p50} ms, p99 ${ingest.p99} ms`);
    console.log(`ratio ${ratio} (target ≥ 0.6), p99 ${ingest.p99} ms (target ≤ 25 ms), ${connections} connections, ${seconds} s each`);
    console.log(
      JSON.stringify({
        bench: "ingest",
        ratio,
        p99_ms: ingest.p99,
        p50_ms: ingest.p50,
        rps: Math.round(ingest.rps),
        baseline_rps: Math.round(baseline.rps),
        baseline_p99_ms: baseline.p99,
        connections,
      }),
    );
  } finally {
    await server.stop();
  }
}
