/**
 * The console's data-quality page and its ack and mute buttons, and incidents beside the charts,
 * through the real Worker and D1: incidents opened and resolved by ops/incidents.ts as the
 * pipeline opens them, buckets as the monitors store them.
 */
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { createRuntime } from "../../src/env.ts";
import { openIncident, resolveIncident } from "../../src/ops/incidents.ts";
import { seedBuckets, select, signIn } from "../support/console.ts";
import { rows } from "../support/pipeline.ts";
import { call, origin } from "../support/worker.ts";

const hour = 3_600_000;
const volume = "stream:stripe.charges:volume";
const rate = "stream:stripe.charges:quarantine_rate";

const get = async (path: string, cookie?: string) => call(new Request(`${origin}${path}`, cookie ? { headers: { cookie } } : {}));
const post = (path: string, cookie: string, form: Record<string, string> = {}, from = origin) =>
  call(
    new Request(`${origin}${path}`, {
      method: "POST",
      headers: { cookie, origin: from, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form),
    }),
  );

/** An anomaly on the charges volume (open 3 hours), a load failure on charges (open 1 hour), a test failure that resolved. */
async function seedIncidents() {
  const runtime = createRuntime(env, "scheduled");
  const ago = (hours: number) => new Date(Date.now() - hours * hour - 1000);
  await openIncident(
    runtime,
    {
      kind: "anomaly",
      subject: volume,
      monitorId: volume,
      message: "2 in …, expected 30–55 (z -7.5)",
      value: 2,
      expectedLow: 30,
      expectedHigh: 55,
    },
    ago(3),
  );
  await openIncident(runtime, { kind: "load_failed", subject: "stripe/charges", message: "D1 said no" }, ago(1));
  await openIncident(runtime, { kind: "test_failed", subject: "test.sluice.unique_orders_id", message: "Got 2 results" }, ago(30));
  await resolveIncident(runtime, "test_failed", "test.sluice.unique_orders_id", "the test passes again", ago(28));
  const ids = await rows<{ id: string; kind: string }>("SELECT id, kind FROM _sluice_incidents");
  return Object.fromEntries(ids.map((r) => [r.kind, r.id])) as Record<"anomaly" | "load_failed" | "test_failed", string>;
}

beforeEach(async () => {
  await env.DB.batch([env.DB.prepare("DELETE FROM _sluice_monitor_buckets"), env.DB.prepare("DELETE FROM _sluice_incidents")]);
});

describe("data-quality page: happy", () => {
  it("lists open incidents first, newest first, each with how long, value against expected, its chart and its state", async () => {
    const ids = await seedIncidents();
    const cookie = await signIn();
    const response = await get("/quality", cookie);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    const html = await response.text();
    const sections = (await select(html, "main > section")).map((s) => s.id);
    expect(sections).toEqual(["open-incidents", "monitor-states", "anomalies", "resolved-incidents"]);
    const open = await select(html, "#open-incidents tbody tr");
    expect(open.map((r) => r["data-incident"])).toEqual([ids.load_failed, ids.anomaly]);
    const cells = async (id: string) => (await select(html, `tr[data-incident="${id}"] td`)).map((c) => c.text.trim());
    const anomaly = await cells(ids.anomaly);
    expect(anomaly.slice(0, 2)).toEqual(["anomaly", volume]);
    expect(anomaly[2]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    expect(anomaly.slice(3, 8)).toEqual(["open for 3h 0m", "2 vs expected 30–55", "2 in …, expected 30–55 (z -7.5)", "chart", "unhandled"]);
    expect((await select(html, `tr[data-incident="${ids.anomaly}"] a`)).map((a) => a.href)).toEqual([
      `/monitors/${encodeURIComponent(volume)}`,
    ]);
    // A stream's load incident is charted by the stream's volume monitor.
    expect((await cells(ids.load_failed)).slice(3, 8)).toEqual(["open for 1h 0m", "", "D1 said no", "chart", "unhandled"]);
    // Every open incident can be acked and muted from here; resolved ones are history.
    expect((await select(html, "#open-incidents form")).map((f) => f.action)).toEqual([
      `/ui/incidents/${ids.load_failed}/ack`,
      `/ui/incidents/${ids.load_failed}/mute`,
      `/ui/incidents/${ids.anomaly}/ack`,
      `/ui/incidents/${ids.anomaly}/mute`,
    ]);
    expect((await select(html, "#resolved-incidents tbody tr")).map((r) => r["data-incident"])).toEqual([ids.test_failed]);
    expect((await cells(ids.test_failed)).slice(3, 6)).toEqual(["lasted 2h 0m", "", "the test passes again"]);
    expect(await select(html, "#resolved-incidents form")).toEqual([]);
  });

  it("lists every monitor with its latest state, anomalous first, then the newest anomalies of all, newest first", async () => {
    const volumeRows = await seedBuckets(volume, 20, { anomalous: [5, 19] });
    const rateRows = await seedBuckets(rate, 20, { anomalous: [12], endsHoursAgo: 2 });
    await seedBuckets("table:orders.email:null_rate", 3, { endsHoursAgo: 5 });
    const cookie = await signIn();
    const html = await (await get("/quality", cookie)).text();
    // A monitor of any kind with judged buckets is listed; the declared ones not judged yet are folded away.
    const monitors = await select(html, "#monitor-states tbody tr");
    expect(monitors.map((m) => [m["data-monitor"], m["data-state"]])).toEqual([
      [volume, "anomalous"],
      [rate, "normal"],
      ["table:orders.email:null_rate", "normal"],
    ]);
    const waiting = await select(html, "#monitor-states details#not-judged li");
    expect(waiting.every((m) => m["data-state"] === "not_judged")).toBe(true);
    expect(waiting.map((m) => m["data-monitor"])).toContain("stream:github.pushes:volume");
    expect(waiting.map((m) => m["data-monitor"])).not.toContain(volume);
    expect((await select(html, "#not-judged summary"))[0]!.text).toBe(`${waiting.length} monitors not judged yet`);
    expect((await select(html, `#monitor-states tr[data-monitor="${volume}"] td`)).map((c) => c.text)).toEqual([
      volume,
      "anomalous",
      `${volumeRows[19]!.bucketStart.slice(0, 16).replace("T", " ")} UTC`,
      "2",
      "expected 30–55",
      "z -7.5",
    ]);
    expect((await select(html, "#anomalies tr")).map((r) => [r["data-monitor"], r["data-start"]])).toEqual([
      [volume, volumeRows[19]!.bucketStart],
      [rate, rateRows[12]!.bucketStart],
      [volume, volumeRows[5]!.bucketStart],
    ]);
    expect((await select(html, "#open-incidents p"))[0]!.text).toBe("Nothing is open.");
  });

  it("says when no monitor has judged anything yet", async () => {
    const html = await (await get("/quality", await signIn())).text();
    expect(await select(html, "#monitor-states tbody tr")).toEqual([]);
    expect((await select(html, "#monitor-states p"))[0]!.text).toBe(
      "No monitor has judged a bucket yet: each judges an hour once it is complete.",
    );
    expect((await select(html, "#anomalies p"))[0]!.text).toBe("No monitor has flagged a bucket.");
  });

  it("is one link away on every console page", async () => {
    const cookie = await signIn();
    for (const path of ["/", "/quality", `/monitors/${encodeURIComponent(volume)}`]) {
      const html = await (await get(path, cookie)).text();
      expect((await select(html, 'header nav a[href="/quality"]')).map((a) => a.text)).toEqual(["Data quality"]);
    }
  });
});

describe("data-quality page: ack and mute", () => {
  it("acks an incident: the first ack's time is kept, and the page says so", async () => {
    const ids = await seedIncidents();
    const cookie = await signIn();
    const response = await post(`/ui/incidents/${ids.anomaly}/ack`, cookie);
    expect(response.status).toBe(303);
    expect(decodeURIComponent(response.headers.get("location")!)).toBe(`/quality?done=Acked anomaly incident on ${volume}`);
    const [first] = await rows<{ acked_at: string }>("SELECT acked_at FROM _sluice_incidents WHERE id = ?1", ids.anomaly);
    expect(Date.now() - Date.parse(first!.acked_at)).toBeLessThan(60_000);
    await post(`/ui/incidents/${ids.anomaly}/ack`, cookie);
    expect(await rows("SELECT acked_at FROM _sluice_incidents WHERE id = ?1", ids.anomaly)).toEqual([first]);
    const html = await (await get(response.headers.get("location")!, cookie)).text();
    expect((await select(html, "main > p.ok"))[0]!.text).toBe(`Acked anomaly incident on ${volume}`);
    expect((await select(html, `tr[data-incident="${ids.anomaly}"] td.state`))[0]!.text).toBe(
      `acked ${first!.acked_at.slice(0, 16).replace("T", " ")} UTC`,
    );
    expect((await select(html, `tr[data-incident="${ids.anomaly}"] form`)).map((f) => f.action)).toEqual([
      `/ui/incidents/${ids.anomaly}/mute`,
    ]);
  });

  it("mutes an incident for the time chosen, and unmutes it", async () => {
    const ids = await seedIncidents();
    const cookie = await signIn();
    const before = Date.now();
    const muted = await post(`/ui/incidents/${ids.load_failed}/mute`, cookie, { for: "4h" });
    expect(muted.status).toBe(303);
    const [row] = await rows<{ muted_until: string }>("SELECT muted_until FROM _sluice_incidents WHERE id = ?1", ids.load_failed);
    const until = Date.parse(row!.muted_until);
    expect(until).toBeGreaterThanOrEqual(before + 4 * hour);
    expect(until).toBeLessThan(Date.now() + 4 * hour + 1);
    const shown = `${row!.muted_until.slice(0, 16).replace("T", " ")} UTC`;
    expect(decodeURIComponent(muted.headers.get("location")!)).toBe(
      `/quality?done=Muted until ${shown}: load_failed incident on stripe/charges`,
    );
    const html = await (await get("/quality", cookie)).text();
    expect((await select(html, `tr[data-incident="${ids.load_failed}"] td.state`))[0]!.text).toBe(`muted until ${shown}`);
    expect((await select(html, `tr[data-incident="${ids.load_failed}"] button`)).map((b) => b.text)).toEqual(["Ack", "Unmute"]);

    const unmuted = await post(`/ui/incidents/${ids.load_failed}/mute`, cookie, { for: "off" });
    expect(decodeURIComponent(unmuted.headers.get("location")!)).toBe("/quality?done=Unmuted load_failed incident on stripe/charges");
    expect(await rows("SELECT muted_until FROM _sluice_incidents WHERE id = ?1", ids.load_failed)).toEqual([{ muted_until: null }]);
  });
});

describe("data-quality page: errors and security", () => {
  it("answers 404 for an incident that does not exist, and 400 for a mute time not offered", async () => {
    const ids = await seedIncidents();
    const cookie = await signIn();
    for (const path of ["/ui/incidents/inc_nope/ack", "/ui/incidents/inc_nope/mute"]) {
      const response = await post(path, cookie, { for: "1h" });
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: unknown }).error).toMatchObject({ code: "not_found", message: "no incident inc_nope" });
    }
    for (const form of [{ for: "forever" }, {}] as Record<string, string>[]) {
      const response = await post(`/ui/incidents/${ids.anomaly}/mute`, cookie, form);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "bad_request" });
    }
    expect(await rows("SELECT muted_until FROM _sluice_incidents WHERE id = ?1", ids.anomaly)).toEqual([{ muted_until: null }]);
  });

  it("refuses a cross-site post and a browser without a session, changing nothing", async () => {
    const ids = await seedIncidents();
    const cookie = await signIn();
    const crossSite = await post(`/ui/incidents/${ids.anomaly}/ack`, cookie, {}, "https://evil.example");
    expect(crossSite.status).toBe(403);
    const signedOut = await post(`/ui/incidents/${ids.anomaly}/mute`, "sluice_session=1.0", { for: "7d" });
    expect(signedOut.status).toBe(401);
    expect(await rows("SELECT acked_at, muted_until FROM _sluice_incidents WHERE id = ?1", ids.anomaly)).toEqual([
      { acked_at: null, muted_until: null },
    ]);
    const page = await get("/quality");
    expect(page.status).toBe(302);
    expect(page.headers.get("location")).toBe("/sign-in");
  });

  it("escapes what incidents say", async () => {
    const runtime = createRuntime(env, "scheduled");
    await openIncident(runtime, { kind: "load_failed", subject: "stripe/<i>charges</i>", message: `<img src=x onerror="alert(1)">` });
    const html = await (await get("/quality", await signIn())).text();
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<i>charges");
    expect((await select(html, "#open-incidents td"))[1]!.text).toBe("stripe/<i>charges</i>");
  });
});

describe("incidents beside the charts", () => {
  it("lists a stream's incidents beside its chart on the dashboard, open first, and none beside the others", async () => {
    const ids = await seedIncidents();
    const cookie = await signIn();
    const html = await (await get("/", cookie)).text();
    const beside = await select(html, '#monitors article[data-subject="stripe/charges"] .incidents li');
    expect(beside.map((i) => [i["data-incident"], i["data-status"]])).toEqual([
      [ids.load_failed, "open"],
      [ids.anomaly, "open"],
    ]);
    expect(beside[1]!.text).toBe(`open anomaly: ${volume}, open for 3h 0m, 2 vs expected 30–55 (unhandled)`);
    expect((await select(html, '#monitors article[data-subject="github/pushes"] .incidents p'))[0]!.text).toBe("No incidents.");
  });

  it("lists a monitor's incidents on its page", async () => {
    const ids = await seedIncidents();
    const html = await (await get(`/monitors/${encodeURIComponent(volume)}`, await signIn())).text();
    // Its own anomaly, and the stream's load incident, which it charts.
    expect((await select(html, "#monitor-incidents li")).map((i) => i["data-incident"]).sort()).toEqual(
      [ids.anomaly, ids.load_failed].sort(),
    );
  });
});
