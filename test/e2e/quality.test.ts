/**
 * The monitor charts and the data-quality page in a real browser: headless Chromium against a
 * real `wrangler dev`. Two weeks of hourly history cannot be sent in a test, so the seed step
 * writes what the stream monitor would have stored (`_sluice_monitor_buckets`, a daily rhythm with
 * a three-hour drop and a spike, no expected range in the first week) and the stream's first load
 * into the dev server's local D1 with `wrangler d1 execute`. Then the real paths run: a webhook is
 * loaded, the cron fires, the monitor judges the last complete hour (silent: anomalous) and opens
 * an incident. The browser reads the chart (band, points, anomaly markers, counted), the quality
 * page, acks and mutes the incident, meets no console errors, and leaves screenshots in
 * test/artifacts/ (monitor-chart.png, quality.png).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, queryLocalD1, startDevServer } from "../../scripts/lib/dev-server.ts";
import { adminToken, testSecrets } from "../support/fixtures.ts";
import { genericWebhook } from "../support/http.ts";
import { waitFor } from "../support/wait.ts";
import { artifactPath, launchChromium, signInAt, watchedPage } from "./browser.ts";

const hour = 3_600_000;
const settleMs = 5 * 60_000;
const monitor = "stream:generic.events:volume";
const chartUrl = `/monitors/${encodeURIComponent(monitor)}`;
const admin = { authorization: `Bearer ${adminToken}` };

/** Seeded hours: two weeks before the hour the cron will judge. */
const seeded = 14 * 24;
/** The drop (to a tenth, three hours) and the spike, as indexes into the seeded hours (all in the last week). */
const drop = [seeded - 60, seeded - 59, seeded - 58];
const spike = seeded - 30;

let server: DevServer;

beforeAll(async () => {
  server = await startDevServer({ vars: { ...testSecrets } });
});

afterAll(async () => {
  await server?.stop();
});

/** The rows a monitor stores for `seeded` hours ending at `endMs`, with the stream's first load the hour before them. */
function seedSql(endMs: number): string {
  const first = endMs - seeded * hour;
  const values = Array.from({ length: seeded }, (_, i) => {
    const start = first + i * hour;
    const base = 40 + 25 * Math.sin((2 * Math.PI * (new Date(start).getUTCHours() - 8)) / 24);
    const value = Math.round(drop.includes(i) ? base / 10 : i === spike ? base * 3 : base + ((i * 7) % 5) - 2);
    const spread = Math.sqrt(base) + 1;
    // The model has no statistics in the first week: no expected range, no z.
    const stats = i < 7 * 24;
    const [low, high, z] = stats ? ["NULL", "NULL", "NULL"] : [Math.max(0, base - 3 * spread), base + 3 * spread, (value - base) / spread];
    const anomalous = drop.includes(i) || i === spike ? 1 : 0;
    const iso = (ms: number) => `'${new Date(ms).toISOString()}'`;
    return `('${monitor}', ${iso(start)}, ${iso(start + hour)}, ${value}, ${value}, ${low}, ${high}, ${z}, ${anomalous}, ${iso(endMs)})`;
  });
  const firstLoad = new Date(first - hour + 10 * 60_000).toISOString();
  return `INSERT INTO _sluice_loads (load_id, source, stream, status, kind, records, inserted, duplicates, started_at, finished_at)
      VALUES ('ld_seeded_first_load', 'generic', 'events', 'loaded', 'ingest', 40, 40, 0, '${firstLoad}', '${firstLoad}');
    INSERT INTO _sluice_monitor_buckets (monitor_id, bucket_start, bucket_end, value, rows, expected_low, expected_high, z, anomalous, judged_at)
      VALUES ${values.join(",\n")};`;
}

describe("monitor charts and the data-quality page in Chromium", () => {
  it("charts a monitor's history with its band and anomalies, lists the incident its silence opened, and acks and mutes it", async () => {
    // The hour the cron judges is the last complete one (five minutes after its end); keep clear of the moment that changes.
    const sinceSettled = (Date.now() - settleMs) % hour;
    if (sinceSettled > hour - 90_000) await new Promise((done) => setTimeout(done, hour - sinceSettled + 1000));
    const judged = Math.floor((Date.now() - settleMs) / hour) * hour - hour;
    queryLocalD1(server.persistTo, seedSql(judged));

    // A real delivery, loaded in the hour still filling, which no monitor judges yet.
    expect((await fetch(await genericWebhook(server.url, { body: JSON.stringify({ type: "chart" }), eventId: "chart-1" }))).status).toBe(
      202,
    );
    await waitFor(
      "the delivery in the load ledger",
      async () => {
        const body = (await (await fetch(`${server.url}/v1/loads?source=generic`, { headers: admin })).json()) as { loads: unknown[] };
        return body.loads.length >= 2 ? true : undefined;
      },
      server.output,
    );
    expect((await fetch(`${server.url}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("30 * * * *")}`)).status).toBe(200);

    // The cron judged the silent hour: anomalous, with the range it expected, and opened an incident.
    const series = (await (await fetch(`${server.url}/v1/monitors/${encodeURIComponent(monitor)}/series`, { headers: admin })).json()) as {
      buckets: { start: string; value: number; expected_low: number | null; anomalous: boolean }[];
    };
    expect(series.buckets).toHaveLength(seeded + 1);
    expect(series.buckets.at(-1)).toMatchObject({ start: new Date(judged).toISOString(), value: 0, anomalous: true });
    expect(series.buckets.at(-1)!.expected_low).toBeGreaterThan(0);
    const listed = (await (await fetch(`${server.url}/v1/incidents?status=open&kind=anomaly`, { headers: admin })).json()) as {
      incidents: { id: string; subject: string; chart: string }[];
    };
    expect(listed.incidents).toMatchObject([{ subject: monitor }]);
    const incident = listed.incidents[0]!.id;

    const browser = await launchChromium();
    try {
      const { page, errors } = await watchedPage(browser);
      await signInAt(page, server.url);

      // The dashboard's thumbnail of the stream: the latest week, its anomalies marked, the incident beside it.
      const card = page.locator('#monitors article[data-subject="generic/events"]');
      expect(await card.locator("svg.monitor-chart polygon.anomaly").count()).toBe(5);
      expect(await card.locator(`.incidents li[data-incident="${incident}"]`).count()).toBe(1);

      // The chart page, from the thumbnail: the latest 168 buckets, one band, a dot per normal bucket, five diamonds.
      await Promise.all([page.waitForURL(`${server.url}${chartUrl}`), card.locator("figcaption a").click()]);
      const chart = page.locator("#chart svg.monitor-chart");
      expect(await chart.isVisible()).toBe(true);
      expect(await chart.locator("polygon.band").count()).toBe(1);
      expect(await chart.locator("circle.point").count()).toBe(168 - 5);
      const starts = await chart.locator("polygon.anomaly").evaluateAll((marks) => marks.map((m) => m.getAttribute("data-start")));
      const seededStart = (i: number) => new Date(judged - (seeded - i) * hour).toISOString();
      expect(starts).toEqual([...drop.map(seededStart), seededStart(spike), new Date(judged).toISOString()]);
      expect(await chart.locator("polygon.anomaly").last().locator("title").textContent()).toMatch(
        /^Anomaly: \d{4}-\d\d-\d\d \d\d:00 UTC: value 0, expected [\d.]+–[\d.]+, z -[\d.]+$/,
      );
      expect(await chart.locator("text.x-tick").count()).toBeGreaterThan(3);
      expect(await page.locator("#anomalies tr").count()).toBe(5);
      expect(await page.locator(`#monitor-incidents li[data-incident="${incident}"]`).count()).toBe(1);
      await page.locator("#chart").screenshot({ path: artifactPath("monitor-chart.png") });

      // All history: the first week has no expected range, so the band starts a week in.
      await Promise.all([page.waitForURL(/from=1970/), page.click("text=all history")]);
      expect(await chart.locator("circle.point").count()).toBe(seeded + 1 - 5);
      const band = (await chart.locator("polygon.band").getAttribute("points"))!.split(" ").map((p) => Number(p.split(",")[0]));
      const [left, right] = await chart
        .locator("g.axis line")
        .evaluate((l) => [Number(l.getAttribute("x1")), Number(l.getAttribute("x2"))]);
      expect(Math.min(...band) - left!).toBeCloseTo((7 * 24 * (right! - left!)) / (seeded + 1), 0);

      // The data-quality page, from the navigation: the open incident first, then the monitors, anomalous first.
      await Promise.all([page.waitForURL(`${server.url}/quality`), page.click('header nav a[href="/quality"]')]);
      const row = page.locator(`#open-incidents tr[data-incident="${incident}"]`);
      expect(await row.locator("td").allTextContents()).toEqual([
        "anomaly",
        monitor,
        expect.stringMatching(/UTC$/),
        expect.stringMatching(/^open for \d+s$/),
        expect.stringMatching(/^0 vs expected [\d.]+–[\d.]+$/),
        expect.stringMatching(/^nothing arrived in|^0 in/),
        "chart",
        "unhandled",
        expect.any(String),
      ]);
      expect(await page.locator("#monitor-states tbody tr").first().getAttribute("data-monitor")).toBe(monitor);
      expect(await page.locator("#monitor-states tbody tr").first().getAttribute("data-state")).toBe("anomalous");
      expect(await page.locator("#anomalies tr").first().getAttribute("data-start")).toBe(new Date(judged).toISOString());

      await Promise.all([page.waitForURL(/done=Acked/), row.locator("button", { hasText: "Ack" }).click()]);
      expect(await row.locator("td.state").textContent()).toMatch(/^acked \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
      await row.locator('select[name="for"]').selectOption("24h");
      await Promise.all([page.waitForURL(/done=Muted/), row.locator("button", { hasText: "Mute" }).click()]);
      expect(await row.locator("td.state").textContent()).toMatch(/^acked .* UTC, muted until .* UTC$/);
      await page.screenshot({ path: artifactPath("quality.png"), fullPage: true });

      // The chart link of the incident leads back to its chart.
      await Promise.all([page.waitForURL(`${server.url}${chartUrl}`), row.locator("a", { hasText: "chart" }).click()]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
