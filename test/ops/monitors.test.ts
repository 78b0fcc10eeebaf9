/**
 * Automatic stream monitors: hourly volume and quarantine rate per declared stream, from the load
 * ledger, judged on the cron tick and stored per bucket; and the monitors API over what is stored.
 */
import { createExecutionContext, createScheduledController, env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { declaredStreams, getConfig } from "../../src/config/index.ts";
import { createRuntime } from "../../src/env.ts";
import { judgeStreamMonitors, settleMs } from "../../src/ops/monitors.ts";
import { hourMs } from "../../src/quality/stats.ts";
import { adminToken } from "../support/fixtures.ts";
import { flagged, historyStart, iso, type LedgerHour, normalHours, stored, writeLedger as writeHours } from "../support/monitors.ts";
import { consumeWith, labRecord, labRuntime, rows } from "../support/pipeline.ts";
import { seeded } from "../support/seeded.ts";
import { call, handler, origin } from "../support/worker.ts";

const start = historyStart;
/** One completed load per hour, ten minutes into it, from the first normal hour on. */
const writeLedger = (source: string, stream: string, hours: LedgerHour[], firstHourMs = start) =>
  writeHours(source, stream, hours, firstHourMs);

/** Loaded records per hour: a daily curve (30 at night, 130 at peak) with ±5% seeded noise. */
function loadedAt(hour: number, random: () => number): number {
  const profile = 0.3 + Math.max(0, Math.sin((((hour % 24) - 6) / 16) * Math.PI));
  return Math.round(100 * profile * (1 + (random() - 0.5) * 0.1));
}

/** Three normal weeks, then `tail` hours shaped by `change`. */
function history(seed: number, tail: number, change: (h: LedgerHour) => LedgerHour = (h) => h): LedgerHour[] {
  const random = seeded(seed);
  return Array.from({ length: normalHours + tail }, (_, hour) => {
    const loaded = loadedAt(hour, random);
    const normal = { loaded, quarantined: Math.round(loaded * 0.02 * (1 + (random() - 0.5) * 0.2)) };
    return hour < normalHours ? normal : change(normal);
  });
}

describe("stream monitors", () => {
  const streams = { dropping: {}, steady: {}, rejecting: {}, settling: {} };
  const runtime = labRuntime(streams);

  it("on first enable judges the whole history: a drop to 10% is flagged, the normal weeks are not", async () => {
    await writeLedger(
      "lab",
      "dropping",
      history(1, 3, (h) => ({ loaded: Math.round(h.loaded / 10), quarantined: 0 })),
    );
    await writeLedger("lab", "steady", history(2, 3));
    const now = new Date(start + (normalHours + 3) * hourMs + 10 * 60_000);
    await judgeStreamMonitors(runtime, now);

    const volume = await stored("stream:lab.dropping:volume");
    // Every complete hour but the first (it has nothing before it to be judged against).
    expect(volume).toHaveLength(normalHours + 3 - 1);
    expect(volume[0]).toMatchObject({ bucket_start: iso(start + hourMs), bucket_end: iso(start + 2 * hourMs) });
    expect(await flagged("stream:lab.dropping:volume")).toEqual([0, 1, 2].map((i) => iso(start + (normalHours + i) * hourMs)));
    expect(volume.at(-1)!.z).toBeLessThan(-3);
    expect(await flagged("stream:lab.steady:volume")).toEqual([]);
    expect(await flagged("stream:lab.steady:quarantine_rate")).toEqual([]);
    expect(await stored("stream:lab.steady:quarantine_rate")).toHaveLength(normalHours + 3 - 1);
  });

  it("flags a jump in the quarantine rate, and judges the rate only in hours with records", async () => {
    await writeLedger("lab", "rejecting", history(3, 0));
    await writeLedger(
      "lab",
      "rejecting",
      [
        { loaded: 0, quarantined: 0 },
        { loaded: 60, quarantined: 40 },
      ],
      start + normalHours * hourMs,
    );
    await judgeStreamMonitors(runtime, new Date(start + (normalHours + 2) * hourMs + 10 * 60_000));

    const rate = await stored("stream:lab.rejecting:quarantine_rate");
    const silentHour = iso(start + normalHours * hourMs);
    expect(rate.map((b) => b.bucket_start)).not.toContain(silentHour);
    expect(rate.at(-1)).toMatchObject({ bucket_start: iso(start + (normalHours + 1) * hourMs), value: 0.4, anomalous: 1 });
    expect(await flagged("stream:lab.rejecting:quarantine_rate")).toEqual([iso(start + (normalHours + 1) * hourMs)]);
  });

  it("never judges an hour still filling, judges each new hour once, and re-judges a bucket in place", async () => {
    await writeLedger("lab", "settling", history(4, 2));
    const lastHour = start + (normalHours + 1) * hourMs;
    // Two minutes after the last hour ended: a load that started in it may not have committed yet.
    expect(await judgeStreamMonitors(runtime, new Date(lastHour + hourMs + 2 * 60_000))).toBeGreaterThan(0);
    const volume = "stream:lab.settling:volume";
    expect((await stored(volume)).at(-1)!.bucket_end).toBe(iso(lastHour));

    const later = new Date(lastHour + hourMs + 10 * 60_000);
    expect(await judgeStreamMonitors(runtime, later)).toBe(3); // the last hour: volume, rate and freshness
    expect(await judgeStreamMonitors(runtime, later)).toBe(0); // nothing new
    const before = await stored(volume);
    expect(before.at(-1)!.bucket_end).toBe(iso(lastHour + hourMs));

    // Losing the last volume bucket rewinds the stream's volume: its hour is judged again, the rate's row
    // rewritten, not doubled; freshness keeps its own progress.
    await env.DB.prepare("DELETE FROM _sluice_monitor_buckets WHERE monitor_id = ?1 AND bucket_start = ?2")
      .bind(volume, iso(lastHour))
      .run();
    expect(await judgeStreamMonitors(runtime, later)).toBe(2);
    expect(await stored(volume)).toEqual(before);
    const rate = await rows<{ n: number }>(
      "SELECT count(*) AS n FROM _sluice_monitor_buckets WHERE monitor_id = ?1 AND bucket_start = ?2",
      "stream:lab.settling:quarantine_rate",
      iso(lastHour),
    );
    expect(rate).toEqual([{ n: 1 }]);
  });
});

describe("judging hour by hour", () => {
  it("trains on the stored buckets, not the ledger, and stores what a backfill of the same history stores", async () => {
    const ledger = history(7, 3, (h) => ({ loaded: Math.round(h.loaded / 10), quarantined: h.quarantined }));
    await writeLedger("lab", "hourly", ledger);
    await writeLedger("lab", "backfilled", ledger);
    const tick = (hours: number) => new Date(start + hours * hourMs + 10 * 60_000);
    await judgeStreamMonitors(labRuntime({ hourly: {} }), tick(normalHours));
    // Once judged, the ledger's hours are no longer read (but for the stream's first, never stored).
    await env.DB.prepare("DELETE FROM _sluice_loads WHERE source = 'lab' AND stream = 'hourly' AND started_at >= ?1 AND started_at < ?2")
      .bind(iso(start + hourMs), iso(start + normalHours * hourMs))
      .run();
    for (const hours of [normalHours + 1, normalHours + 2, normalHours + 3])
      await judgeStreamMonitors(labRuntime({ hourly: {} }), tick(hours));
    await judgeStreamMonitors(labRuntime({ backfilled: {} }), tick(normalHours + 3));

    const judged = (monitor: string) =>
      rows(
        `SELECT bucket_start, bucket_end, value, rows, expected_low, expected_high, z, anomalous FROM _sluice_monitor_buckets
         WHERE monitor_id = ?1 ORDER BY bucket_start`,
        monitor,
      );
    for (const kind of ["volume", "quarantine_rate"]) {
      const hourly = await judged(`stream:lab.hourly:${kind}`);
      expect(hourly).toHaveLength(normalHours + 3 - 1);
      expect(hourly).toEqual(await judged(`stream:lab.backfilled:${kind}`));
    }
    expect(await flagged("stream:lab.hourly:volume")).toEqual([0, 1, 2].map((i) => iso(start + (normalHours + i) * hourMs)));
  });
});

describe("records delivered through the consumer", () => {
  it("count in their load's hour: loaded as volume, quarantined in the rate", async () => {
    const runtime = labRuntime({ delivered: { schema: z.object({ id: z.number().int() }), contract: "freeze" } });
    await consumeWith(runtime, [
      labRecord("dl-1", { id: 1 }, "delivered"),
      labRecord("dl-2", { id: 2 }, "delivered"),
      labRecord("dl-3", { id: 3 }, "delivered"),
      labRecord("dl-bad", { id: "four" }, "delivered"),
    ]);
    const [load] = await rows<{ started_at: string }>("SELECT started_at FROM _sluice_loads WHERE stream = 'delivered'");
    const hour = Math.floor(Date.parse(load!.started_at) / hourMs) * hourMs;
    await writeLedger("lab", "delivered", [{ loaded: 5, quarantined: 0 }], hour - hourMs); // the hour before: the stream's first
    await judgeStreamMonitors(runtime, new Date(hour + hourMs + settleMs));

    const judged = (monitor: string) =>
      rows("SELECT bucket_start, value, rows FROM _sluice_monitor_buckets WHERE monitor_id = ?1", monitor);
    expect(await judged("stream:lab.delivered:volume")).toEqual([{ bucket_start: iso(hour), value: 3, rows: 3 }]);
    expect(await judged("stream:lab.delivered:quarantine_rate")).toEqual([{ bucket_start: iso(hour), value: 0.25, rows: 4 }]);
  });
});

describe("on the cron tick", () => {
  it("every tick judges the stream monitors, whatever else its cron owns", async () => {
    await writeLedger("slack", "messages", history(6, 0).slice(0, 48));
    const scheduledTime = start + 48 * hourMs + 30 * 60_000;
    await handler.scheduled!(createScheduledController({ cron: getConfig().lake.schedule, scheduledTime }), env, createExecutionContext());
    const volume = await stored("stream:slack.messages:volume");
    expect(volume.map((b) => b.bucket_start)).toEqual(Array.from({ length: 47 }, (_, i) => iso(start + (i + 1) * hourMs)));
    expect(volume.every((b) => b.anomalous === 0 && b.z === null)).toBe(true); // two days: too little history for statistics
  });
});

describe("monitors API", () => {
  const get = (path: string, token: string | null = adminToken) =>
    call(new Request(`${origin}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {}));
  const monitor = "stream:slack.reactions:volume";
  const dropStart = start + normalHours * hourMs;

  beforeAll(async () => {
    await writeLedger(
      "slack",
      "reactions",
      history(5, 3, (h) => ({ loaded: Math.round(h.loaded / 10), quarantined: 0 })),
    );
    await judgeStreamMonitors(createRuntime(env, "scheduled", getConfig()), new Date(dropStart + 3 * hourMs + 10 * 60_000));
  });

  describe("happy", () => {
    it("lists every declared stream's monitors with its last judged bucket and whether it is anomalous", async () => {
      const response = await get("/v1/monitors");
      expect(response.status).toBe(200);
      const { monitors } = (await response.json()) as { monitors: Record<string, unknown>[] };
      // Four per declared stream, one per webhook source.
      expect(monitors).toHaveLength(declaredStreams(getConfig()).length * 4 + Object.keys(getConfig().sources).length);
      expect(monitors.find((m) => m.id === monitor)).toEqual({
        id: monitor,
        kind: "volume",
        source: "slack",
        stream: "reactions",
        last_bucket: expect.objectContaining({ start: iso(dropStart + 2 * hourMs), end: iso(dropStart + 3 * hourMs), anomalous: true }),
        open_anomaly: true,
      });
      expect(monitors.find((m) => m.id === "stream:slack.reactions:quarantine_rate")).toMatchObject({ open_anomaly: false });
      expect(monitors.find((m) => m.id === "stream:stripe.charges:volume")).toEqual({
        id: "stream:stripe.charges:volume",
        kind: "volume",
        source: "stripe",
        stream: "charges",
        last_bucket: null,
        open_anomaly: false,
      });
    });

    it("gives a monitor's series between from and to, both inclusive, with the expected range", async () => {
      const from = iso(dropStart - hourMs);
      const to = iso(dropStart + hourMs);
      const response = await get(`/v1/monitors/${encodeURIComponent(monitor)}/series?from=${from}&to=${to}`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { monitor: string; buckets: Record<string, unknown>[] };
      expect(body.monitor).toBe(monitor);
      expect(body.buckets.map((b) => [b.start, b.anomalous])).toEqual([
        [from, false],
        [iso(dropStart), true],
        [to, true],
      ]);
      const [normal] = body.buckets;
      expect(Object.keys(normal!)).toEqual(["start", "end", "value", "expected_low", "expected_high", "z", "anomalous", "detail"]);
      expect(normal!.value).toBeGreaterThanOrEqual(normal!.expected_low as number);
      expect(normal!.value).toBeLessThanOrEqual(normal!.expected_high as number);
    });

    it("pages the anomalies newest first with a cursor", async () => {
      const pages: { anomalies: { monitor: string; start: string }[]; next_cursor: string | null }[] = [];
      let query = `monitor=${encodeURIComponent(monitor)}&limit=2`;
      for (;;) {
        const response = await get(`/v1/anomalies?${query}`);
        expect(response.status).toBe(200);
        const page = (await response.json()) as (typeof pages)[number];
        pages.push(page);
        if (page.next_cursor === null) break;
        query = `monitor=${encodeURIComponent(monitor)}&limit=2&cursor=${page.next_cursor}`;
      }
      expect(pages.map((p) => p.anomalies.map((a) => a.start))).toEqual([
        [iso(dropStart + 2 * hourMs), iso(dropStart + hourMs)],
        [iso(dropStart)],
      ]);
      const bounds = `from=${iso(dropStart + hourMs)}&to=${iso(dropStart + hourMs)}`;
      const bounded = (await (await get(`/v1/anomalies?monitor=${encodeURIComponent(monitor)}&${bounds}`)).json()) as {
        anomalies: { monitor: string; start: string }[];
      };
      expect(bounded.anomalies.map((a) => [a.monitor, a.start])).toEqual([[monitor, iso(dropStart + hourMs)]]);
    });
  });

  it("opens an anomaly incident for a monitor whose newest bucket is anomalous, linked to its chart", async () => {
    const response = await get(`/v1/incidents?kind=anomaly&subject=${encodeURIComponent(monitor)}`);
    const { incidents } = (await response.json()) as { incidents: Record<string, unknown>[] };
    expect(incidents).toEqual([
      expect.objectContaining({
        kind: "anomaly",
        subject: monitor,
        monitor,
        status: "open",
        chart: `/monitors/${encodeURIComponent(monitor)}`,
        value: expect.any(Number),
        expected_low: expect.any(Number),
        expected_high: expect.any(Number),
      }),
    ]);
    expect(incidents[0]!.message).toMatch(/^\d+ in 2041-01-28 02:00–03:00 UTC, expected [\d.]+–[\d.]+ \(z -[\d.]+\)$/);
  });

  describe("errors", () => {
    const errorOf = async (response: Response) => ({ status: response.status, body: await response.json() });
    const error = (status: number, code: string, message: string) => ({
      status,
      body: { error: { code, message, requestId: expect.any(String) } },
    });

    it.each([
      ["/v1/monitors/stream:slack.nope:volume/series", 404, "not_found", "no monitor stream:slack.nope:volume"],
      ["/v1/anomalies?monitor=stream:slack.reactions:rows", 404, "not_found", "no monitor stream:slack.reactions:rows"],
      [
        `/v1/monitors/${monitor}/series?from=2041-02-01T00:00:00Z&to=2041-01-01T00:00:00Z`,
        400,
        "bad_request",
        "✖ from must not be after to\n  → at to",
      ],
      ["/v1/anomalies?from=2041-02-01T00:00:00Z&to=2041-01-01T00:00:00Z", 400, "bad_request", "✖ from must not be after to\n  → at to"],
      [`/v1/monitors/${monitor}/series?from=yesterday`, 400, "bad_request", "✖ Invalid ISO datetime\n  → at from"],
      ["/v1/anomalies?to=2041-13-01", 400, "bad_request", "✖ Invalid ISO datetime\n  → at to"],
      ["/v1/anomalies?cursor=not-a-cursor", 400, "bad_request", 'parameter "cursor" is not a cursor this listing gave out'],
    ])("GET %s → %i %s", async (path, status, code, message) => {
      expect(await errorOf(await get(path))).toEqual(error(status, code, message));
    });
  });

  describe("security", () => {
    it.each(["/v1/monitors", `/v1/monitors/${monitor}/series`, "/v1/anomalies"])("GET %s needs an admin token", async (path) => {
      expect((await get(path, null)).status).toBe(401);
      expect((await get(path, "test-report-token")).status).toBe(401);
    });
  });
});
