/**
 * `npm run bench -- pull`: 10,000 GitHub issues (100 pages of 100) from the local fake API into
 * D1, through Sluice's production bundle in workerd, against its floor (bench/pull-floor-worker.ts):
 * a Worker consumer in the same workerd doing fetch → `INGEST.sendBatch` → a one-row checkpoint,
 * hopping to a new task as often as Sluice's default budget does, its records loaded by Sluice's
 * own ingest consumer. Both clocks stop when the last row is in D1 (the raw table's count), not
 * when the records are queued. Both sides keep the same request rate, set high in the bench's own
 * copy of the example config (and passed to the floor), so the limit is not what is measured.
 *
 * Sluice, the floor, the floor loading in its pull consumer (`direct`: the measurement behind
 * whether small pages should skip `INGEST`) and a plain fetch loop in Node alternate for
 * BENCH_ROUNDS rounds (5 by default; Sluice and its floor take turns to go first) after a warm-up
 * round; medians are reported. The fetch loop neither loads nor runs in workerd: it is printed
 * for reference only.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyCheckout } from "../scripts/lib/dev-server.ts";
import { startWorkerd } from "../scripts/lib/workerd-server.ts";
import { getConfig } from "../src/config/index.ts";
import { pagesPerTask } from "../src/pull/budget.ts";
import { linkNext } from "../src/pull/paginate.ts";
import { seedIssues, startFakeApi } from "../test/support/fake-api.ts";
import { adminToken, testSecrets } from "../test/support/fixtures.ts";
import { median } from "./lib/phases.ts";

const issues = Number(process.env.BENCH_ISSUES ?? 10_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
/** Records a page (`per_page`), for both sides: small pages with BENCH_PER_PAGE=10. */
const perPage = Number(process.env.BENCH_PER_PAGE ?? 100);
/** Requests a second to the fake API, for both sides. */
const rate = 10_000;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

export async function main(): Promise<void> {
  const api = await startFakeApi({ issues: seedIssues(issues) });
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-pull-"));
  const checkout = copyCheckout(dir);
  const configFile = join(checkout, "pipeline", "sluice.config.ts");
  const example = readFileSync(configFile, "utf8");
  const limited = "limits: { requestsPerSecond: 10, maxPagesPerRun: 500 }";
  if (!example.includes(limited)) throw new Error(`pipeline/sluice.config.ts no longer sets ${limited}; update the bench`);
  const paged = 'params: { state: "all", per_page: 100,';
  if (!example.includes(paged)) throw new Error(`pipeline/sluice.config.ts no longer sets ${paged}; update the bench`);
  writeFileSync(
    configFile,
    example
      .replace(limited, `limits: { requestsPerSecond: ${rate}, maxPagesPerRun: 5000 }`)
      .replace(paged, `params: { state: "all", per_page: ${perPage},`),
  );

  const vars = {
    ...testSecrets,
    SLUICE_ENV: "local",
    LOG_LEVEL: "warn",
    GITHUB_API_URL: api.url,
    GITHUB_REPO: "acme/widgets",
    GITHUB_TOKEN: "fake-token",
    STRIPE_API_URL: api.url,
    STRIPE_API_KEY: "fake-token",
  };
  const server = await startWorkerd({
    vars,
    checkout,
    companions: [{ name: "floor", configPath: "bench/wrangler.pull-floor.toml", vars }],
  });
  const floor = await server.companion("floor");
  const budget = getConfig().pulls.github_api!.budget;
  const hop = pagesPerTask(budget);
  const firstUrl = `${api.url}/repos/acme/widgets/issues?state=all&per_page=${perPage}&sort=updated&direction=asc&since=2019-12-31T23:55:00Z`;
  const admin = { authorization: `Bearer ${adminToken}` };

  /** Seconds from `started` until the raw table holds every issue. */
  const rowsLoaded = async (started: number, what: string) => {
    for (;;) {
      const { rows } = (await (await floor.fetch("http://floor/rows")).json()) as { rows: number };
      if (rows >= issues) return (performance.now() - started) / 1000;
      if (performance.now() - started > 300_000) throw new Error(`${what}: ${rows} of ${issues} rows after 300 s`);
      await sleep(10);
    }
  };
  const reset = async () => {
    const response = await floor.fetch("http://floor/reset", { method: "POST" });
    if (!response.ok) throw new Error(`reset failed: ${response.status} ${await response.text()}`);
  };

  const sluice = async () => {
    await reset();
    const started = performance.now();
    const start = await fetch(`${server.url}/v1/pulls/github_api/issues/run`, { method: "POST", headers: admin });
    if (start.status !== 202) throw new Error(`could not start the run: ${start.status} ${await start.text()}`);
    const seconds = await rowsLoaded(started, "Sluice");
    const { runs } = (await (await fetch(`${server.url}/v1/pulls?limit=1`, { headers: admin })).json()) as {
      runs: { status: string; pages: number; records: number }[];
    };
    if (runs[0]?.status !== "completed" || runs[0].records !== issues)
      throw new Error(`the run did not complete: ${JSON.stringify(runs[0])}`);
    return { seconds, pages: runs[0].pages };
  };
  let floorRuns = 0;
  const floorRun = async (direct: boolean) => {
    await reset();
    const started = performance.now();
    const query = new URLSearchParams({
      run: `floor-${++floorRuns}`,
      url: firstUrl,
      hop: String(hop),
      rate: String(rate),
      direct: direct ? "1" : "0",
    });
    const start = await floor.fetch(`http://floor/start?${query}`, { method: "POST" });
    if (start.status !== 202) throw new Error(`could not start the floor: ${start.status}`);
    return rowsLoaded(started, direct ? "floor (direct)" : "floor");
  };
  const fetchLoop = async () => {
    const started = performance.now();
    let url: string | undefined = firstUrl;
    let fetched = 0;
    while (url) {
      const response: Response = await fetch(url, { headers: { authorization: "Bearer fake-token", accept: "application/json" } });
      fetched += ((await response.json()) as unknown[]).length;
      url = linkNext(response.headers.get("link"));
    }
    if (fetched !== issues) throw new Error(`the fetch loop fetched ${fetched} of ${issues}`);
    return (performance.now() - started) / 1000;
  };

  try {
    // Warm-up: each path once (isolates, bundles, the raw table and its indexes).
    await sluice();
    await floorRun(false);
    await floorRun(true);
    await fetchLoop();
    const times = { sluice: [] as number[], floor: [] as number[], direct: [] as number[], loop: [] as number[] };
    let pages = 0;
    for (let round = 1; round <= rounds; round++) {
      // Sluice first in odd rounds, the floor first in even ones, so a machine that speeds up or
      // slows down during the run favours neither.
      const sluiceRun = async () => {
        const s = await sluice();
        pages = s.pages;
        times.sluice.push(s.seconds);
      };
      const floorTimed = async () => void times.floor.push(await floorRun(false));
      if (round % 2) await sluiceRun().then(floorTimed);
      else await floorTimed().then(sluiceRun);
      times.direct.push(await floorRun(true));
      times.loop.push(await fetchLoop());
      const ms = (seconds: number) => `${Math.round(seconds * 1000)} ms`;
      console.log(
        `round ${round}: Sluice ${ms(times.sluice.at(-1)!)}, floor ${ms(times.floor.at(-1)!)}, floor loading in the pull consumer ${ms(times.direct.at(-1)!)}, fetch loop ${ms(times.loop.at(-1)!)}`,
      );
    }
    const m = { sluice: median(times.sluice), floor: median(times.floor), direct: median(times.direct), loop: median(times.loop) };
    const msPerPage = (seconds: number) => Number(((seconds * 1000) / pages).toFixed(2));
    const ratio = (a: number, b: number) => Number((a / b).toFixed(2));
    console.log(`medians of ${rounds} rounds, ${issues} records in ${pages} pages, until the last row is in D1:`);
    console.log(`  Sluice: ${msPerPage(m.sluice)} ms a page (pages stream within a task; a new task after ${hop} pages)`);
    console.log(`  floor (fetch → INGEST.sendBatch → one-row checkpoint, a hop every ${hop} pages): ${msPerPage(m.floor)} ms a page`);
    console.log(`  floor loading each page in the pull consumer, without INGEST: ${msPerPage(m.direct)} ms a page`);
    console.log(`  plain fetch loop in Node (reference only: no load, not in workerd): ${msPerPage(m.loop)} ms a page`);
    console.log(`ratio_to_floor ${ratio(m.floor, m.sluice)} (target ≥ 0.7)`);
    console.log(
      JSON.stringify({
        bench: "pull",
        ratio_to_floor: ratio(m.floor, m.sluice),
        ratio_to_fetch_loop: ratio(m.loop, m.sluice),
        records: issues,
        pages,
        records_per_page: perPage,
        rounds,
        pages_per_task: hop,
        ms_per_page: msPerPage(m.sluice),
        floor_ms_per_page: msPerPage(m.floor),
        direct_load_ms_per_page: msPerPage(m.direct),
        direct_load_speedup_over_ingest: ratio(m.floor, m.direct),
        fetch_loop_ms_per_page: msPerPage(m.loop),
        records_per_s: Math.round(issues / m.sluice),
        floor_records_per_s: Math.round(issues / m.floor),
      }),
    );
  } finally {
    await server.stop();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
