/**
 * `npm run bench -- pull`: 10,000 GitHub issues (100 pages of 100) from the local fake API,
 * through the whole path under `wrangler dev`: a run started over HTTP, one PULL queue hop per
 * page, records to INGEST. In the same run, the same pages fetched in a plain loop (following
 * the same Link headers) are the baseline, and as many bare queue hops as there were pages are a
 * second one. Prints records/s for both, the ratio, and the path's work beyond hops and fetches.
 */
import { startDevServer } from "../scripts/lib/dev-server.ts";
import { linkNext } from "../src/pull/paginate.ts";
import { seedIssues, startFakeApi } from "../test/support/fake-api.ts";
import { adminToken, testSecrets } from "../test/support/fixtures.ts";

const issues = Number(process.env.BENCH_ISSUES ?? 10_000);

export async function main(): Promise<void> {
  const api = await startFakeApi({ issues: seedIssues(issues) });
  const server = await startDevServer({
    // Bench mode lifts the example's 10 requests/s limit, which would otherwise be all we measure.
    vars: {
      ...testSecrets,
      LOG_LEVEL: "warn",
      SLUICE_BENCH_BASELINE: "1",
      GITHUB_API_URL: api.url,
      GITHUB_REPO: "acme/widgets",
      GITHUB_TOKEN: "fake-token",
      STRIPE_API_URL: api.url,
      STRIPE_API_KEY: "fake-token",
    },
  });
  try {
    // Baseline: the same pages in a plain loop.
    const baselineStart = performance.now();
    let url: string | undefined =
      `${api.url}/repos/acme/widgets/issues?state=all&per_page=100&sort=updated&direction=asc&since=2019-12-31T23:55:00Z`;
    let fetched = 0;
    while (url) {
      const response: Response = await fetch(url, { headers: { authorization: "Bearer fake-token", accept: "application/json" } });
      fetched += ((await response.json()) as unknown[]).length;
      url = linkNext(response.headers.get("link"));
    }
    const baselineSeconds = (performance.now() - baselineStart) / 1000;
    if (fetched !== issues) throw new Error(`baseline fetched ${fetched} of ${issues}`);

    // The whole path.
    const admin = { authorization: `Bearer ${adminToken}` };
    const started = performance.now();
    const start = await fetch(`${server.url}/v1/pulls/github_api/issues/run`, { method: "POST", headers: admin });
    if (start.status !== 202) throw new Error(`could not start the run: ${start.status} ${await start.text()}`);
    let run: { status: string; pages: number; records: number; error: string | null } | undefined;
    while (performance.now() - started < 600_000) {
      const body = (await (await fetch(`${server.url}/v1/pulls?limit=1`, { headers: admin })).json()) as {
        runs: NonNullable<typeof run>[];
      };
      run = body.runs[0];
      if (run && run.status !== "running") break;
      await new Promise((done) => setTimeout(done, 50));
    }
    const pathSeconds = (performance.now() - started) / 1000;
    if (run?.status !== "completed" || run.records !== issues)
      throw new Error(`the run did not complete: ${JSON.stringify(run)}\n${server.output().slice(-3000)}`);

    await server.stop();

    // The second baseline: the same number of queue hops in the same `wrangler dev`, doing
    // nothing else, so the path's overhead beyond its hops and its fetches is visible.
    const hopSeconds = await queueHops(run.pages);

    const baselineRate = issues / baselineSeconds;
    const pathRate = issues / pathSeconds;
    const ratio = Number((pathRate / baselineRate).toFixed(2));
    const perPage = (seconds: number) => Number(((seconds * 1000) / run.pages).toFixed(1));
    const overhead = perPage(pathSeconds - hopSeconds - baselineSeconds);
    // A page's fetch plus its hop, with no other work, against the fetch alone.
    const bound = Number((baselineSeconds / (baselineSeconds + hopSeconds)).toFixed(2));
    console.log(
      `plain loop:       ${Math.round(baselineRate)} records/s (${issues} records, ${run.pages} pages): ${perPage(baselineSeconds)} ms a page`,
    );
    console.log(
      `Sluice pull path: ${Math.round(pathRate)} records/s (one PULL queue hop per page, records to INGEST): ${perPage(pathSeconds)} ms a page`,
    );
    console.log(
      `queue hops alone: ${perPage(hopSeconds)} ms a hop, so one hop a page bounds the ratio at ${bound}; the path's own work beyond its hop and fetch: ${overhead} ms a page`,
    );
    console.log(`ratio ${ratio} (target ≥ 0.5)`);
    console.log(
      JSON.stringify({
        bench: "pull",
        ratio,
        records_per_s: Math.round(pathRate),
        baseline_records_per_s: Math.round(baselineRate),
        records: issues,
        pages: run.pages,
        ms_per_page: perPage(pathSeconds),
        baseline_ms_per_page: perPage(baselineSeconds),
        hop_ms: perPage(hopSeconds),
        ratio_bound_with_hops: bound,
        overhead_ms_per_page: overhead,
      }),
    );
  } finally {
    await server.stop();
    await api.close();
  }
}

/** Seconds for `n` sequential queue hops that do nothing else (bench/hops-worker.ts). */
async function queueHops(n: number): Promise<number> {
  const hops = await startDevServer({ vars: {}, configPath: "bench/wrangler.hops.toml", readyPath: "/ready", migrate: false });
  try {
    const run = async (chain: string) => {
      const started = performance.now();
      await fetch(`${hops.url}/start?n=${n}&chain=${chain}`, { method: "POST" });
      while (!((await (await fetch(`${hops.url}/status?chain=${chain}`)).json()) as { done: boolean }).done) {
        if (performance.now() - started > 120_000) throw new Error(`queue hops did not finish:\n${hops.output().slice(-2000)}`);
        await new Promise((done) => setTimeout(done, 50));
      }
      return (performance.now() - started) / 1000;
    };
    await run("warm");
    return await run("measured");
  } finally {
    await hops.stop();
  }
}
