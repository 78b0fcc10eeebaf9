import { createExecutionContext, createScheduledController, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createRuntime } from "../../src/env.ts";
import type { Manifest, ModelNode } from "../../src/models/manifest-schema.ts";
import { materializeTable, materializeView } from "../../src/models/materialize.ts";
import { runModels } from "../../src/models/runner.ts";
import { deliver, recordMessage } from "../support/queue.ts";
import { handler } from "../support/worker.ts";

const fireCron = async (cron: string, overrides: Partial<Env> = {}) => {
  const ctx = createExecutionContext();
  await handler.scheduled!(createScheduledController({ cron, scheduledTime: Date.now() }), { ...env, ...overrides }, ctx);
};

const node = (name: string, rawSql: string, parents: string[] = [], materialized: "table" | "view" = "table"): ModelNode => ({
  uniqueId: `model.test.${name}`,
  resourceType: "model",
  name,
  package: "test",
  schema: "main",
  relation: name,
  path: `models/${name}.sql`,
  rawSql,
  config: { materialized, tags: [], enabled: true, on_schema_change: "ignore", severity: "error", indexes: [] },
  description: "",
  columns: [],
  dependsOn: { nodes: parents.map((p) => `model.test.${p}`), sources: [] },
});

const manifestOf = (...nodes: ModelNode[]): Manifest => ({
  version: 2,
  project: "test",
  generatedAt: "",
  vars: {},
  packageVars: {},
  macros: [],
  dispatch: [],
  nodes,
  sources: [],
  docs: {},
  parsedNotRun: [],
});

describe("model runs on the cron", () => {
  it("rebuilds the example models from loaded events and records the run", async () => {
    await deliver([
      recordMessage("day-1", { type: "a" }, { receivedAt: "2001-02-03T10:00:00.000Z" }),
      recordMessage("day-2", { type: "b" }, { receivedAt: "2001-02-03T11:30:00.000Z" }),
      recordMessage("day-3", { type: "a" }, { receivedAt: "2001-02-03T23:59:59.000Z" }),
      recordMessage("day-4", { other: true }, { receivedAt: "2001-02-04T00:00:00.000Z" }),
    ]);

    await fireCron("*/15 * * * *");

    const days = await env.DB.prepare("SELECT * FROM events_per_day WHERE day IN ('2001-02-03', '2001-02-04') ORDER BY day").all();
    expect(days.results).toEqual([
      {
        day: "2001-02-03",
        events: 3,
        event_types: 2,
        first_received_at: "2001-02-03T10:00:00.000Z",
        last_received_at: "2001-02-03T23:59:59.000Z",
      },
      {
        day: "2001-02-04",
        events: 1,
        event_types: 1,
        first_received_at: "2001-02-04T00:00:00.000Z",
        last_received_at: "2001-02-04T00:00:00.000Z",
      },
    ]);
    const kind = await env.DB.prepare("SELECT type FROM sqlite_master WHERE name = 'stg_generic__events'").first("type");
    expect(kind).toBe("view");

    const run = await env.DB.prepare("SELECT * FROM _sluice_model_runs ORDER BY started_at DESC LIMIT 1").first<Record<string, unknown>>();
    expect(run).toMatchObject({ trigger: "cron", cron: "*/15 * * * *", status: "success" });
    // Every node of the example project ran, and none failed.
    const statuses = await env.DB.prepare("SELECT DISTINCT status FROM _sluice_model_results WHERE run_id = ?1 ORDER BY status")
      .bind(run!.run_id)
      .all();
    expect(statuses.results).toEqual([{ status: "pass" }, { status: "success" }]);
    expect(run!.elapsed_ms).toBeGreaterThanOrEqual(0);
    const results = await env.DB.prepare(
      "SELECT unique_id, status, rows_affected FROM _sluice_model_results WHERE run_id = ?1 AND unique_id IN ('model.sluice.stg_generic__events', 'model.sluice.events_per_day') ORDER BY started_at",
    )
      .bind(run!.run_id)
      .all();
    expect(results.results).toEqual([
      { unique_id: "model.sluice.stg_generic__events", status: "success", rows_affected: null },
      { unique_id: "model.sluice.events_per_day", status: "success", rows_affected: expect.any(Number) },
    ]);
  });

  it("runs a model with its own schedule on that cron, and not on the models' schedule", async () => {
    const latestResults = async () => {
      const run = await env.DB.prepare("SELECT run_id FROM _sluice_model_runs ORDER BY started_at DESC LIMIT 1").first<string>("run_id");
      return (
        await env.DB.prepare("SELECT unique_id FROM _sluice_model_results WHERE run_id = ?1").bind(run).all<{ unique_id: string }>()
      ).results.map((r) => r.unique_id);
    };
    await fireCron("*/15 * * * *");
    expect(await latestResults()).not.toContain("model.sluice.open_issues");
    // The same tick starts the hourly pulls; their page tasks are held back here.
    const { CapturedQueue } = await import("../support/pump.ts");
    const pull = new CapturedQueue();
    await fireCron("0 * * * *", { PULL: pull as unknown as Queue });
    expect(pull.pending.map((t) => (t as { source: string }).source).sort()).toEqual(["github_api", "stripe_api"]);
    expect(await latestResults()).toEqual(
      expect.arrayContaining(["model.sluice.open_issues", "test.sluice.unique_open_issues_issue_id.c8deab2551"]),
    );
    expect(await latestResults()).not.toContain("model.sluice.daily_revenue");
  });

  it("ignores a cron that owns no job, and starts no run", async () => {
    const before = await env.DB.prepare("SELECT count(*) AS n FROM _sluice_model_runs").first("n");
    await fireCron("0 0 1 1 *");
    expect(await env.DB.prepare("SELECT count(*) AS n FROM _sluice_model_runs").first("n")).toBe(before);
  });
});

describe("model runner", () => {
  const runtime = () => createRuntime(env, "scheduled");

  it("skips the models downstream of a failure and marks the run as an error", async () => {
    const summary = await runModels(runtime(), {
      trigger: "manual",
      manifest: manifestOf(
        node("ok_parent", "select 1 as one"),
        node("broken", "select * from no_such_table"),
        node("child_of_broken", "select * from {{ ref('broken') }}", ["broken"]),
        node("child_of_ok", "select one + 1 as two from {{ ref('ok_parent') }}", ["ok_parent"]),
      ),
    });

    expect(summary.status).toBe("error");
    expect(summary.results.map((r) => [r.uniqueId, r.status])).toEqual([
      ["model.test.ok_parent", "success"],
      ["model.test.broken", "error"],
      ["model.test.child_of_broken", "skipped"],
      ["model.test.child_of_ok", "success"],
    ]);
    expect(summary.results[1]!.message).toContain("no such table: no_such_table");
    expect(summary.results[2]!.message).toBe("skipped: upstream model.test.broken did not succeed");
    expect(await env.DB.prepare('SELECT two FROM "child_of_ok"').first("two")).toBe(2);

    const stored = await env.DB.prepare("SELECT status FROM _sluice_model_runs WHERE run_id = ?1").bind(summary.runId).first("status");
    expect(stored).toBe("error");
    const statuses = await env.DB.prepare("SELECT unique_id, status FROM _sluice_model_results WHERE run_id = ?1 ORDER BY unique_id")
      .bind(summary.runId)
      .all();
    expect(statuses.results).toHaveLength(4);
  });

  it("keeps the previous table when a rebuild fails", async () => {
    await materializeTable(env.DB, "kept_table", "select 7 as n");
    await expect(materializeTable(env.DB, "kept_table", "select nope from nowhere")).rejects.toThrow(/no such table/);
    expect(await env.DB.prepare('SELECT n FROM "kept_table"').first("n")).toBe(7);
  });

  it("switches a relation between view and table", async () => {
    const typeOf = () => env.DB.prepare("SELECT type FROM sqlite_master WHERE name = 'switching'").first("type");
    await materializeView(env.DB, "switching", "select 1 as x");
    expect(await typeOf()).toBe("view");
    expect(await materializeTable(env.DB, "switching", "select 1 as x union all select 2")).toEqual({ rowsAffected: 2 });
    expect(await typeOf()).toBe("table");
    await materializeView(env.DB, "switching", "select 3 as x;");
    expect(await typeOf()).toBe("view");
  });
});

describe("the example pipeline's marts", () => {
  it("turns Stripe charge events into fct_charges and daily_revenue, keeping the latest version of each charge", async () => {
    const charge = (event: string, id: string, amount: number, status: string, created: number) =>
      recordMessage(
        event,
        {
          id: event,
          type: `charge.${status}`,
          created,
          data: { object: { id, object: "charge", amount, currency: "usd", status, customer: "cus_1" } },
        },
        { source: "stripe", stream: "charges" },
      );
    await deliver([
      charge("evt_m1", "ch_m1", 1000, "pending", Date.UTC(2031, 0, 2, 10) / 1000),
      charge("evt_m2", "ch_m1", 1000, "succeeded", Date.UTC(2031, 0, 2, 11) / 1000),
      charge("evt_m3", "ch_m2", 2550, "succeeded", Date.UTC(2031, 0, 2, 12) / 1000),
      charge("evt_m4", "ch_m3", 999, "failed", Date.UTC(2031, 0, 3, 9) / 1000),
    ]);
    const summary = await runModels(createRuntime(env, "scheduled"), { trigger: "manual", select: ["+daily_revenue", "+customers"] });
    expect(summary.status).toBe("success");
    expect(
      await env.DB.prepare("SELECT charge_id, status, amount FROM fct_charges WHERE charge_id LIKE 'ch_m%' ORDER BY charge_id")
        .all()
        .then((r) => r.results),
    ).toEqual([
      { charge_id: "ch_m1", status: "succeeded", amount: 10 },
      { charge_id: "ch_m2", status: "succeeded", amount: 25.5 },
      { charge_id: "ch_m3", status: "failed", amount: 9.99 },
    ]);
    expect(
      await env.DB.prepare("SELECT * FROM daily_revenue WHERE day = '2031-01-02'")
        .all()
        .then((r) => r.results),
    ).toEqual([{ day: "2031-01-02", currency: "USD", charges: 2, revenue: 35.5 }]);
  });
});
