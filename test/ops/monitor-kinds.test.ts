/**
 * The automatic monitors beside volume: each stream's freshness (from the load ledger) and schema
 * changes (from the schema history), each webhook source's rejection rate (from the webhook
 * counts). Judged on the tick, stored per bucket, and served by the monitors API.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { getConfig } from "../../src/config/index.ts";
import { parseConfig } from "../../src/config/parse.ts";
import { createRuntime } from "../../src/env.ts";
import { freshnessMinStddev } from "../../src/ops/monitor-freshness.ts";
import { minRejected } from "../../src/ops/monitor-rejections.ts";
import { judgeStreamMonitors, settleMs } from "../../src/ops/monitors.ts";
import { hourMs } from "../../src/quality/stats.ts";
import { adminToken } from "../support/fixtures.ts";
import { genericWebhook } from "../support/http.ts";
import {
  type CountedHour,
  flagged,
  historyStart,
  iso,
  type LedgerLoad,
  normalHours,
  stored,
  writeCounts,
  writeLoads,
  writeSchemaVersion,
} from "../support/monitors.ts";
import { consumeWith, labRecord, labRuntime, rows } from "../support/pipeline.ts";
import { seeded } from "../support/seeded.ts";
import { call, handler, origin } from "../support/worker.ts";

const start = historyStart;
const minute = 60_000;
/** Ten minutes into the hour `hours` after the start: every hour before it is complete and settled. */
const tick = (hours: number, from = start) => new Date(from + hours * hourMs + 10 * minute);
const hourAt = (hours: number, from = start) => iso(from + hours * hourMs);
const hourFloor = (ms: number) => Math.floor(ms / hourMs) * hourMs;

/** A webhook stream's loads: one every ten minutes, two to eight minutes into its slot, for `hours`. */
function everyTenMinutes(seed: number, hours: number): LedgerLoad[] {
  const random = seeded(seed);
  return Array.from({ length: hours * 6 }, (_, i) => ({
    at: start + i * 10 * minute + Math.round((2 + random() * 6) * minute),
    loaded: 20,
    quarantined: 0,
  }));
}

/** A pull every six hours, two to four minutes past the hour, for `hours`. */
function everySixHours(seed: number, hours: number): LedgerLoad[] {
  const random = seeded(seed);
  return Array.from({ length: hours / 6 }, (_, i) => ({
    at: start + i * 6 * hourMs + Math.round((2 + random() * 2) * minute),
    loaded: 50,
    quarantined: 0,
  }));
}

describe("freshness", () => {
  it("flags a webhook stream that stops loading in its first silent hour, and every hour after; never its normal weeks", async () => {
    await writeLoads("lab", "ticking", everyTenMinutes(1, normalHours));
    await judgeStreamMonitors(labRuntime({ ticking: {} }), tick(normalHours + 4));

    const freshness = await stored("stream:lab.ticking:freshness");
    expect(freshness).toHaveLength(normalHours + 4 - 1); // every complete hour but the stream's first
    expect(await flagged("stream:lab.ticking:freshness")).toEqual([0, 1, 2, 3].map((i) => hourAt(normalHours + i)));
    const silent = freshness.at(-4)!;
    // The last load came two to eight minutes before the hour: an hour later it is over an hour old.
    expect(silent.value).toBeGreaterThan(60);
    expect(silent.value).toBeLessThan(60 + 8);
    expect(silent.expected_high).toBeLessThan(60);
    expect(silent.rows).toBe(0);
    // Normal hours: the largest gap between loads, about ten minutes, six loads each.
    const normal = freshness.at(-5)!;
    expect(normal).toMatchObject({ anomalous: 0, rows: 6 });
    expect(normal.value).toBeGreaterThan(4);
    expect(normal.value).toBeLessThan(17);
  });

  it("learns a pull's six-hour cadence hour by hour, and flags the hour a run is missed", async () => {
    await writeLoads("lab", "scheduled", everySixHours(2, normalHours));
    await judgeStreamMonitors(labRuntime({ scheduled: {} }), tick(normalHours + 3));

    const freshness = await stored("stream:lab.scheduled:freshness");
    expect(await flagged("stream:lab.scheduled:freshness")).toEqual([0, 1, 2].map((i) => hourAt(normalHours + i)));
    // The hour of a run has waited six hours for it; the next hours are one to five hours old at their end.
    const runHour = freshness.find((b) => b.bucket_start === hourAt(normalHours - 6))!;
    expect(runHour.value).toBeCloseTo(360, -1);
    expect(freshness.find((b) => b.bucket_start === hourAt(normalHours - 5))!.value).toBeCloseTo(117, -1);
    const missed = freshness.find((b) => b.bucket_start === hourAt(normalHours))!;
    expect(missed.value).toBeGreaterThan(414);
    // The slot's runs agree within minutes, so the expected range is the floor's ± three spreads.
    expect(missed.expected_high! - missed.expected_low!).toBeCloseTo(6 * freshnessMinStddev, 0);
    expect(missed.expected_high).toBeLessThan(380);
  });

  it("judged hour by hour, stores what a backfill of the same history stores", async () => {
    const loads = everyTenMinutes(3, normalHours).filter((l) => l.at < start + (normalHours - 2) * hourMs);
    await writeLoads("lab", "hourly", loads);
    await writeLoads("lab", "backfilled", loads);
    for (const hours of [normalHours - 3, normalHours - 2, normalHours - 1, normalHours, normalHours + 1])
      await judgeStreamMonitors(labRuntime({ hourly: {} }), tick(hours));
    await judgeStreamMonitors(labRuntime({ backfilled: {} }), tick(normalHours + 1));

    const judged = async (stream: string) => (await stored(`stream:lab.${stream}:freshness`)).map(({ monitor_id, ...b }) => b);
    const hourly = await judged("hourly");
    expect(hourly).toHaveLength(normalHours);
    expect(hourly).toEqual(await judged("backfilled"));
    expect(await flagged("stream:lab.hourly:freshness")).toEqual([-2, -1, 0].map((i) => hourAt(normalHours + i)));
  });
});

describe("schema changes", () => {
  it("a new field and a variant column make a change bucket that names them; the hours before are 0", async () => {
    const runtime = labRuntime({ evolving: {} });
    await consumeWith(runtime, [labRecord("ev-1", { id: 1, amount: 5 }, "evolving")]);
    await consumeWith(runtime, [labRecord("ev-2", { id: 2, amount: "five", coupon: "SPRING" }, "evolving")]);
    const [changed] = await rows<{ created_at: string }>(
      "SELECT created_at FROM _sluice_schema_versions WHERE stream = 'evolving' AND version = 2",
    );
    const changeHour = hourFloor(Date.parse(changed!.created_at));
    // The table was created three hours before the change.
    await env.DB.prepare("UPDATE _sluice_schema_versions SET created_at = ?1 WHERE stream = 'evolving' AND version = 1")
      .bind(iso(changeHour - 3 * hourMs + minute))
      .run();
    await judgeStreamMonitors(runtime, new Date(changeHour + hourMs + settleMs));

    const schema = (await stored("stream:lab.evolving:schema")).map((b) => [b.bucket_start, b.value, b.anomalous, b.detail]);
    // The hour that created the table is the stream's first: never judged.
    expect(schema).toEqual([
      [iso(changeHour - 2 * hourMs), 0, 0, null],
      [iso(changeHour - hourMs), 0, 0, null],
      [iso(changeHour), 2, 1, "added amount__v_text (text, a variant of amount); added coupon (text)"],
    ]);
    expect((await stored("stream:lab.evolving:schema")).at(-1)).toMatchObject({ expected_low: 0, expected_high: 0, z: null, rows: 2 });
    // The incident it opens names the columns too.
    const [incident] = await rows<{ message: string; status: string }>(
      "SELECT message, status FROM _sluice_incidents WHERE kind = 'anomaly' AND subject = 'stream:lab.evolving:schema'",
    );
    expect(incident).toEqual({
      status: "open",
      message: `2 in ${iso(changeHour).slice(0, 16).replace("T", " ")}–${iso(changeHour + hourMs).slice(11, 16)} UTC, expected 0–0: added amount__v_text (text, a variant of amount); added coupon (text)`,
    });
  });

  it("counts a column once: a shape that comes back (a replace stream's fresh staging table) is no change", async () => {
    const runtime = labRuntime({ restaged: {} });
    const version = (n: number, columns: string[], at: number) =>
      writeSchemaVersion(
        "lab",
        "restaged",
        n,
        columns.map((c) => [c, "text"]),
        at,
      );
    await version(1, ["id", "name"], start);
    await version(2, ["id"], start + hourMs + 5 * minute); // a run's first page had no name
    await version(3, ["id", "name"], start + hourMs + 10 * minute);
    await version(4, ["id", "name", "email"], start + 2 * hourMs);
    await judgeStreamMonitors(runtime, tick(3));
    // Judged tick by tick from here: each reads only the versions after the last bucket's.
    await version(5, ["id"], start + 3 * hourMs + minute);
    await version(6, ["id", "email"], start + 3 * hourMs + 2 * minute);
    await version(7, ["id", "name", "email", "phone"], start + 4 * hourMs);
    await judgeStreamMonitors(runtime, tick(4));
    await judgeStreamMonitors(runtime, tick(5));

    const schema = await stored("stream:lab.restaged:schema");
    expect(schema.map((b) => [b.bucket_start, b.value, b.rows, b.anomalous, b.detail])).toEqual([
      [hourAt(1), 0, 3, 0, null],
      [hourAt(2), 1, 4, 1, "added email (text)"],
      [hourAt(3), 0, 6, 0, null],
      [hourAt(4), 1, 7, 1, "added phone (text)"],
    ]);
  });
});

/** A webhook source of its own, so its counts are the test's alone. */
const hooksRuntime = () =>
  createRuntime(
    env,
    "scheduled",
    parseConfig({
      sources: {
        hooks: {
          provider: "generic",
          secrets: ["GENERIC_WEBHOOK_SECRET"],
          signature: { header: "x-sig" },
          streams: { events: {} },
          defaultStream: "events",
        },
      },
    }),
  );

/** Three normal weeks of deliveries before `from`: about 100 an hour, a stray bad signature now and then, and GETs that are no deliveries. */
function deliveries(seed: number, from: number): CountedHour[] {
  const random = seeded(seed);
  return Array.from({ length: normalHours }, (_, hour): CountedHour[] => {
    const hourMs_ = from + (hour - normalHours) * hourMs;
    const stray = random() < 0.3 ? 1 : 0;
    return [
      { hourMs: hourMs_, outcome: "accepted", count: 90 + Math.round(random() * 20) },
      ...(stray ? [{ hourMs: hourMs_, outcome: "rejected" as const, reason: "bad_signature", count: stray }] : []),
      { hourMs: hourMs_, outcome: "rejected", reason: "method_not_allowed", count: hour % 24 === 3 ? 50 : 2 },
      ...(hour % 50 === 0 ? [{ hourMs: hourMs_, outcome: "handshake" as const, count: 1 }] : []),
    ];
  }).flat();
}

describe("rejection rate", () => {
  const monitor = "source:hooks:rejection_rate";

  it("flags a burst of bad signatures within its hour, and neither the normal weeks nor a quiet hour's two strays", async () => {
    const burst = start + normalHours * hourMs;
    await writeCounts("hooks", [
      ...deliveries(4, burst),
      { hourMs: burst, outcome: "accepted", count: 100 },
      { hourMs: burst, outcome: "rejected", reason: "bad_signature", count: 60 },
      // A quiet hour: twenty deliveries, two of them refused.
      { hourMs: burst + hourMs, outcome: "accepted", count: 18 },
      { hourMs: burst + hourMs, outcome: "rejected", reason: "stale_timestamp", count: 2 },
    ]);
    await judgeStreamMonitors(hooksRuntime(), tick(normalHours + 2));

    const rates = await stored(monitor);
    expect(rates).toHaveLength(normalHours + 2 - 1);
    expect(await flagged(monitor)).toEqual([iso(burst)]);
    expect(rates.at(-2)).toMatchObject({ bucket_start: iso(burst), value: 60 / 160, rows: 160, anomalous: 1 });
    // Outside the range, but fewer than `minRejected` refusals: no incident.
    const quiet = rates.at(-1)!;
    expect(quiet).toMatchObject({ bucket_start: iso(burst + hourMs), value: 0.1, rows: 20, anomalous: 0 });
    expect(quiet.value).toBeGreaterThan(quiet.expected_high!);
    expect(2).toBeLessThan(minRejected);

    // Hours without deliveries are not judged; the next hour with some trains on what was stored.
    await judgeStreamMonitors(hooksRuntime(), tick(normalHours + 5));
    expect(await stored(monitor)).toHaveLength(normalHours + 2 - 1);
    const silentEnd = start + (normalHours + 5) * hourMs;
    await writeCounts("hooks", [
      { hourMs: silentEnd, outcome: "accepted", count: 100 },
      { hourMs: silentEnd, outcome: "rejected", reason: "bad_signature", count: 1 },
    ]);
    expect(await judgeStreamMonitors(hooksRuntime(), tick(normalHours + 6))).toBe(1);
    expect((await stored(monitor)).at(-1)).toMatchObject({ bucket_start: iso(silentEnd), rows: 101, anomalous: 0 });
  });
});

describe("monitors API, for freshness, schema and rejections", () => {
  const get = (path: string) => call(new Request(`${origin}${path}`, { headers: { authorization: `Bearer ${adminToken}` } }));
  let thisHour = 0;

  beforeAll(async () => {
    // The burst must land in one hour: near the end of one, wait for the next.
    if (Date.now() % hourMs > hourMs - 30_000) await new Promise((done) => setTimeout(done, hourMs - (Date.now() % hourMs) + 1000));
    thisHour = hourFloor(Date.now());
    // A burst of forged deliveries to the pipeline's generic source, through the Worker, after three normal weeks.
    await writeCounts("generic", [...deliveries(5, thisHour), { hourMs: thisHour, outcome: "accepted", count: 100 }]);
    const ctx = createExecutionContext();
    for (let i = 0; i < 40; i++) {
      const forged = await genericWebhook(origin, { body: `{"n":${i}}`, secret: "forged" });
      expect((await handler.fetch!(forged as never, env, ctx)).status).toBe(401);
    }
    await waitOnExecutionContext(ctx);
    // A pulled stream loading hourly for two days; a declared webhook stream that gains a column.
    await writeLoads(
      "github_api",
      "issues",
      Array.from({ length: 48 }, (_, i) => ({ at: thisHour - (48 - i) * hourMs + 3 * minute, loaded: 10, quarantined: 0 })),
    );
    await writeSchemaVersion("generic", "events", 1, [["type", "text"]], thisHour - 48 * hourMs);
    await writeSchemaVersion(
      "generic",
      "events",
      2,
      [
        ["type", "text"],
        ["order_id", "integer"],
      ],
      thisHour - 5 * hourMs,
    );
    await judgeStreamMonitors(createRuntime(env, "scheduled", getConfig()), new Date(thisHour + hourMs + settleMs));
  }, 60_000);

  it("lists every stream's freshness and schema monitors and every webhook source's rejection rate", async () => {
    const { monitors } = (await (await get("/v1/monitors")).json()) as { monitors: Record<string, unknown>[] };
    const ids = monitors.map((m) => m.id);
    expect(ids).toEqual(
      expect.arrayContaining(["stream:github_api.issues:freshness", "stream:github_api.issues:schema", "stream:generic.events:freshness"]),
    );
    expect(ids.filter((id) => String(id).startsWith("source:"))).toEqual(
      Object.keys(getConfig().sources).map((s) => `source:${s}:rejection_rate`),
    );
    expect(monitors.find((m) => m.id === "source:generic:rejection_rate")).toEqual({
      id: "source:generic:rejection_rate",
      kind: "rejection_rate",
      source: "generic",
      stream: null,
      last_bucket: expect.objectContaining({ start: iso(thisHour), anomalous: true, detail: null }),
      open_anomaly: true,
    });
    expect(monitors.find((m) => m.id === "stream:generic.events:schema")).toMatchObject({ kind: "schema", open_anomaly: false });
  });

  it("serves the forged burst in the rejection rate's series: forty refused of 140", async () => {
    const response = await get(`/v1/monitors/source:generic:rejection_rate/series?from=${iso(thisHour - hourMs)}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { monitor: string; kind: string; buckets: Record<string, unknown>[] };
    expect(body).toMatchObject({ monitor: "source:generic:rejection_rate", kind: "rejection_rate" });
    expect(body.buckets.map((b) => [b.start, b.anomalous])).toEqual([
      [iso(thisHour - hourMs), false],
      [iso(thisHour), true],
    ]);
    expect(body.buckets.at(-1)!.value).toBeCloseTo(40 / 140, 10);
    // Its newest bucket is anomalous: the source has an open anomaly incident, linked to the chart.
    const { incidents } = (await (await get("/v1/incidents?kind=anomaly&subject=source:generic:rejection_rate")).json()) as {
      incidents: Record<string, unknown>[];
    };
    expect(incidents).toEqual([
      expect.objectContaining({
        subject: "source:generic:rejection_rate",
        status: "open",
        chart: "/monitors/source%3Ageneric%3Arejection_rate",
      }),
    ]);
  });

  it("serves a pulled stream's freshness and a schema change with the columns it added", async () => {
    const freshness = (await (
      await get(`/v1/monitors/stream:github_api.issues:freshness/series?from=${iso(thisHour - 2 * hourMs)}`)
    ).json()) as {
      buckets: Record<string, unknown>[];
    };
    expect(freshness.buckets.map((b) => [b.start, b.value, b.anomalous])).toEqual([
      [iso(thisHour - 2 * hourMs), 60, false],
      [iso(thisHour - hourMs), 60, false],
      [iso(thisHour), 117, false], // too little history for statistics: two days
    ]);
    const bucket = {
      start: iso(thisHour - 5 * hourMs),
      end: iso(thisHour - 4 * hourMs),
      value: 1,
      expected_low: 0,
      expected_high: 0,
      z: null,
      anomalous: true,
      detail: "added order_id (integer)",
    };
    const anomalies = (await (await get("/v1/anomalies?monitor=stream:generic.events:schema")).json()) as { anomalies: unknown[] };
    expect(anomalies.anomalies).toEqual([{ monitor: "stream:generic.events:schema", ...bucket }]);
    const series = (await (
      await get(`/v1/monitors/stream:generic.events:schema/series?from=${bucket.start}&to=${bucket.start}`)
    ).json()) as {
      buckets: unknown[];
    };
    expect(series.buckets).toEqual([bucket]);
  });

  it.each([
    ["/v1/monitors/source:github_api:rejection_rate/series", "no monitor source:github_api:rejection_rate"],
    ["/v1/monitors/stream:generic.events:rejection_rate/series", "no monitor stream:generic.events:rejection_rate"],
    ["/v1/monitors/source:nosuch:rejection_rate/series", "no monitor source:nosuch:rejection_rate"],
    ["/v1/anomalies?monitor=stream:generic.nosuch:freshness", "no monitor stream:generic.nosuch:freshness"],
    ["/v1/anomalies?monitor=stream:generic.events:schemas", "no monitor stream:generic.events:schemas"],
  ])("GET %s → 404", async (path, message) => {
    const response = await get(path);
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 404,
      body: { error: { code: "not_found", message, requestId: expect.any(String) } },
    });
  });
});
