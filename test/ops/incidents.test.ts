/**
 * Incidents: one record per opening of a condition, notified once when it opens and once when it
 * resolves; acks and mutes through the ops API; open incidents as Prometheus gauges.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parse.ts";
import { createRuntime } from "../../src/env.ts";
import { type IncidentInput, muteIncident, openIncident, resolveIncident } from "../../src/ops/incidents.ts";
import { syncMonitorIncidents } from "../../src/ops/monitor-incidents.ts";
import { monitorSettings, tunedOptions } from "../../src/ops/monitor-settings.ts";
import { adminToken } from "../support/fixtures.ts";
import { rows } from "../support/pipeline.ts";
import { call, origin } from "../support/worker.ts";

const hookRuntime = (on: string[] = ["test_failed", "pull_failed", "anomaly"], monitors: unknown = undefined) => {
  const hook = `hook-${crypto.randomUUID().slice(0, 8)}`;
  const runtime = createRuntime(
    { ...env, ALERT_WEBHOOK: `${env.FAKE_API_URL}/__admin/hooks/${hook}`, SLUICE_PUBLIC_URL: "https://sluice.example.com" } as Env,
    "scheduled",
    parseConfig({ alerts: [{ on, webhook: "ALERT_WEBHOOK" }], ...(monitors ? { monitors } : {}) }),
  );
  const delivered = async () =>
    (await (await fetch(`${env.FAKE_API_URL}/__admin/hooks/${hook}`)).json()) as { text: string; incident: Record<string, unknown> }[];
  return { runtime, delivered };
};

const unique = (prefix: string) => `${prefix}.${crypto.randomUUID().slice(0, 8)}`;
const at = (iso: string) => new Date(iso);

type Row = { id: string; status: string; notifications: number; message: string; resolution: string | null; muted_until: string | null };
const incidentsOf = (subject: string) =>
  rows<Row>(
    "SELECT id, status, notifications, message, resolution, muted_until FROM _sluice_incidents WHERE subject = ?1 ORDER BY opened_at",
    subject,
  );

describe("opening and resolving", () => {
  it("notifies once when it opens and once when it resolves; coming back is a new incident", async () => {
    const { runtime, delivered } = hookRuntime();
    const subject = unique("test.sluice.unique_orders_id");
    const incident: IncidentInput = { kind: "test_failed", subject, message: "Got 2 results, configured to fail if != 0" };
    expect(await openIncident(runtime, incident, at("2041-01-01T10:00:00Z"))).toBe(true);
    // The next tick: still failing, no repeat, but what it says is refreshed.
    expect(
      await openIncident(runtime, { ...incident, message: "Got 3 results, configured to fail if != 0" }, at("2041-01-01T10:15:00Z")),
    ).toBe(false);
    expect(await resolveIncident(runtime, "test_failed", subject, "the test passes again", at("2041-01-01T12:20:00Z"))).toBe(true);
    expect(await resolveIncident(runtime, "test_failed", subject, "the test passes again")).toBe(false);
    expect(await openIncident(runtime, incident, at("2041-01-02T10:00:00Z"))).toBe(true);

    const sent = await delivered();
    expect(sent.map((m) => m.text)).toEqual([
      `:rotating_light: Sluice test failed: ${subject}. Got 2 results, configured to fail if != 0 <https://sluice.example.com/quality|Open the dashboard>`,
      `:white_check_mark: Resolved after 2h 20m: Sluice test failed: ${subject}. the test passes again <https://sluice.example.com/quality|Open the dashboard>`,
      `:rotating_light: Sluice test failed: ${subject}. Got 2 results, configured to fail if != 0 <https://sluice.example.com/quality|Open the dashboard>`,
    ]);
    expect(sent[1]!.incident).toMatchObject({
      event: "resolved",
      kind: "test_failed",
      subject,
      status: "resolved",
      message: "Got 3 results, configured to fail if != 0",
      resolution: "the test passes again",
      opened_at: "2041-01-01T10:00:00.000Z",
      last_seen_at: "2041-01-01T10:15:00.000Z",
      resolved_at: "2041-01-01T12:20:00.000Z",
      duration_seconds: 8400,
    });
    expect(await incidentsOf(subject)).toEqual([
      expect.objectContaining({ status: "resolved", notifications: 2, message: "Got 3 results, configured to fail if != 0" }),
      expect.objectContaining({ status: "open", notifications: 1, resolution: null }),
    ]);
  });

  it("only posts the kinds a rule asks for, and still records the rest", async () => {
    const { runtime, delivered } = hookRuntime();
    const subject = unique("stripe/charges");
    expect(await openIncident(runtime, { kind: "dead_letter", subject, message: "x" })).toBe(true);
    expect(await delivered()).toEqual([]);
    expect(await incidentsOf(subject)).toEqual([expect.objectContaining({ status: "open", notifications: 0 })]);
  });

  it("keeps one open incident per kind and subject when two checks open it at once", async () => {
    const { runtime } = hookRuntime();
    const subject = unique("github/issues");
    const opened = await Promise.all(
      Array.from({ length: 5 }, () => openIncident(runtime, { kind: "pull_failed", subject, message: "502 from the API" })),
    );
    expect(opened.filter(Boolean)).toHaveLength(1);
    expect(await incidentsOf(subject)).toHaveLength(1);
  });
});

describe("muting", () => {
  it("silences an incident and its subject's next ones until the mute ends", async () => {
    const { runtime, delivered } = hookRuntime();
    const subject = unique("stream:lab.flappy:volume");
    const anomaly: IncidentInput = { kind: "anomaly", subject, monitorId: subject, message: "2 in a 10:00–11:00 UTC", value: 2 };
    await openIncident(runtime, anomaly, at("2041-01-01T10:00:00Z"));
    const [first] = await incidentsOf(subject);
    await muteIncident(env.DB, first!.id, "2041-01-01T18:00:00.000Z");
    await resolveIncident(runtime, "anomaly", subject, "back in range", at("2041-01-01T11:00:00Z"));
    await openIncident(runtime, anomaly, at("2041-01-01T12:00:00Z")); // flaps back within the mute: still quiet
    await resolveIncident(runtime, "anomaly", subject, "back in range", at("2041-01-01T13:00:00Z"));
    await openIncident(runtime, anomaly, at("2041-01-01T19:00:00Z")); // after the mute: notified
    const sent = await delivered();
    expect(sent.map((m) => m.text)).toEqual([
      `:rotating_light: Sluice anomaly: ${subject}. 2 in a 10:00–11:00 UTC <https://sluice.example.com/monitors/${encodeURIComponent(subject)}|Open the chart>`,
      `:rotating_light: Sluice anomaly: ${subject}. 2 in a 10:00–11:00 UTC <https://sluice.example.com/monitors/${encodeURIComponent(subject)}|Open the chart>`,
    ]);
    expect(sent[0]!.incident).toMatchObject({ chart: `https://sluice.example.com/monitors/${encodeURIComponent(subject)}`, value: 2 });
    expect((await incidentsOf(subject)).map((i) => [i.status, i.notifications, i.muted_until])).toEqual([
      ["resolved", 1, "2041-01-01T18:00:00.000Z"],
      ["resolved", 0, "2041-01-01T18:00:00.000Z"],
      ["open", 1, null],
    ]);
  });
});

describe("anomaly incidents from monitors", () => {
  const bucket = (start: string, value: number, anomalous: boolean) => ({
    start,
    end: new Date(Date.parse(start) + 3_600_000).toISOString(),
    value,
    expectedLow: 80,
    expectedHigh: 140,
    z: anomalous ? -4.25 : 0.5,
    anomalous,
  });

  it("open while the newest bucket is anomalous, resolve on the first bucket back in range; test monitors are left to their test", async () => {
    const { runtime, delivered } = hookRuntime(["anomaly"]);
    const monitor = unique("stream:lab.sync:volume");
    const testMonitor = unique("test:test.sluice.volume_anomalies_orders");
    await syncMonitorIncidents(
      runtime,
      new Map([
        [monitor, bucket("2041-01-01T10:00:00.000Z", 12, true)],
        [testMonitor, bucket("2041-01-01T10:00:00.000Z", 12, true)],
      ]),
      at("2041-01-01T11:05:00Z"),
    );
    await syncMonitorIncidents(runtime, new Map([[monitor, bucket("2041-01-01T11:00:00.000Z", 20, true)]]), at("2041-01-01T12:05:00Z"));
    await syncMonitorIncidents(runtime, new Map([[monitor, bucket("2041-01-01T12:00:00.000Z", 95, false)]]), at("2041-01-01T13:05:00Z"));
    expect(await incidentsOf(testMonitor)).toEqual([]);
    expect(
      await rows(
        "SELECT status, message, resolution, value, expected_low, expected_high, monitor_id FROM _sluice_incidents WHERE subject = ?1",
        monitor,
      ),
    ).toEqual([
      {
        status: "resolved",
        message: "20 in 2041-01-01 11:00–12:00 UTC, expected 80–140 (z -4.3)",
        resolution: "back in range: 95 in 2041-01-01 12:00–13:00 UTC, expected 80–140 (z 0.5)",
        value: 20,
        expected_low: 80,
        expected_high: 140,
        monitor_id: monitor,
      },
    ]);
    expect((await delivered()).map((m) => m.text.split(" <")[0])).toEqual([
      `:rotating_light: Sluice anomaly: ${monitor}. 12 in 2041-01-01 10:00–11:00 UTC, expected 80–140 (z -4.3)`,
      `:white_check_mark: Resolved after 2h 0m: Sluice anomaly: ${monitor}. back in range: 95 in 2041-01-01 12:00–13:00 UTC, expected 80–140 (z 0.5)`,
    ]);
  });
});

describe("tuning", () => {
  const overrides = [
    { match: "stream:lab.*:volume", sensitivity: 4, direction: "drop" },
    { match: "stream:lab.noisy:*", incidents: false },
    { match: "stream:lab.noisy:volume", sensitivity: 5 },
  ];

  it("applies the last matching override field by field over the global sensitivity", () => {
    const config = parseConfig({ monitors: { sensitivity: 3.5, overrides } });
    expect(monitorSettings(config, "stream:lab.noisy:volume")).toEqual({ sensitivity: 5, direction: "drop", incidents: false });
    expect(monitorSettings(config, "stream:lab.calm:volume")).toEqual({ sensitivity: 4, direction: "drop", incidents: true });
    expect(monitorSettings(config, "stream:lab.calm:quarantine_rate")).toEqual({ sensitivity: 3.5, incidents: true });
    expect(tunedOptions(config, "stream:lab.calm:quarantine_rate", { bucketMs: 1, nowMs: 2, direction: "spike" as const })).toEqual({
      bucketMs: 1,
      nowMs: 2,
      direction: "spike",
      sensitivity: 3.5,
    });
  });

  it("a monitor tuned not to alert opens no incident, and its open one resolves", async () => {
    const monitor = unique("stream:lab.noisy:volume").replace(/\.([^.]*)$/, "$1");
    const { runtime } = hookRuntime(["anomaly"], { overrides: [{ match: monitor, incidents: false }] });
    const { runtime: before } = hookRuntime(["anomaly"]);
    const anomalous = {
      start: "2041-01-01T10:00:00.000Z",
      end: "2041-01-01T11:00:00.000Z",
      value: 1,
      expectedLow: 5,
      expectedHigh: 9,
      z: -5,
      anomalous: true,
    };
    await syncMonitorIncidents(before, new Map([[monitor, anomalous]]), at("2041-01-01T11:05:00Z"));
    await syncMonitorIncidents(
      runtime,
      new Map([[monitor, { ...anomalous, start: "2041-01-01T11:00:00.000Z", end: "2041-01-01T12:00:00.000Z" }]]),
      at("2041-01-01T12:05:00Z"),
    );
    expect(await rows("SELECT status, resolution FROM _sluice_incidents WHERE subject = ?1", monitor)).toEqual([
      { status: "resolved", resolution: "the monitor is tuned not to open incidents" },
    ]);
  });

  it.each([
    [{ sensitivity: 0 }, "✖ Too small: expected number to be >0\n  → at monitors.sensitivity"],
    [
      { overrides: [{ match: "stream:*", direction: "down" }] },
      '✖ Invalid option: expected one of "both"|"spike"|"drop"\n  → at monitors.overrides[0].direction',
    ],
    [{ overrides: [{ match: "stream:*", sensitivty: 4 }] }, '✖ Unrecognized key: "sensitivty"\n  → at monitors.overrides[0]'],
    [{ overrides: [{ sensitivity: 4 }] }, "✖ Invalid input: expected string, received undefined\n  → at monitors.overrides[0].match"],
  ])("refuses monitors %j: %s", (monitors, message) => {
    expect(() => parseConfig({ monitors })).toThrow(`pipeline config is invalid:\n${message}`);
  });
});

describe("incidents API", () => {
  const request = (path: string, init: RequestInit & { token?: string | null } = {}) => {
    const { token = adminToken, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (token) headers.set("authorization", `Bearer ${token}`);
    return call(new Request(`${origin}${path}`, { ...rest, headers }));
  };
  const post = (path: string, body?: unknown, token: string | null = adminToken) =>
    request(path, {
      method: "POST",
      token,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    });
  type View = Record<string, unknown> & { id: string; subject: string; status: string };
  const list = async (query: string) =>
    (await (await request(`/v1/incidents?${query}`)).json()) as { incidents: View[]; next_cursor: string | null };

  const seed = async (prefix: string) => {
    const runtime = createRuntime(env, "scheduled", parseConfig({}));
    const subjects = [0, 1, 2, 3].map((i) => `${prefix}-${i}`);
    for (const [i, subject] of subjects.entries())
      await openIncident(runtime, { kind: "load_failed", subject, message: `failure ${i}` }, at(`2041-02-0${i + 1}T00:00:00Z`));
    await resolveIncident(runtime, "load_failed", subjects[3]!, "the stream is loading again", at("2041-02-05T00:00:00Z"));
    return subjects;
  };

  describe("happy", () => {
    it("lists open incidents first, then newest first, in pages that end", async () => {
      const prefix = unique("api/listing");
      const subjects = await seed(prefix);
      const mine = (page: View[]) => page.filter((i) => i.subject.startsWith(prefix)).map((i) => i.subject);
      const all = await list("kind=load_failed&limit=500");
      expect(mine(all.incidents)).toEqual([subjects[2], subjects[1], subjects[0], subjects[3]]);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { incidents: View[]; next_cursor: string | null } = await list(
          `kind=load_failed&limit=1${cursor ? `&cursor=${cursor}` : ""}`,
        );
        seen.push(...mine(page.incidents));
        cursor = page.next_cursor;
      } while (cursor);
      expect(seen).toEqual(mine(all.incidents));
      expect(mine((await list("status=resolved&kind=load_failed&limit=500")).incidents)).toEqual([subjects[3]]);
      expect((await list(`subject=${encodeURIComponent(subjects[0]!)}`)).incidents).toEqual([
        // A stream's load incident is charted by the stream's volume.
        expect.objectContaining({
          kind: "load_failed",
          status: "open",
          message: "failure 0",
          monitor: `stream:${subjects[0]!.replace("/", ".")}:volume`,
          chart: `/monitors/${encodeURIComponent(`stream:${subjects[0]!.replace("/", ".")}:volume`)}`,
          muted: false,
          acked_at: null,
        }),
      ]);
    });

    it("acks (keeping the first ack's time) and mutes, then unmutes", async () => {
      const [subject] = await seed(unique("api/ack"));
      const [incident] = (await list(`subject=${encodeURIComponent(subject!)}`)).incidents;
      const acked = (await (await post(`/v1/incidents/${incident!.id}/ack`)).json()) as { incident: View };
      expect(acked.incident.acked_at).toEqual(expect.any(String));
      const again = (await (await post(`/v1/incidents/${incident!.id}/ack`)).json()) as { incident: View };
      expect(again.incident.acked_at).toBe(acked.incident.acked_at);

      const until = new Date(Date.now() + 3_600_000).toISOString();
      const mute = await post(`/v1/incidents/${incident!.id}/mute`, { until });
      expect(mute.status).toBe(200);
      expect(((await mute.json()) as { incident: View }).incident).toMatchObject({ muted_until: until, muted: true });
      const unmute = (await (await post(`/v1/incidents/${incident!.id}/mute`, { until: null })).json()) as { incident: View };
      expect(unmute.incident).toMatchObject({ muted_until: null, muted: false });
    });

    it("exports open and unhandled incidents per kind as gauges, every kind present", async () => {
      const text = await (await request("/metrics")).text();
      const gauge = (name: string, kind: string) => Number(new RegExp(`^${name}\\{kind="${kind}"\\} (\\d+)$`, "m").exec(text)?.[1]);
      const open = (
        await rows<{ kind: string; n: number }>("SELECT kind, count(*) AS n FROM _sluice_incidents WHERE status = 'open' GROUP BY 1")
      ).reduce<Record<string, number>>((acc, r) => Object.assign(acc, { [r.kind]: r.n }), {});
      for (const kind of [
        "test_failed",
        "freshness_error",
        "load_failed",
        "dead_letter",
        "pull_failed",
        "key_conflict",
        "anomaly",
        "sla",
      ]) {
        expect(gauge("sluice_incidents_open", kind)).toBe(open[kind] ?? 0);
        expect(gauge("sluice_incidents_unhandled", kind)).toBeLessThanOrEqual(open[kind] ?? 0);
      }
      expect(text).toContain("# TYPE sluice_incidents_open gauge");
    });
  });

  describe("errors", () => {
    const error = (status: number, code: string, message: string) => ({
      status,
      body: { error: { code, message, requestId: expect.any(String) } },
    });
    const answer = async (response: Response) => ({ status: response.status, body: await response.json() });

    it.each([
      ["/v1/incidents?status=closed", 400, "bad_request", '✖ Invalid option: expected one of "open"|"resolved"\n  → at status'],
      ["/v1/incidents?limit=0", 400, "bad_request", "✖ Too small: expected number to be >=1\n  → at limit"],
      ["/v1/incidents?cursor=bm9wZQ", 400, "bad_request", 'parameter "cursor" is not a cursor this listing gave out'],
    ])("GET %s → %i %s", async (path, status, code, message) => {
      expect(await answer(await request(path))).toEqual(error(status, code, message));
    });

    it.each([
      ["/v1/incidents/inc_nope/ack", undefined, 404, "not_found", "no incident inc_nope"],
      ["/v1/incidents/inc_nope/mute", { until: "2999-01-01T00:00:00Z" }, 404, "not_found", "no incident inc_nope"],
      [
        "/v1/incidents/inc_nope/mute",
        { until: "2001-01-01T00:00:00Z" },
        400,
        "bad_request",
        "until must be in the future (got 2001-01-01T00:00:00Z)",
      ],
      ["/v1/incidents/inc_nope/mute", { until: "tomorrow" }, 400, "bad_request", "✖ Invalid ISO datetime\n  → at until"],
      ["/v1/incidents/inc_nope/mute", {}, 400, "bad_request", "✖ Invalid input: expected string, received undefined\n  → at until"],
    ])("POST %s %j → %i %s", async (path, body, status, code, message) => {
      expect(await answer(await post(path, body))).toEqual(error(status, code, message));
    });

    it("refuses a mute whose body is not JSON", async () => {
      const response = await request("/v1/incidents/inc_nope/mute", {
        method: "POST",
        body: "until=tomorrow",
        headers: { "content-type": "text/plain" },
      });
      expect(response.status).toBe(415);
    });
  });

  describe("security", () => {
    it.each([
      ["GET", "/v1/incidents"],
      ["POST", "/v1/incidents/inc_nope/ack"],
      ["POST", "/v1/incidents/inc_nope/mute"],
    ])("%s %s needs an admin token", async (method, path) => {
      expect((await request(path, { method, token: null })).status).toBe(401);
      expect((await request(path, { method, token: "test-report-token" })).status).toBe(401);
    });
  });
});
