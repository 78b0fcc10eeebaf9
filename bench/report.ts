/**
 * `npm run bench -- report`: a filtered report over a 1,000,000-row model, served by the production
 * bundle in workerd (not behind `wrangler dev`'s development proxy, which caps out below the
 * Worker's own throughput) at 16 connections: first uncached (every request a different query,
 * so every one misses both cache tiers, reads D1 through the index and is stored), then cached
 * (one query, served from the isolate's memory), and last fresh (different queries sent with
 * `Cache-Control: no-cache, no-store`, which skip the Cache API's lookup and store: what those
 * two calls cost a miss here, where the local Cache API runs on the Worker's own thread). Prints
 * p50, p99 and req/s for each, and one JSON line.
 */
import autocannon from "autocannon";
import { queryLocalD1 } from "../scripts/lib/dev-server.ts";
import { startWorkerd } from "../scripts/lib/workerd-server.ts";
import { reportToken, testSecrets } from "../test/support/fixtures.ts";

const rows = Number(process.env.BENCH_ROWS ?? 1_000_000);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);

export async function main(): Promise<void> {
  const server = await startWorkerd({ vars: { ...testSecrets, LOG_LEVEL: "warn" } });
  try {
    // The report's model, filled inside SQLite: one row per (day, currency, shard), indexed as
    // the report filters it.
    queryLocalD1(
      server.persistTo,
      `DROP TABLE IF EXISTS daily_revenue;
       CREATE TABLE daily_revenue (day TEXT, currency TEXT, charges INTEGER, revenue REAL);
       WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < ${rows - 1})
       INSERT INTO daily_revenue SELECT date('2000-01-01', '+' || (n / 40) || ' days'), CASE n % 4 WHEN 0 THEN 'usd' WHEN 1 THEN 'eur' WHEN 2 THEN 'gbp' ELSE 'jpy' END, n % 97, (n % 10007) / 10.0 FROM seq;
       CREATE INDEX daily_revenue_currency_day ON daily_revenue (currency, day);`,
    );
    const headers = { authorization: `Bearer ${reportToken}` };
    const base = "/v1/reports/daily_revenue?currency=usd&from=2020-01-01&to=2020-01-31&sort=-day&limit=100";
    let i = 0;
    const phase = async (path: () => string, extra: Record<string, string> = {}) => {
      const result = await autocannon({
        url: server.url,
        connections,
        duration: seconds,
        headers: { ...headers, ...extra },
        requests: [{ setupRequest: (request) => ({ ...request, path: path() }) }],
      });
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors\n`);
      return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
    };
    // Warm the isolate, then measure.
    await autocannon({ url: `${server.url}${base}`, connections: 2, amount: 50, headers });
    const uncached = await phase(() => `${base}&min_revenue=${(i++ % 100_000) / 100}`);
    const cached = await phase(() => base);
    const fresh = await phase(() => `${base}&min_revenue=${(i++ % 100_000) / 100}`, { "cache-control": "no-cache, no-store" });
    const speedup = Number((cached.rps / uncached.rps).toFixed(2));
    console.log(
      `uncached: ${Math.round(uncached.rps)} req/s, p50 ${uncached.p50} ms, p99 ${uncached.p99} ms (${rows} rows, index on currency, day)`,
    );
    console.log(`cached:   ${Math.round(cached.rps)} req/s, p50 ${cached.p50} ms, p99 ${cached.p99} ms`);
    console.log(
      `fresh:    ${Math.round(fresh.rps)} req/s, p50 ${fresh.p50} ms, p99 ${fresh.p99} ms (no-cache, no-store: the same misses without the Cache API's lookup and store)`,
    );
    console.log(`cached speedup ${speedup}× (target ≥ 5), p99 uncached ${uncached.p99} ms (target ≤ 50 ms), ${connections} connections`);
    console.log(
      JSON.stringify({
        bench: "report",
        p99_ms_uncached: uncached.p99,
        cached_speedup: speedup,
        rps_uncached: Math.round(uncached.rps),
        rps_cached: Math.round(cached.rps),
        p99_ms_cached: cached.p99,
        rps_fresh: Math.round(fresh.rps),
        p99_ms_fresh: fresh.p99,
        rows,
      }),
    );
  } finally {
    await server.stop();
  }
}
