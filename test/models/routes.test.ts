import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { adminToken } from "../support/fixtures.ts";
import { deliver, recordMessage } from "../support/queue.ts";
import { call, origin } from "../support/worker.ts";

const admin = (path: string, init: RequestInit = {}) =>
  call(
    new Request(`${origin}${path}`, { ...init, headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" } }),
  );

describe("models ops API", () => {
  it("POST /v1/models/build with an empty body builds everything and answers run_results", async () => {
    await deliver([recordMessage("route-1", { type: "t" })]);
    const response = await admin("/v1/models/build", { method: "POST", body: "{}" });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      run_id: string;
      status: string;
      results: { unique_id: string; status: string; adapter_response: unknown }[];
    };
    expect(body.status).toBe("success");
    expect(body.results.map((r) => [r.unique_id, r.status])).toEqual(
      expect.arrayContaining([
        ["model.sluice.stg_generic__events", "success"],
        ["model.sluice.events_per_day", "success"],
        ["test.sluice.unique_events_per_day_day.ba076cda56", "pass"],
        ["test.sluice.source_unique_generic_events__sluice_key.0d014ba291", "pass"],
      ]),
    );
    const run = await admin(`/v1/runs/${body.run_id}`);
    expect(((await run.json()) as { results: unknown[] }).results).toHaveLength(body.results.length);
  });

  it("builds a selection, and rejects a bad selector or body with 400", async () => {
    const response = await admin("/v1/models/build", {
      method: "POST",
      body: JSON.stringify({ select: "stg_generic__events", command: "run" }),
    });
    const body = (await response.json()) as { results: { unique_id: string }[] };
    expect(body.results.map((r) => r.unique_id)).toEqual(["model.sluice.stg_generic__events"]);
    expect((await admin("/v1/models/build", { method: "POST", body: JSON.stringify({ select: "nosuchmethod:x" }) })).status).toBe(400);
    expect((await admin("/v1/models/build", { method: "POST", body: JSON.stringify({ full_refresh: "yes" }) })).status).toBe(400);
  });

  it("GET /v1/models lists nodes with config, tests and last status", async () => {
    await admin("/v1/models/build", { method: "POST", body: "{}" });
    const body = (await (await admin("/v1/models")).json()) as {
      nodes: { unique_id: string; tests: string[]; last_status: string | null; config: { materialized: string } }[];
    };
    const model = body.nodes.find((n) => n.unique_id === "model.sluice.events_per_day")!;
    expect(model.config.materialized).toBe("table");
    expect(model.tests).toEqual(expect.arrayContaining(["test.sluice.unique_events_per_day_day.ba076cda56"]));
    expect(model.last_status).toBe("success");
  });

  it("GET /v1/models shows each SLA and where it stands: the pipeline's daily_revenue model and github_api source", async () => {
    await admin("/v1/models/build", { method: "POST", body: JSON.stringify({ select: "+daily_revenue" }) });
    const body = (await (await admin("/v1/models")).json()) as {
      nodes: { unique_id: string; config: { sla?: unknown }; sla_status: Record<string, unknown> | null }[];
      sources: { source: string; table: string; sla?: unknown; slaSubject?: string; sla_status: Record<string, unknown> | null }[];
    };
    const model = body.nodes.find((n) => n.unique_id === "model.sluice.daily_revenue")!;
    expect(model.config.sla).toEqual({ ready_by: "06:00 Europe/Berlin" });
    // Just built: ready whichever 06:00 is due.
    expect(model.sla_status).toMatchObject({ subject: "model:model.sluice.daily_revenue", status: "met", last_at: expect.any(String) });
    expect(model.sla_status!.message).toMatch(
      /^model daily_revenue was ready by 06:00 Europe\/Berlin on \d{4}-\d\d-\d\d: it last built successfully \d+s ago$/,
    );
    expect(body.nodes.find((n) => n.unique_id === "model.sluice.events_per_day")!.sla_status).toBeNull();
    const issues = body.sources.find((s) => s.source === "github_api" && s.table === "issues")!;
    expect(issues).toMatchObject({ sla: { fresh_within: "3h" }, slaSubject: "source:github_api" });
    // Nothing was pulled in this test's database.
    expect(issues.sla_status).toEqual({
      subject: "source:github_api",
      status: "breached",
      last_at: null,
      age_seconds: null,
      allowed_seconds: 10_800,
      message: "source github_api is late: it has never loaded a record, and its SLA allows 3h",
    });
    expect(body.sources.find((s) => s.source === "stripe" && s.table === "charges")!.sla_status).toBeNull();
  });

  it("GET /v1/freshness reports each source's freshness after a build", async () => {
    await deliver([recordMessage("fresh-1", { type: "t" })]);
    await admin("/v1/models/build", { method: "POST", body: JSON.stringify({}) });
    const body = (await (await admin("/v1/freshness")).json()) as { sources: Record<string, unknown>[] };
    expect(body.sources.find((s) => s.source === "generic" && s.table === "events")).toMatchObject({
      status: "pass",
      warnAfterSeconds: 86_400,
      errorAfterSeconds: 604_800,
    });
  });

  it("GET /v1/lineage links sources, streams, models and reports, with Mermaid", async () => {
    const body = (await (await admin("/v1/lineage")).json()) as { edges: { from: string; to: string }[]; mermaid: string };
    expect(body.edges).toEqual(
      expect.arrayContaining([
        { from: "source:generic", to: "stream:generic.events" },
        { from: "stream:generic.events", to: "model.sluice.stg_generic__events" },
        { from: "model.sluice.stg_generic__events", to: "model.sluice.events_per_day" },
        { from: "model.sluice.events_per_day", to: "report:events_per_day" },
      ]),
    );
    expect(body.mermaid.startsWith("flowchart LR\n")).toBe(true);
    expect(body.mermaid).toContain('{{"events_per_day"}}');
  });

  it("needs an admin token", async () => {
    expect((await call(new Request(`${origin}/v1/models`))).status).toBe(401);
    expect((await call(new Request(`${origin}/v1/lineage`))).status).toBe(401);
    void env;
  });
});

describe("POST /v1/models/build: vars that are not a mapping", () => {
  const message = 'vars must be a mapping, or YAML or JSON text of one, such as {"start_date": "2024-01-01"}';
  it.each([
    ["a list", ["load_source_data"]],
    ["a number", 3],
    ["YAML text of a list", "- load_source_data\n- true\n"],
    ["text that is not YAML", "{load_source_data: [true"],
  ])("refuses %s with 400 and one message, running nothing", async (_what, vars) => {
    const runs = async () => ((await (await admin("/v1/runs")).json()) as { runs: unknown[] }).runs.length;
    const before = await runs();
    const response = await admin("/v1/models/build", { method: "POST", body: JSON.stringify({ vars }) });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error).toEqual({ code: "bad_request", message: `✖ ${message}\n  → at vars`, requestId: expect.any(String) });
    expect(await runs()).toBe(before);
  });
});
