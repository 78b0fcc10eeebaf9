import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import Papa from "papaparse";
import { beforeAll, describe, expect, it } from "vitest";
import { createRuntime } from "../../src/env.ts";
import { forgetLastRuns, setLastRunClock } from "../../src/models/last-run.ts";
import { runModels } from "../../src/models/runner.ts";
import { forgetRecentReports } from "../../src/report/recent.ts";
import { reportToken } from "../support/fixtures.ts";
import { deliver, recordMessage } from "../support/queue.ts";
import { call, handler, origin } from "../support/worker.ts";

const get = (path: string, headers: Record<string, string> = {}, overrides: Partial<Env> = {}) =>
  call(new Request(`${origin}${path}`, { headers: { authorization: `Bearer ${reportToken}`, ...headers } }), overrides);
const json = async (response: Response) =>
  (await response.json()) as { rows: Record<string, unknown>[]; meta: Record<string, unknown>; error: { code: string; message: string } };
/** One request through the Worker, returned once its `waitUntil` work (the Cache API's put) is done. */
async function fetchSettled(path: string, headers: Record<string, string> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await handler.fetch!(
    new Request(`${origin}${path}`, { headers: { authorization: `Bearer ${reportToken}`, ...headers } }) as never,
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

// Five days of events in the year 2040, so no other test's rows interleave.
beforeAll(async () => {
  const messages = [];
  for (let day = 1; day <= 5; day++) {
    for (let n = 0; n < day; n++)
      messages.push(recordMessage(`rep-${day}-${n}`, { type: `t${n % 2}` }, { receivedAt: `2040-01-0${day}T0${n}:00:00.000Z` }));
  }
  await deliver(messages);
  await runModels(createRuntime(env, "scheduled"), { trigger: "manual", select: ["+events_per_day", "+daily_revenue"] });
});

const range = "from=2040-01-01&to=2040-01-05";

describe("reports API: happy", () => {
  it("filters by typed params, sorts, and pages with an opaque keyset cursor", async () => {
    const first = await get(`/v1/reports/events_per_day?${range}&sort=day&limit=2`);
    expect(first.status).toBe(200);
    const page1 = await json(first);
    expect(page1.rows.map((r) => [r.day, r.events])).toEqual([
      ["2040-01-01", 1],
      ["2040-01-02", 2],
    ]);
    const cursor = page1.meta.next_cursor as string;
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(first.headers.get("link")).toBe(
      `</v1/reports/events_per_day?from=2040-01-01&to=2040-01-05&sort=day&limit=2&cursor=${cursor}>; rel="next"`,
    );

    const page2 = await json(await get(`/v1/reports/events_per_day?${range}&sort=day&limit=2&cursor=${cursor}`));
    expect(page2.rows.map((r) => r.day)).toEqual(["2040-01-03", "2040-01-04"]);
    const page3 = await json(await get(`/v1/reports/events_per_day?${range}&sort=day&limit=2&cursor=${page2.meta.next_cursor}`));
    expect(page3.rows.map((r) => r.day)).toEqual(["2040-01-05"]);
    expect(page3.meta.next_cursor).toBeNull();

    const desc = await json(await get(`/v1/reports/events_per_day?${range}&sort=-events&min_events=4`));
    expect(desc.rows.map((r) => r.events)).toEqual([5, 4]);
  });

  it("gives JSON meta: columns and types, row count, generated_at, last run and freshness", async () => {
    const body = await json(await get(`/v1/reports/events_per_day?${range}`));
    expect(body.meta).toMatchObject({
      columns: expect.arrayContaining([
        { name: "day", type: "text" },
        { name: "events", type: "integer" },
      ]),
      row_count: 5,
      last_run: { run_id: expect.stringMatching(/^run_/) },
      freshness: [expect.objectContaining({ source: "generic", table: "events" })],
    });
    expect(Date.parse(String(body.meta.generated_at))).toBeGreaterThan(0);
  });

  it("serves RFC 4180 CSV (format=csv or Accept: text/csv) and NDJSON", async () => {
    for (const request of [
      get(`/v1/reports/events_per_day?${range}&sort=day&format=csv`),
      get(`/v1/reports/events_per_day?${range}&sort=day`, { accept: "text/csv" }),
    ]) {
      const response = await request;
      expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8; header=present");
      const text = await response.text();
      expect(text.split("\r\n")[0]).toBe("day,events,event_types,first_received_at,last_received_at");
      const parsed = Papa.parse<string[]>(text.trim(), { header: false });
      expect(parsed.data.slice(1).map((r) => [r[0], r[1]])).toEqual([
        ["2040-01-01", "1"],
        ["2040-01-02", "2"],
        ["2040-01-03", "3"],
        ["2040-01-04", "4"],
        ["2040-01-05", "5"],
      ]);
    }
    const ndjson = await get(`/v1/reports/events_per_day?${range}&sort=day&format=ndjson`);
    expect(ndjson.headers.get("content-type")).toBe("application/x-ndjson");
    const lines = (await ndjson.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.events)).toEqual([1, 2, 3, 4, 5]);
  });

  it("answers If-None-Match with 304, and a rebuild changes the ETag", async () => {
    const first = await get(`/v1/reports/events_per_day?${range}`);
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(first.headers.get("cache-control")).toBe("private, max-age=60");
    const again = await get(`/v1/reports/events_per_day?${range}`, { "if-none-match": etag });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");

    await runModels(createRuntime(env, "scheduled"), { trigger: "manual", select: ["events_per_day"] });
    const rebuilt = await get(`/v1/reports/events_per_day?${range}`, { "if-none-match": etag });
    expect(rebuilt.status).toBe(200);
    expect(rebuilt.headers.get("etag")).not.toBe(etag);
  });

  it("serves a repeated request from the Workers cache, and a rebuild misses it", async () => {
    const path = `/v1/reports/events_per_day?${range}&limit=3`;
    expect((await fetchSettled(path)).headers.get("x-cache")).toBe("MISS");
    const hit = await fetchSettled(path);
    expect(hit.headers.get("x-cache")).toBe("HIT");
    expect(hit.headers.get("cache-control")).toBe("private, max-age=60");
    expect((await json(hit)).rows).toHaveLength(3);
    await runModels(createRuntime(env, "scheduled"), { trigger: "manual", select: ["events_per_day"] });
    expect((await fetchSettled(path)).headers.get("x-cache")).toBe("MISS");
  });

  it("keys the cache by format: one URL asked for as JSON and then as CSV gets each", async () => {
    const path = `/v1/reports/events_per_day?${range}&sort=day&limit=4`;
    const asJson = await get(path);
    expect(asJson.headers.get("content-type")).toBe("application/json");
    expect(asJson.headers.get("vary")).toContain("Accept");
    expect((await json(asJson)).rows).toHaveLength(4);
    const asCsv = await get(path, { accept: "text/csv" });
    expect(asCsv.headers.get("content-type")).toBe("text/csv; charset=utf-8; header=present");
    expect((await asCsv.text()).split("\r\n")[0]).toBe("day,events,event_types,first_received_at,last_received_at");
    expect(asCsv.headers.get("etag")).not.toBe(asJson.headers.get("etag"));
    // The JSON ETag does not validate the CSV representation.
    expect((await get(path, { accept: "text/csv", "if-none-match": asJson.headers.get("etag")! })).status).toBe(200);
  });

  it("answers from the Workers cache what this isolate no longer holds in memory", async () => {
    const path = `/v1/reports/events_per_day?${range}&sort=-day&limit=2`;
    const miss = await fetchSettled(path);
    expect(miss.headers.get("x-cache")).toBe("MISS");
    const missBody = await miss.text();
    forgetRecentReports();
    const fromCacheApi = await fetchSettled(path);
    expect(fromCacheApi.headers.get("x-cache")).toBe("HIT");
    expect(fromCacheApi.headers.get("etag")).toBe(miss.headers.get("etag"));
    expect(fromCacheApi.headers.get("content-type")).toBe("application/json");
    expect(fromCacheApi.headers.get("cache-control")).toBe("private, max-age=60");
    expect(await fromCacheApi.text()).toBe(missBody);
  });

  it("answers Cache-Control: no-cache afresh, and keeps nothing of a no-store answer", async () => {
    const cached = `/v1/reports/events_per_day?${range}&sort=day&limit=2`;
    expect((await fetchSettled(cached)).headers.get("x-cache")).toBe("MISS");
    expect((await fetchSettled(cached)).headers.get("x-cache")).toBe("HIT");
    const fresh = await fetchSettled(cached, { "cache-control": "no-cache" });
    expect(fresh.headers.get("x-cache")).toBe("MISS");
    expect((await json(fresh)).rows.map((r) => r.day)).toEqual(["2040-01-01", "2040-01-02"]);

    const unkept = `/v1/reports/events_per_day?${range}&sort=day&limit=3`;
    expect((await fetchSettled(unkept, { "cache-control": "no-cache, no-store" })).headers.get("x-cache")).toBe("MISS");
    // Neither the isolate's memory nor the Cache API kept it.
    expect((await fetchSettled(unkept)).headers.get("x-cache")).toBe("MISS");
    expect((await fetchSettled(unkept)).headers.get("x-cache")).toBe("HIT");
  });

  it("sees a rebuild finished by another isolate within a second", async () => {
    // The memo's clock, stepped by hand: nothing sleeps.
    let clock = Date.now();
    forgetLastRuns();
    setLastRunClock(() => clock);
    try {
      const path = `/v1/reports/events_per_day?${range}&limit=1`;
      const before = await json(await get(path));
      const lastRun = before.meta.last_run as { run_id: string };
      // Another isolate's run, as D1 holds it: this isolate did not run it, so nothing told it.
      const runId = `run_other_isolate_${Date.now()}`;
      await env.DB.prepare(
        `INSERT INTO _sluice_model_results (run_id, unique_id, resource_type, status, execution_ms, started_at, finished_at)
         SELECT ?1, unique_id, resource_type, status, execution_ms, started_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         FROM _sluice_model_results WHERE run_id = ?2 AND unique_id = 'model.sluice.events_per_day'`,
      )
        .bind(runId, lastRun.run_id)
        .run();
      clock += 999;
      expect((await json(await get(path))).meta.last_run).toMatchObject({ run_id: lastRun.run_id });
      clock += 1;
      expect((await json(await get(path))).meta.last_run).toMatchObject({ run_id: runId });
    } finally {
      setLastRunClock();
    }
  });

  it("allows the configured CORS origin", async () => {
    const response = await get(`/v1/reports/events_per_day?${range}`, { origin: "http://localhost:3000" });
    expect(response.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    const other = await get(`/v1/reports/events_per_day?${range}`, { origin: "https://evil.example" });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("reports API: errors", () => {
  it.each([
    ["an unknown parameter", "events_per_day?colour=red", 'unknown parameter "colour"'],
    ["a date that is not a date", "events_per_day?from=yesterday", 'parameter "from"'],
    ["an int out of range", "events_per_day?min_events=-1", 'parameter "min_events"'],
    ["an int of the wrong type", "events_per_day?min_events=lots", 'parameter "min_events"'],
    ["an undeclared sort column", "events_per_day?sort=first_received_at", 'cannot sort by "first_received_at"'],
    ["a limit over the report's", "events_per_day?limit=5000", 'parameter "limit" must be an integer from 1 to 1000'],
    ["a limit of zero", "events_per_day?limit=0", 'parameter "limit"'],
    ["a forged cursor", "events_per_day?cursor=bm90LWEtY3Vyc29y", 'parameter "cursor"'],
    ["an unknown format", "events_per_day?format=xml", 'parameter "format"'],
    ["a repeated parameter", "events_per_day?from=2040-01-01&from=2040-01-02", 'parameter "from" is given more than once'],
    ["a filter value its schema refuses", "daily_revenue?currency=US", 'parameter "currency": a three-letter ISO currency code'],
  ])("answers %s with 400 naming it", async (_, path, message) => {
    const response = await get(`/v1/reports/${path}`);
    expect(response.status).toBe(400);
    const body = await json(response);
    expect(body.error.code).toBe("bad_request");
    expect(body.error.message).toContain(message);
  });
});

describe("reports API: security", () => {
  it("never puts request text into the SQL: values are bound, identifiers come from the declaration", async () => {
    const statements: string[] = [];
    const recording = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "prepare") {
          return (sql: string) => {
            statements.push(sql);
            return target.prepare(sql);
          };
        }
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const hostile = "usd' OR 1=1; DROP TABLE daily_revenue; --";
    const refused = await get(`/v1/reports/daily_revenue?currency=${encodeURIComponent(hostile)}&sort=-revenue`, {}, { DB: recording });
    expect(refused.status).toBe(400);
    expect((await json(refused)).error).toMatchObject({
      code: "bad_request",
      message: 'parameter "currency": a three-letter ISO currency code, such as usd',
    });
    const hostileDate = await get(`/v1/reports/daily_revenue?from=${encodeURIComponent("2040-01-01' OR 1=1 --")}`, {}, { DB: recording });
    expect(hostileDate.status).toBe(400);
    // Values that pass travel as bound parameters: the statement holds placeholders, never them.
    // A currency code in capitals is read as Stripe writes it.
    const response = await get(`/v1/reports/daily_revenue?currency=USD&from=2040-01-01&sort=-revenue`, {}, { DB: recording });
    expect(response.status).toBe(200);
    for (const sql of statements) {
      expect(sql).not.toContain("DROP");
      expect(sql).not.toContain("OR 1=1");
      expect(sql.toLowerCase()).not.toContain("usd");
      expect(sql).not.toContain("2040-01-01");
    }
    expect(statements.some((sql) => sql.startsWith('SELECT * FROM "daily_revenue" WHERE "day" >= ?1 AND "currency" = ?2'))).toBe(true);
    const sortInjection = await get(`/v1/reports/daily_revenue?sort=${encodeURIComponent("revenue; DROP TABLE x")}`);
    expect(sortInjection.status).toBe(400);
  });

  it("answers a valid token outside its scope with 403, and lists only the reports in scope", async () => {
    const scoped = { authorization: "Bearer test-scoped-token" };
    expect((await get(`/v1/reports/events_per_day?${range}`, scoped)).status).toBe(200);
    const denied = await get("/v1/reports/daily_revenue", scoped);
    expect(denied.status).toBe(403);
    expect((await json(denied)).error).toMatchObject({ code: "forbidden", message: 'this token may not read the report "daily_revenue"' });
    const list = (await (await get("/v1/reports", scoped)).json()) as { reports: { name: string }[] };
    expect(list.reports.map((r) => r.name)).toEqual(["events_per_day"]);
  });

  it("answers a missing or wrong token with 401, and an unknown report with 404", async () => {
    expect((await call(new Request(`${origin}/v1/reports/events_per_day`))).status).toBe(401);
    expect((await get("/v1/reports/events_per_day", { authorization: "Bearer test-scoped-token@events_per_day" })).status).toBe(401);
    expect((await get("/v1/reports/nosuch")).status).toBe(404);
  });
});
