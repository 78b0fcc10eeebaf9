/**
 * The monitor registry behind the monitors API: with no configuration, a null-rate monitor for
 * each column of each declared stream's table (Sluice's own columns aside), served like the
 * stream monitors; unknown monitors of every kind are 404.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { getConfig } from "../../src/config/index.ts";
import { createRuntime } from "../../src/env.ts";
import { judgeTableMonitors } from "../../src/ops/table-monitors.ts";
import { hourMs } from "../../src/quality/stats.ts";
import { expectNoMonitor, adminGet as get } from "../support/monitors-api.ts";
import { createRawTable, rawLoad } from "../support/raw-rows.ts";

const start = Date.UTC(2041, 0, 7);
const iso = (ms: number) => new Date(ms).toISOString();
const columns = ["text", "user", "thread"];
let table: string;

beforeAll(async () => {
  // slack.messages is a declared stream of the bundled pipeline: three hours, one load each.
  table = await createRawTable("slack", "messages", columns);
  const row = (i: number, nulls: number) => [`hello ${i}`, i < nulls ? null : `U${i}`, null];
  await env.DB.batch(
    [0, 1, 2].map((hour) =>
      rawLoad(
        table,
        columns,
        start + hour * hourMs + 600_000,
        Array.from({ length: 10 }, (_, i) => row(i, hour + 1)),
      ),
    ),
  );
  await judgeTableMonitors(createRuntime(env, "scheduled", getConfig()), new Date(start + 3 * hourMs + 10 * 60_000));
});

type Listed = { id: string; kind: string; [field: string]: unknown };
const listed = async () => ((await (await get("/v1/monitors")).json()) as { monitors: Listed[] }).monitors;

describe("table monitors in the monitors API", () => {
  it("lists one null-rate monitor per column of each stream's table, with its last judged bucket", async () => {
    const monitors = (await listed()).filter((m) => m.id.startsWith("table:"));
    expect(monitors.map((m) => m.id)).toEqual(columns.map((c) => `table:raw_slack__messages.${c}:null_rate`));
    expect(monitors.find((m) => m.id === "table:raw_slack__messages.user:null_rate")).toEqual({
      id: "table:raw_slack__messages.user:null_rate",
      kind: "null_rate",
      table: "raw_slack__messages",
      column: "user",
      last_bucket: {
        start: iso(start + 2 * hourMs),
        end: iso(start + 3 * hourMs),
        value: 0.3,
        expected_low: null,
        expected_high: null,
        z: null,
        anomalous: false,
        detail: null,
      },
      open_anomaly: false,
    });
    // Stream monitors come first, as before.
    expect((await listed())[0]!.id).toMatch(/^stream:/);
  });

  it("serves a table monitor's series", async () => {
    const monitor = "table:raw_slack__messages.user:null_rate";
    const response = await get(`/v1/monitors/${encodeURIComponent(monitor)}/series`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { monitor: string; kind: string; buckets: { start: string; value: number }[] };
    expect(body).toMatchObject({ monitor, kind: "null_rate" });
    expect(body.buckets.map((b) => [b.start, b.value])).toEqual([
      [iso(start + hourMs), 0.2],
      [iso(start + 2 * hourMs), 0.3],
    ]);
  });

  it("keeps listing a column's monitor while it has history, after the column is gone", async () => {
    await env.DB.prepare(`ALTER TABLE "${table}" DROP COLUMN "thread"`).run();
    expect((await listed()).map((m) => m.id)).toContain("table:raw_slack__messages.thread:null_rate");
  });

  it.each([
    "table:raw_slack__messages.nope:null_rate",
    "table:raw_slack__messages._sluice_load_id:null_rate",
    "table:raw_slack__reactions.user:null_rate",
    "table:raw_lab__events.user:null_rate",
    "table:raw_slack__messages.user:volume",
    "test:test.quality.nope.0123456789",
    "nope",
  ])("answers 404 for the unknown monitor %s", async (unknown) => {
    await expectNoMonitor(unknown);
  });
});
