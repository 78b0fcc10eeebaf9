/**
 * The console's monitor pictures, through the real Worker and D1: a chart page per monitor and a
 * thumbnail per stream on the dashboard, drawn from the judged buckets stored in
 * `_sluice_monitor_buckets`, whatever the monitor's kind.
 */
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { seedBuckets, select, signIn } from "../support/console.ts";
import { call, origin } from "../support/worker.ts";

const volume = "stream:stripe.charges:volume";

const get = async (path: string, cookie?: string) => call(new Request(`${origin}${path}`, cookie ? { headers: { cookie } } : {}));
const page = (id: string) => `/monitors/${encodeURIComponent(id)}`;

beforeEach(async () => {
  await env.DB.prepare("DELETE FROM _sluice_monitor_buckets").run();
});

describe("monitor page: happy", () => {
  it("charts the latest week of a monitor: band, a point per bucket, the anomalies marked and listed newest first", async () => {
    const rows = await seedBuckets(volume, 200, { anomalous: [150, 190], bare: 10 });
    const cookie = await signIn();
    const response = await get(page(volume), cookie);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    const html = await response.text();
    const shown = rows.slice(-168);
    expect(await select(html, "svg.monitor-chart")).toMatchObject([{ "data-monitor": volume, role: "img" }]);
    expect(await select(html, "svg.monitor-chart polygon.band")).toHaveLength(1);
    expect(await select(html, "svg.monitor-chart circle.point")).toHaveLength(166);
    expect((await select(html, "svg.monitor-chart polygon.anomaly")).map((a) => a["data-start"])).toEqual([
      rows[150]!.bucketStart,
      rows[190]!.bucketStart,
    ]);
    expect((await select(html, "#anomalies tr")).map((r) => r["data-start"])).toEqual([rows[190]!.bucketStart, rows[150]!.bucketStart]);
    expect((await select(html, "#anomalies h2"))[0]!.text).toBe("Anomalous buckets in this range (2)");
    expect((await select(html, "#chart p.muted"))[0]!.text).toContain(`Shown: 168 buckets from ${shown[0]!.bucketStart.slice(0, 10)}`);
    // The stream's other monitor is one link away; the console's navigation leads to the quality page.
    expect((await select(html, "#related a")).map((a) => a.href)).toEqual([page("stream:stripe.charges:quarantine_rate")]);
    expect((await select(html, "header nav a")).map((a) => a.href)).toEqual(["/", "/quality"]);
  });

  it("charts a range given as from and to, inclusive on the bucket start, with gaps in the band where history was short", async () => {
    const rows = await seedBuckets(volume, 30, { bare: 10, anomalous: [5] });
    const cookie = await signIn();
    const html = await (await get(`${page(volume)}?from=${rows[2]!.bucketStart}&to=${rows[12]!.bucketStart}`, cookie)).text();
    expect(await select(html, "circle.point")).toHaveLength(10);
    expect(await select(html, "polygon.anomaly")).toHaveLength(1);
    // Buckets 10..12 have a range, 2..9 do not: one band, over the last three.
    expect(await select(html, "polygon.band")).toHaveLength(1);
    const all = await (await get(`${page(volume)}?from=1970-01-01T00:00:00.000Z`, cookie)).text();
    expect(await select(all, "circle.point")).toHaveLength(29);
  });

  it("shows a declared monitor with no judged bucket as 'not judged yet'", async () => {
    const cookie = await signIn();
    const html = await (await get(page("stream:github.pushes:quarantine_rate"), cookie)).text();
    expect(await select(html, "svg.monitor-chart")).toMatchObject([{ "data-empty": "true" }]);
    expect((await select(html, "svg.monitor-chart text"))[0]!.text).toBe("Not judged yet");
  });

  it("has a page for any monitor with judged buckets, whatever its kind, and escapes its id", async () => {
    const id = `table:orders.<b>note</b>:null_rate`;
    await seedBuckets(id, 5);
    const cookie = await signIn();
    const response = await get(page(id), cookie);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).not.toContain("<b>note</b>");
    expect((await select(html, "#chart h2"))[0]!.text).toBe(id);
    expect(await select(html, "circle.point")).toHaveLength(5);
  });
});

describe("monitor page: errors and security", () => {
  it("answers 404 for a monitor that is neither declared nor judged", async () => {
    const cookie = await signIn();
    const response = await get(page("stream:stripe.nope:volume"), cookie);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: unknown }).error).toMatchObject({
      code: "not_found",
      message: "no monitor stream:stripe.nope:volume",
    });
  });

  it("refuses a range that is not ISO-8601 or runs backwards, as the monitors API does", async () => {
    const cookie = await signIn();
    const bad = await get(`${page(volume)}?from=yesterday`, cookie);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain("from");
    const backwards = await get(`${page(volume)}?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z`, cookie);
    expect(backwards.status).toBe(400);
    expect(((await backwards.json()) as { error: { message: string } }).error.message).toContain("from must not be after to");
  });

  it("sends a browser without a session to sign in", async () => {
    await seedBuckets(volume, 3);
    const response = await get(page(volume));
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/sign-in");
  });
});

describe("dashboard: monitor cards", () => {
  it("draws a thumbnail per stream from its volume monitor, linking to its page", async () => {
    await seedBuckets(volume, 200, { anomalous: [199] });
    const cookie = await signIn();
    const html = await (await get("/", cookie)).text();
    const cards = await select(html, "#monitors article.card");
    expect(cards.map((c) => c["data-subject"])).toEqual(expect.arrayContaining(["stripe/charges", "github/pushes", "generic/events"]));
    expect(cards.every((c) => c["data-kind"] === "stream")).toBe(true);
    const charts = await select(html, "#monitors svg.monitor-chart");
    expect(charts).toHaveLength(cards.length);
    const drawn = charts.filter((c) => c["data-empty"] !== "true");
    expect(drawn.map((c) => c["data-monitor"])).toEqual([volume]);
    // A thumbnail: the line and the band, anomalies marked, no dot per bucket.
    const chart = html.slice(html.indexOf(`data-monitor="${volume}"`), html.indexOf("</svg>", html.indexOf(`data-monitor="${volume}"`)));
    expect(chart).toContain('class="line"');
    expect(chart).toContain('class="band"');
    expect(chart.match(/class="anomaly"/g)).toHaveLength(1);
    expect(chart).not.toContain('class="point"');
    expect((await select(html, '#monitors article[data-subject="stripe/charges"] a')).map((a) => a.href)).toContain(page(volume));
  });
});
