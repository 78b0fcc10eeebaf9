/**
 * SLAs judged on the cron tick, end to end in workerd: records loaded by the real consumer, a model
 * built by the real runner, and one `sla` incident per breached subject, opened once, refreshed by
 * the next tick, resolved when the SLA is met again (or no longer declared), notified on open and on
 * resolve.
 */
import { createExecutionContext, createScheduledController, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { getConfig } from "../../src/config/index.ts";
import { parseConfig } from "../../src/config/parse.ts";
import { createRuntime } from "../../src/env.ts";
import { compileManifest } from "../../src/models/compile/index.ts";
import { getManifest } from "../../src/models/manifest.ts";
import { runModels } from "../../src/models/runner.ts";
import { checkSlas } from "../../src/ops/slas.ts";
import { consumeWith, labRecord, labRuntime, rows } from "../support/pipeline.ts";
import { handler } from "../support/worker.ts";

const hook = `hook-${crypto.randomUUID().slice(0, 8)}`;
const runtime = createRuntime(
  { ...env, ALERT_WEBHOOK: `${env.FAKE_API_URL}/__admin/hooks/${hook}`, SLUICE_PUBLIC_URL: "https://sluice.example.com" } as Env,
  "scheduled",
  parseConfig({ alerts: [{ on: ["sla"], webhook: "ALERT_WEBHOOK" }] }),
);
const delivered = async () => (await (await fetch(`${env.FAKE_API_URL}/__admin/hooks/${hook}`)).json()) as { text: string }[];

const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
const minute = 60_000;

/** A project whose `lab` source must have loaded within 2h and whose `daily` model must be ready by `readyBy` UTC. */
const project = (readyBy: string, sla = true) =>
  compileManifest({
    project: "shop",
    models: [
      { path: "models/daily.sql", sql: "{{ config(materialized='table') }}\nselect count(*) as n from {{ source('lab', 'orders') }}" },
    ],
    properties: [
      {
        path: "models/schema.yml",
        yaml: `version: 2
sources:
  - name: lab
    config:
      sla: ${sla ? "{fresh_within: 2h}" : "null"}
    tables: [{name: orders}, {name: events}]
models:
  - name: daily
    config:
      sla: ${sla ? `{ready_by: "${readyBy} UTC"}` : "null"}
`,
      },
    ],
    sources: { lab: ["orders", "events"] },
  });

type Row = {
  subject: string;
  status: string;
  message: string;
  resolution: string | null;
  value: number | null;
  expected_low: number | null;
  expected_high: number | null;
  opened_at: string;
  last_seen_at: string;
};
const slaIncidents = () =>
  rows<Row>(
    `SELECT subject, status, message, resolution, value, expected_low, expected_high, opened_at, last_seen_at
     FROM _sluice_incidents WHERE kind = 'sla' ORDER BY subject, opened_at`,
  );

describe("SLAs on the cron tick", () => {
  it("opens one incident per breach, refreshes it on the next tick, and resolves it once the SLA is met", async () => {
    const t0 = Math.floor(Date.now() / minute) * minute;
    // Today's due point passed half an hour ago (UTC), and the model has never been built.
    const due = t0 - 30 * minute;
    const day = new Date(due).toISOString().slice(0, 10);
    const manifest = await project(hhmm(due));
    const lab = labRuntime({ orders: {} });
    await consumeWith(lab, [labRecord("o-1", { id: 1 }, "orders", new Date(t0 - 3 * 3_600_000).toISOString())]);

    const first = await checkSlas(runtime, manifest, new Date(t0));
    expect(first.map((s) => [s.subject, s.verdict?.met])).toEqual([
      ["source:lab", false],
      ["model:model.shop.daily", false],
    ]);
    expect(await slaIncidents()).toEqual([
      {
        subject: "model:model.shop.daily",
        status: "open",
        message: `model daily was not ready by ${hhmm(due)} UTC on ${day} and is 30m late: it has never built successfully`,
        resolution: null,
        value: null,
        expected_low: null,
        expected_high: 86_400 + 30 * 60,
        opened_at: new Date(t0).toISOString(),
        last_seen_at: new Date(t0).toISOString(),
      },
      {
        subject: "source:lab",
        status: "open",
        // The events table was never loaded (it has no table yet): the source's newest record is the order's.
        message: "source lab is late by 1h: its newest record is 3h old, and its SLA allows 2h",
        resolution: null,
        value: 10_800,
        expected_low: null,
        expected_high: 7200,
        opened_at: new Date(t0).toISOString(),
        last_seen_at: new Date(t0).toISOString(),
      },
    ]);

    // The next tick: still breached; the same incidents, with their age refreshed.
    await checkSlas(runtime, manifest, new Date(t0 + minute));
    const second = await slaIncidents();
    expect(second.map((r) => [r.subject, r.status, r.opened_at, r.last_seen_at])).toEqual([
      ["model:model.shop.daily", "open", new Date(t0).toISOString(), new Date(t0 + minute).toISOString()],
      ["source:lab", "open", new Date(t0).toISOString(), new Date(t0 + minute).toISOString()],
    ]);
    expect(second[1]).toMatchObject({
      message: "source lab is late by 1h 1m: its newest record is 3h 1m old, and its SLA allows 2h",
      value: 10_860,
    });

    // A fresh record and a build meet both SLAs.
    await consumeWith(lab, [labRecord("o-2", { id: 2 }, "orders", new Date(t0 + minute).toISOString())]);
    const build = await runModels(runtime, { trigger: "manual", manifest, select: ["daily"] });
    expect(build.status).toBe("success");
    const t2 = Math.max(Date.now(), t0 + 2 * minute);
    const third = await checkSlas(runtime, manifest, new Date(t2));
    expect(third.every((s) => s.verdict?.met)).toBe(true);
    const resolved = await slaIncidents();
    expect(resolved.map((r) => [r.subject, r.status])).toEqual([
      ["model:model.shop.daily", "resolved"],
      ["source:lab", "resolved"],
    ]);
    expect(resolved[0]!.resolution).toMatch(
      new RegExp(`^model daily was ready by ${hhmm(due)} UTC on ${day}: it last built successfully (\\d+s|\\d+m) ago$`),
    );
    expect(resolved[1]!.resolution).toMatch(/^source lab is within its SLA: its newest record is (\d+s|\d+m) old \(allowed: 2h\)$/);

    // Met again: nothing changes, and each incident was notified once as it opened and once as it resolved.
    await checkSlas(runtime, manifest, new Date(t2 + minute));
    expect((await slaIncidents()).map((r) => r.status)).toEqual(["resolved", "resolved"]);
    const texts = (await delivered()).map((m) => m.text.replace(/ <https:.*>$/, ""));
    expect(texts).toHaveLength(4);
    expect(texts.filter((t) => t.startsWith(":rotating_light: Sluice SLA breached: "))).toEqual([
      `:rotating_light: Sluice SLA breached: source:lab. source lab is late by 1h: its newest record is 3h old, and its SLA allows 2h`,
      `:rotating_light: Sluice SLA breached: model:model.shop.daily. model daily was not ready by ${hhmm(due)} UTC on ${day} and is 30m late: it has never built successfully`,
    ]);
    expect(texts.filter((t) => t.startsWith(":white_check_mark: Resolved after ")).length).toBe(2);

    // The project drops its SLAs while one is breached: the incident resolves, saying why.
    await checkSlas(runtime, manifest, new Date(t2 + 3 * 3_600_000));
    expect((await slaIncidents()).filter((r) => r.status === "open").map((r) => r.subject)).toEqual(["source:lab"]);
    await checkSlas(runtime, await project(hhmm(due), false), new Date(t2 + 3 * 3_600_000 + minute));
    const dropped = (await slaIncidents()).at(-1)!;
    expect(dropped).toMatchObject({ subject: "source:lab", status: "resolved", resolution: "the project no longer declares this SLA" });
  });

  it("leaves an SLA unjudged, opening nothing, when its table cannot be read as a time", async () => {
    const lab = labRuntime({ notes: {} });
    await consumeWith(lab, [labRecord("n-1", { id: 1, note: "yesterday" }, "notes")]);
    const manifest = await compileManifest({
      project: "shop",
      models: [],
      properties: [
        {
          path: "models/sources.yml",
          yaml: `version: 2
sources:
  - name: lab
    tables:
      - name: notes
        config: {loaded_at_field: note, sla: {fresh_within: 1h}}
      - name: events
        config: {loaded_at_field: no_such_column, sla: {fresh_within: 1h}}
`,
        },
      ],
      sources: { lab: ["notes", "events"] },
    });
    await consumeWith(lab, [labRecord("e-1", { id: 1 }, "events")]);
    const statuses = await checkSlas(runtime, manifest, new Date());
    expect(statuses.map((s) => [s.subject, s.verdict, s.error])).toEqual([
      ["source:lab.notes", null, 'lab.notes: note "yesterday" is not a timestamp'],
      // A column the table does not have is an error, not the column's name read as text.
      ["source:lab.events", null, expect.stringContaining("no such column: t.no_such_column")],
    ]);
    expect(await rows("SELECT * FROM _sluice_incidents WHERE subject LIKE 'source:lab.%'")).toEqual([]);
  });

  it("runs on every cron tick, on the bundled pipeline's SLAs", async () => {
    const declared = getManifest()
      .sources.filter((s) => s.sla)
      .map((s) => s.slaSubject);
    const models = getManifest()
      .nodes.filter((n) => n.config.sla)
      .map((n) => `model:${n.uniqueId}`);
    expect(declared.length + models.length).toBeGreaterThan(0);
    await handler.scheduled!(
      createScheduledController({ cron: getConfig().lake.schedule, scheduledTime: Date.now() }),
      env,
      createExecutionContext(),
    );
    const open = await rows<{ subject: string }>("SELECT subject FROM _sluice_incidents WHERE kind = 'sla' AND status = 'open'");
    // Nothing has loaded or built in this test's database: every SLA of the pipeline is breached.
    expect(open.map((r) => r.subject).sort()).toEqual([...new Set([...declared, ...models])].sort());
  });
});
