import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { linkNext } from "../../src/pull/paginate.ts";
import { startPull } from "../../src/pull/planner.ts";
import { jitteredBackoff, retryAfterSeconds } from "../../src/pull/request.ts";
import { rows } from "../support/pipeline.ts";
import { fakeApi, pullRuntime, pump } from "../support/pump.ts";

type Request = { path: string; query: Record<string, string> };
const requests = async (path: string) => ((await fakeApi("/__admin/requests")) as Request[]).filter((r) => r.path.startsWith(path));
const lastRun = async (source: string, stream: string) =>
  (
    await rows<Record<string, unknown>>(
      "SELECT * FROM _sluice_pull_runs WHERE source = ?1 AND stream = ?2 ORDER BY started_at DESC LIMIT 1",
      source,
      stream,
    )
  )[0]!;

/** One manual pull of GitHub issues with the fake API's faults set, run to its end. */
const issuesRunWith = async (faults: unknown[]) => {
  await fakeApi("/__admin/faults", faults);
  const p = pullRuntime();
  await startPull(p.runtime, "github_api", "issues", "manual");
  await pump(p);
  return { p, run: await lastRun("github_api", "issues") };
};

const clean = async () => {
  await fakeApi("/__admin/reset", { issues: 250 });
  for (const table of ["_sluice_pull_runs", "_sluice_pull_state", "_sluice_pull_leases"])
    await env.DB.prepare(`DELETE FROM ${table}`).run();
  await env.DB.prepare("DROP TABLE IF EXISTS raw_github_api__issues").run();
  await env.DB.prepare("DELETE FROM _sluice_loads WHERE source = 'github_api'").run();
};

beforeEach(clean);

describe("GitHub issues: Link paging, since, merge by id", () => {
  it("loads every issue exactly once, as typed columns, and commits the cursor when the run completes", async () => {
    const p = pullRuntime();
    const started = await startPull(p.runtime, "github_api", "issues", "manual");
    expect(started.started).toBe(true);
    await pump(p);

    const [count] = await rows<{ n: number; d: number }>("SELECT count(*) AS n, count(DISTINCT id) AS d FROM raw_github_api__issues");
    expect(count).toEqual({ n: 250, d: 250 });
    const [one] = await rows("SELECT id, number, title, state, updated_at FROM raw_github_api__issues WHERE number = 1");
    expect(one).toEqual({ id: 1000, number: 1, title: "Issue 1", state: "closed", updated_at: "2026-01-01T00:00:00Z" });

    expect(await lastRun("github_api", "issues")).toMatchObject({
      status: "completed",
      pages: 3,
      records: 250,
      cursor_max: "2026-01-01T04:09:00Z",
    });
    const [state] = await rows("SELECT cursor FROM _sluice_pull_state WHERE source = 'github_api' AND stream = 'issues'");
    expect(state).toEqual({ cursor: "2026-01-01T04:09:00Z" });
    const first = (await requests("/repos/acme/widgets/issues"))[0]!;
    expect(first.query).toMatchObject({ state: "all", per_page: "100", since: "2019-12-31T23:55:00Z" });
    // Next links are followed as given, never with params added twice.
    expect((await requests("/repos/acme/widgets/issues")).map((r) => r.query.page ?? "1")).toEqual(["1", "2", "3"]);
  });

  it("reconciles: every pulled record accounted for", async () => {
    const p = pullRuntime();
    await startPull(p.runtime, "github_api", "issues", "manual");
    await pump(p);
    const { reconcile } = await import("../../src/load/reconcile.ts");
    const balance = (await reconcile(p.runtime)).streams.find((s) => s.source === "github_api" && s.stream === "issues");
    expect(balance).toMatchObject({ accepted: 250, processed: 250, loaded: 250, in_flight: 0, rows: 250, adds_up: true });
  });

  it("a second run fetches only what changed since the cursor, plus the lookback, and updates rows in place", async () => {
    const p = pullRuntime();
    await startPull(p.runtime, "github_api", "issues", "manual");
    await pump(p);
    await fakeApi("/__admin/touch", { numbers: [5, 6, 7], at: "2026-02-01T00:00:00Z" });
    const before = (await requests("/repos")).length;

    const again = pullRuntime();
    await startPull(again.runtime, "github_api", "issues", "cron");
    await pump(again);
    const second = (await requests("/repos")).slice(before);
    // since = cursor (04:09) minus the 300 s lookback.
    expect(second[0]!.query.since).toBe("2026-01-01T04:04:00Z");
    const run = await lastRun("github_api", "issues");
    // 3 edited issues, plus the 6 whose updated_at falls in the lookback window (04:04–04:09).
    expect(run).toMatchObject({ status: "completed", records: 9, pages: 1 });
    expect(await rows("SELECT count(*) AS n FROM raw_github_api__issues")).toEqual([{ n: 250 }]);
    expect(await rows("SELECT updated_at FROM raw_github_api__issues WHERE number = 5")).toEqual([{ updated_at: "2026-02-01T00:00:00Z" }]);
    expect(await rows("SELECT cursor FROM _sluice_pull_state WHERE stream = 'issues'")).toEqual([{ cursor: "2026-02-01T00:00:00Z" }]);
  });

  it("a run killed at page 2 keeps the old cursor, and the next run resumes at page 2", async () => {
    await fakeApi("/__admin/faults", [{ path: "/repos", page: 2, status: 401, times: 1 }]);
    const p = pullRuntime();
    await startPull(p.runtime, "github_api", "issues", "manual");
    await pump(p);
    const failed = await lastRun("github_api", "issues");
    expect(failed).toMatchObject({ status: "failed", pages: 1, records: 100 });
    expect(String(failed.error)).toMatch(/^HTTP 401: the API refused the credentials/);
    expect(await rows("SELECT * FROM _sluice_pull_state")).toEqual([]);
    expect(await rows("SELECT * FROM _sluice_pull_leases")).toEqual([]);

    const before = (await requests("/repos")).length;
    const resumed = pullRuntime();
    const outcome = await startPull(resumed.runtime, "github_api", "issues", "cron");
    expect(outcome).toMatchObject({ started: true, resumedFrom: failed.run_id });
    await pump(resumed);
    const after = (await requests("/repos")).slice(before);
    expect(after.map((r) => r.query.page)).toEqual(["2", "3"]);
    expect(await lastRun("github_api", "issues")).toMatchObject({ status: "completed", trigger: "resume" });
    expect(await rows("SELECT count(*) AS n, count(DISTINCT id) AS d FROM raw_github_api__issues")).toEqual([{ n: 250, d: 250 }]);
  });

  it("a cron that fires during a run starts no second run", async () => {
    const p = pullRuntime();
    const first = await startPull(p.runtime, "github_api", "issues", "cron");
    const second = await startPull(p.runtime, "github_api", "issues", "cron");
    expect(second).toEqual({
      started: false,
      reason: "a run of this stream is already active",
      runId: first.started ? first.run.runId : "",
    });
    expect(p.pull.pending).toHaveLength(1);
    await pump(p);
    expect(await rows("SELECT count(*) AS n FROM _sluice_pull_runs")).toEqual([{ n: 1 }]);
  });

  it("follows a short page in the middle to the end, since the next link says there is more", async () => {
    await fakeApi("/__admin/faults", [{ path: "/repos", page: 2, shortPage: 10, times: 1 }]);
    const p = pullRuntime();
    await startPull(p.runtime, "github_api", "issues", "manual");
    await pump(p);
    expect(await lastRun("github_api", "issues")).toMatchObject({ status: "completed", pages: 3, records: 160 });
  });

  it("stops with an error when a next link points to itself", async () => {
    const { run } = await issuesRunWith([{ path: "/repos", page: 2, selfLink: true, times: 5 }]);
    expect(run).toMatchObject({ status: "failed", pages: 1 });
    expect(run.error).toBe("paginator loop: page 2 links to itself");
  });

  it("adds a column when a new field appears on page 3", async () => {
    await fakeApi("/__admin/reset", { issues: 250, newFieldFromPage: 3 });
    const p = pullRuntime();
    await startPull(p.runtime, "github_api", "issues", "manual");
    await pump(p);
    const columns = await rows<{ name: string }>("SELECT name FROM pragma_table_info('raw_github_api__issues')");
    expect(columns.map((c) => c.name)).toContain("milestone_title");
    expect(await rows("SELECT count(milestone_title) AS n FROM raw_github_api__issues")).toEqual([{ n: 50 }]);
  });

  it("retries 500 twice, then succeeds, with every issue loaded once", async () => {
    const { p, run } = await issuesRunWith([{ path: "/repos", page: 2, status: 500, times: 2 }]);
    expect(p.delays).toHaveLength(2);
    expect(run).toMatchObject({ status: "completed", records: 250 });
    expect(await rows("SELECT count(*) AS n FROM raw_github_api__issues")).toEqual([{ n: 250 }]);
  });

  it("fails the run once 5xx retries run out, keeping the page to resume from", async () => {
    const { run } = await issuesRunWith([{ path: "/repos", page: 2, status: 502, times: 50 }]);
    expect(run).toMatchObject({ status: "failed", pages: 1 });
    expect(run.error).toBe("HTTP 502, and still failing after 5 retries");
    expect(JSON.parse(String(run.next_page))).toMatchObject({ page: 2 });
  });
});

describe("429 and Retry-After", () => {
  it.each([
    ["2", () => "2", (d: number) => d === 2],
    ["0 (backoff with jitter)", () => "0", (d: number) => d >= 1 && d <= 2],
    ["an HTTP date 7 s ahead", () => new Date(Date.now() + 7_000).toUTCString(), (d: number) => d >= 5 && d <= 8],
  ])("Retry-After: %s sets the retry delay", async (_, retryAfter, ok) => {
    await fakeApi("/__admin/faults", [{ path: "/repos", page: 1, status: 429, retryAfter: retryAfter(), times: 1 }]);
    const p = pullRuntime();
    await startPull(p.runtime, "github_api", "issues", "manual");
    await pump(p);
    expect(p.delays).toHaveLength(1);
    expect(ok(p.delays[0]!)).toBe(true);
    expect(await lastRun("github_api", "issues")).toMatchObject({ status: "completed", records: 250 });
  });

  it("parses Retry-After as seconds or an HTTP date, and treats 0 or garbage as absent", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(retryAfterSeconds("30", now)).toBe(30);
    expect(retryAfterSeconds("0", now)).toBeUndefined();
    expect(retryAfterSeconds(null, now)).toBeUndefined();
    expect(retryAfterSeconds("soon", now)).toBeUndefined();
    expect(retryAfterSeconds("Thu, 01 Jan 2026 00:01:00 GMT", now)).toBe(60);
    for (let attempt = 1; attempt <= 6; attempt++) {
      const d = jitteredBackoff(attempt);
      expect(d).toBeGreaterThanOrEqual(1);
      expect(d).toBeLessThanOrEqual(2 ** attempt);
    }
  });
});

describe("other paginators", () => {
  const base = (paginator: object, path: string, dataSelector: string, params: Record<string, number> = {}) => ({
    fake: {
      kind: "rest" as const,
      baseUrl: { var: "FAKE_API_URL" },
      auth: { type: "bearer" as const, token: "GITHUB_TOKEN" },
      resources: { items: { path, params, dataSelector, paginator: paginator as never, primaryKey: ["id"], schedule: "0 * * * *" } },
    },
  });

  it.each([
    ["offset with a total", base({ type: "offset", limit: 20, totalPath: "total" }, "/offset/items", "items"), 5],
    [
      "page numbers with total pages",
      base({ type: "page_number", totalPagesPath: "total_pages" }, "/pages/items", "items", { per_page: 20 }),
      5,
    ],
    ["page numbers until an empty page", base({ type: "page_number" }, "/pages/items", "items", { per_page: 20 }), 6],
  ])("%s loads all 95 items", async (_, pulls, pages) => {
    await env.DB.prepare("DROP TABLE IF EXISTS raw_fake__items").run();
    await env.DB.prepare("DELETE FROM _sluice_pull_leases").run();
    const p = pullRuntime(pulls);
    await startPull(p.runtime, "fake", "items", "manual");
    await pump(p);
    expect(await rows("SELECT count(*) AS n, count(DISTINCT id) AS d FROM raw_fake__items")).toEqual([{ n: 95, d: 95 }]);
    expect(await lastRun("fake", "items")).toMatchObject({ status: "completed", pages, records: 95 });
  });

  it("Stripe's has_more and starting_after load every customer", async () => {
    await env.DB.prepare("DROP TABLE IF EXISTS raw_stripe_api__customers").run();
    const p = pullRuntime();
    await startPull(p.runtime, "stripe_api", "customers", "manual");
    await pump(p);
    expect(await rows("SELECT count(*) AS n, count(DISTINCT id) AS d FROM raw_stripe_api__customers")).toEqual([{ n: 230, d: 230 }]);
    expect(await lastRun("stripe_api", "customers")).toMatchObject({ status: "completed", pages: 3 });
    const after = (await requests("/v1/customers")).map((r) => r.query.starting_after ?? null);
    expect(after).toEqual([null, "cus_00099", "cus_00199"]);
  });

  it("reads RFC 8288 Link headers", () => {
    expect(linkNext('<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last"')).toBe(
      "https://api.github.com/x?page=2",
    );
    expect(linkNext('<https://a/x?page=4>; rel="prev", <https://a/x?page=5>; rel="last"')).toBeUndefined();
    expect(linkNext('<https://a/b>; rel="next last"')).toBe("https://a/b");
    expect(linkNext(null)).toBeUndefined();
  });
});

describe("ops API", () => {
  it("POST /v1/pulls/:source/:stream/run starts a run, a second answers 409, and GET /v1/pulls lists it", async () => {
    const { call, origin } = await import("../support/worker.ts");
    const { adminToken } = await import("../support/fixtures.ts");
    const p = pullRuntime();
    const auth = { authorization: `Bearer ${adminToken}` };
    const start = await call(new Request(`${origin}/v1/pulls/github_api/issues/run`, { method: "POST", headers: auth }), {
      PULL: p.pull as unknown as Queue,
    });
    expect(start.status).toBe(202);
    const started = (await start.json()) as { runId: string };
    const again = await call(new Request(`${origin}/v1/pulls/github_api/issues/run`, { method: "POST", headers: auth }), {
      PULL: p.pull as unknown as Queue,
    });
    expect(again.status).toBe(409);
    const list = await call(new Request(`${origin}/v1/pulls`, { headers: auth }));
    const body = (await list.json()) as { runs: Record<string, unknown>[] };
    expect(body.runs[0]).toMatchObject({ runId: started.runId, source: "github_api", stream: "issues", status: "running", nextPage: 1 });
    const unknown = await call(new Request(`${origin}/v1/pulls/nope/x/run`, { method: "POST", headers: auth }));
    expect(unknown.status).toBe(404);
  });

  it("POST /v1/replay replays a pull source from its raw zone, as the dashboard's button does", async () => {
    const { call, origin } = await import("../support/worker.ts");
    const { adminToken } = await import("../support/fixtures.ts");
    // Only this run's raw objects: earlier tests in this file pulled other versions of the issues.
    const earlier = await env.RAW.list({ prefix: "raw/github_api/" });
    await env.RAW.delete(earlier.objects.map((o) => o.key));
    const p = pullRuntime();
    await startPull(p.runtime, "github_api", "issues", "manual");
    await pump(p);
    const before = await rows("SELECT id, number, title, state, updated_at FROM raw_github_api__issues ORDER BY id");
    expect(before).toHaveLength(250);
    await env.DB.prepare("DELETE FROM raw_github_api__issues").run();

    // Raw objects are keyed by when they landed: today.
    const today = new Date().toISOString().slice(0, 10);
    const replay = await call(
      new Request(`${origin}/v1/replay`, {
        method: "POST",
        headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
        body: JSON.stringify({ source: "github_api", from: `${today}T00:00:00Z`, to: `${today}T23:59:59Z` }),
      }),
      { INGEST: p.ingest as unknown as Queue },
    );
    expect(replay.status).toBe(202);
    expect(await replay.json()).toEqual({ queued: 1, tasks: [{ source: "github_api", stream: "issues", day: today }] });
    // The day task lists the run's raw objects and queues one task each; each loads its records again.
    await pump(p);
    expect(await rows("SELECT id, number, title, state, updated_at FROM raw_github_api__issues ORDER BY id")).toEqual(before);
    const kinds = await rows(
      "SELECT kind, sum(records) AS records FROM _sluice_loads WHERE source = 'github_api' GROUP BY kind ORDER BY kind",
    );
    expect(kinds).toEqual([
      { kind: "ingest", records: 250 },
      { kind: "replay", records: 250 },
    ]);
  });
});

describe("review regressions", () => {
  const capped = {
    capped: {
      kind: "rest" as const,
      baseUrl: { var: "FAKE_API_URL" },
      auth: { type: "bearer" as const, token: "GITHUB_TOKEN" },
      limits: { maxPagesPerRun: 2 },
      resources: {
        items: {
          path: "/pages/items",
          params: { per_page: 20 },
          dataSelector: "items",
          paginator: { type: "page_number" as const },
          primaryKey: ["id"],
          schedule: "0 * * * *",
        },
      },
    },
  };

  it("a run stopped by maxPagesPerRun resumes with a fresh page budget and completes", async () => {
    await env.DB.prepare("DROP TABLE IF EXISTS raw_capped__items").run();
    for (let start = 0; start < 3; start++) {
      const p = pullRuntime(capped);
      await startPull(p.runtime, "capped", "items", "cron");
      await pump(p);
    }
    const runs = await rows("SELECT status, trigger, pages, error FROM _sluice_pull_runs WHERE source = 'capped' ORDER BY started_at");
    expect(runs).toEqual([
      { status: "failed", trigger: "cron", pages: 2, error: "stopped after 2 pages (limits.maxPagesPerRun)" },
      { status: "failed", trigger: "resume", pages: 4, error: "stopped after 2 pages (limits.maxPagesPerRun)" },
      { status: "completed", trigger: "resume", pages: 6, error: null },
    ]);
    expect(await rows("SELECT count(*) AS n FROM raw_capped__items")).toEqual([{ n: 95 }]);
  });
});
