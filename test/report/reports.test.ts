import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createRuntime } from "../../src/env.ts";
import { runModels } from "../../src/models/runner.ts";
import { adminToken, reportToken } from "../support/fixtures.ts";
import { deliver, recordMessage } from "../support/queue.ts";
import { call, origin } from "../support/worker.ts";

const get = (path: string, token?: string) =>
  call(new Request(`${origin}${path}`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }));

const errorOf = async (response: Response) => ((await response.json()) as { error: Record<string, string> }).error;

describe("reports: security", () => {
  it.each(["/v1/reports", "/v1/reports/events_per_day"])("answers %s without a token with 401", async (path) => {
    const response = await get(path);
    expect(response.status).toBe(401);
    expect(await errorOf(response)).toEqual({
      code: "unauthorized",
      message: "missing bearer token: send Authorization: Bearer <token>",
      requestId: response.headers.get("x-request-id"),
    });
  });

  it.each(["wrong-token", "test-report-token-x", "test-report-toke"])("answers a wrong token (%s) with 401", async (token) => {
    const response = await get("/v1/reports/events_per_day", token);
    expect(response.status).toBe(401);
    expect((await errorOf(response)).message).toBe("invalid bearer token");
  });

  it("rejects a non-Bearer scheme with 401", async () => {
    const response = await call(new Request(`${origin}/v1/reports`, { headers: { authorization: `Basic ${btoa("a:b")}` } }));
    expect(response.status).toBe(401);
  });

  it("answers 401 to everyone when REPORT_TOKENS and ADMIN_TOKENS are empty", async () => {
    const request = new Request(`${origin}/v1/reports`, { headers: { authorization: `Bearer ${reportToken}` } });
    const response = await call(request, { REPORT_TOKENS: "", ADMIN_TOKENS: "" });
    expect(response.status).toBe(401);
  });
});

describe("reports: errors", () => {
  it("answers an unknown report with 404 unknown_report", async () => {
    const response = await get("/v1/reports/nosuch", reportToken);
    expect(response.status).toBe(404);
    expect(await errorOf(response)).toMatchObject({ code: "unknown_report", message: 'no report named "nosuch"' });
  });

  it("does not treat inherited object keys as reports", async () => {
    expect((await get("/v1/reports/constructor", reportToken)).status).toBe(404);
    expect((await get("/v1/reports/__proto__", reportToken)).status).toBe(404);
  });
});

describe("reports: happy", () => {
  it("lists the declared reports", async () => {
    const response = await get("/v1/reports", reportToken);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { reports: { name: string }[] };
    expect(body.reports.map((r) => r.name)).toEqual(["daily_revenue", "open_issues", "events_per_day"]);
    expect(body.reports[2]).toEqual({
      name: "events_per_day",
      description: "Events received per day, with the number of distinct event types",
      model: "events_per_day",
      url: "/v1/reports/events_per_day",
    });
  });

  it("answers 503 model_not_built before the model's first run, then serves its rows", async () => {
    await env.DB.prepare('DROP TABLE IF EXISTS "events_per_day"').run();
    const early = await get("/v1/reports/events_per_day", reportToken);
    expect(early.status).toBe(503);
    expect(await errorOf(early)).toMatchObject({ code: "model_not_built" });

    await deliver([
      recordMessage("report-1", { type: "x" }, { receivedAt: "2002-03-04T05:06:07.000Z" }),
      recordMessage("report-2", { type: "y" }, { receivedAt: "2002-03-04T06:06:07.000Z" }),
    ]);
    const run = await runModels(createRuntime(env, "scheduled"), { trigger: "manual" });

    // The rotated second report token works as well as the first, and so does an admin token.
    for (const token of ["test-report-token-next", adminToken]) {
      const response = await get("/v1/reports/events_per_day", token);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { report: string; rows: Record<string, unknown>[]; meta: Record<string, unknown> };
      expect(body.report).toBe("events_per_day");
      expect(body.rows).toContainEqual({
        day: "2002-03-04",
        events: 2,
        event_types: 2,
        first_received_at: "2002-03-04T05:06:07.000Z",
        last_received_at: "2002-03-04T06:06:07.000Z",
      });
      const days = body.rows.map((row) => String(row.day));
      expect(days).toEqual([...days].sort().reverse());
      expect(body.meta).toMatchObject({
        columns: [
          { name: "day", type: "text" },
          { name: "events", type: "integer" },
          { name: "event_types", type: "integer" },
          { name: "first_received_at", type: "text" },
          { name: "last_received_at", type: "text" },
        ],
        row_count: body.rows.length,
        last_run: { run_id: run.runId },
      });
    }
  });
});

describe("health", () => {
  it("answers 200 when D1, R2 and both queues are bound and migrated", async () => {
    const response = await get("/v1/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: "ok",
      bindings: { DB: true, RAW: true, INGEST: true, PULL: true },
      migrations: true,
    });
  });

  it("answers 503 naming the missing binding", async () => {
    const response = await call(new Request(`${origin}/v1/health`), { PULL: undefined as unknown as Queue });
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ status: "unavailable", bindings: { PULL: false, DB: true } });
  });
});

describe("ops API", () => {
  it("lists the load ledger for an admin token", async () => {
    await deliver([recordMessage("ops-1", { a: 1 })]);
    const response = await get("/v1/loads?source=generic&limit=5", adminToken);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { loads: Record<string, unknown>[] };
    expect(body.loads.length).toBeGreaterThan(0);
    expect(body.loads.length).toBeLessThanOrEqual(5);
    expect(body.loads[0]).toMatchObject({ source: "generic", status: "loaded" });
  });

  it("refuses a report token with 401", async () => {
    expect((await get("/v1/loads", reportToken)).status).toBe(401);
  });

  it("rejects an out-of-range limit with 400 bad_request", async () => {
    const response = await get("/v1/loads?limit=0", adminToken);
    expect(response.status).toBe(400);
    expect((await errorOf(response)).code).toBe("bad_request");
  });

  it("shows a model run with its per-model results, and 404 for an unknown run", async () => {
    const run = await runModels(createRuntime(env, "scheduled"), { trigger: "manual" });
    const response = await get(`/v1/runs/${run.runId}`, adminToken);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { run: Record<string, unknown>; results: unknown[] };
    expect(body.run).toMatchObject({ runId: run.runId, status: "success", trigger: "manual" });
    // Every enabled, non-ephemeral node of the example project.
    const { getManifest } = await import("../../src/models/manifest.ts");
    expect(body.results).toHaveLength(getManifest().nodes.filter((n) => n.config.enabled && n.config.materialized !== "ephemeral").length);
    expect((await get("/v1/runs/run_nope", adminToken)).status).toBe(404);
  });
});
