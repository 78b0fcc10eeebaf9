import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { signIn } from "../support/console.ts";
import { adminToken, reportToken } from "../support/fixtures.ts";
import { call, origin, recordingQueue } from "../support/worker.ts";

const form = (token: string) =>
  new Request(`${origin}/sign-in`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin },
    body: new URLSearchParams({ token }),
  });

describe("dashboard: security", () => {
  it("redirects to sign-in without a session, and with a forged cookie", async () => {
    const none = await call(new Request(`${origin}/`));
    expect(none.status).toBe(302);
    expect(none.headers.get("location")).toBe("/sign-in");
    const forged = await call(new Request(`${origin}/`, { headers: { cookie: `sluice_session=9999999999.${"0".repeat(64)}` } }));
    expect(forged.status).toBe(302);
    const expired = await call(new Request(`${origin}/`, { headers: { cookie: `sluice_session=1000.${"a".repeat(64)}` } }));
    expect(expired.status).toBe(302);
  });

  it("refuses a token that is not an admin token", async () => {
    for (const token of ["nope", reportToken]) {
      const response = await call(form(token));
      expect(response.status).toBe(303);
      expect(response.headers.get("location")).toBe("/sign-in?error=1");
      expect(response.headers.get("set-cookie")).toBeNull();
    }
  });

  it("signs in with an admin token: a signed HttpOnly, Secure, SameSite=Strict cookie", async () => {
    const response = await call(form(adminToken));
    expect(response.headers.get("location")).toBe("/");
    const cookie = response.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^sluice_session=\d+\.[0-9a-f]{64}; Max-Age=43200; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
    expect(cookie).not.toContain(adminToken);
  });

  it("rejects a cross-site form post to an action", async () => {
    const cookie = await signIn();
    const response = await call(
      new Request(`${origin}/ui/build`, {
        method: "POST",
        headers: { cookie, origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" },
        body: "",
      }),
    );
    expect(response.status).toBe(403);
  });
});

describe("dashboard: happy", () => {
  it("shows every source and stream, freshness, runs, pulls and the lineage SVG, with security headers", async () => {
    const cookie = await signIn();
    const response = await call(new Request(`${origin}/`, { headers: { cookie } }));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("x-frame-options")).toBe("DENY");
    const html = await response.text();
    for (const source of ["stripe", "github", "shopify", "slack", "standard", "generic", "github_api", "stripe_api"]) {
      expect(html).toContain(`data-source="${source}"`);
    }
    expect(html).toContain('<svg id="lineage-graph"');
    expect(html).toContain('data-node="report:daily_revenue"');
    expect(html).toContain("Build now");
  });

  it("builds now from its button and says what it did", async () => {
    const cookie = await signIn();
    const response = await call(
      new Request(`${origin}/ui/build`, {
        method: "POST",
        headers: { cookie, origin, "content-type": "application/x-www-form-urlencoded" },
        body: "",
      }),
    );
    expect(response.status).toBe(303);
    // The example project builds cleanly over empty raw tables: every model succeeds and every test passes.
    const done = /^\/\?done=Build (run_[0-9a-z]+): success, (\d+) nodes$/.exec(decodeURIComponent(response.headers.get("location")!));
    expect(done).not.toBeNull();
    const [, runId, nodes] = done!;
    expect(
      await env.DB.prepare("SELECT status FROM _sluice_model_runs WHERE run_id = ?1")
        .bind(runId)
        .all()
        .then((r) => r.results),
    ).toEqual([{ status: "success" }]);
    const results = (
      await env.DB.prepare("SELECT status FROM _sluice_model_results WHERE run_id = ?1").bind(runId).all<{ status: string }>()
    ).results;
    expect(results).toHaveLength(Number(nodes));
    expect(results.filter((r) => r.status !== "success" && r.status !== "pass")).toEqual([]);
  });
});

describe("dashboard: replay button", () => {
  const press = (cookie: string, source: string, overrides: Partial<Env> = {}) =>
    call(
      new Request(`${origin}/ui/replay`, {
        method: "POST",
        headers: { cookie, origin, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ source }),
      }),
      overrides,
    );

  it("replays a pull source's last 24 hours, planned as POST /v1/replay plans it", async () => {
    const cookie = await signIn();
    const now = new Date();
    const day = now.toISOString().slice(0, 10);
    await env.RAW.put(`raw/github_api/issues/dt=${day}/hr=00/button-test.ndjson.gz`, new Uint8Array());
    const ingest = recordingQueue(env.INGEST);
    const response = await press(cookie, "github_api", { INGEST: ingest.queue });
    expect(response.status).toBe(303);
    const days = ingest.sent.map((s) => s.body as { kind: string; source: string; stream: string; day: string });
    expect(decodeURIComponent(response.headers.get("location")!)).toBe(`/?done=Queued ${days.length} replay tasks for github_api`);
    // The last 24 hours span yesterday and today.
    expect(days.map(({ kind, source, stream }) => ({ kind, source, stream }))).toEqual(
      Array(2).fill({ kind: "replay_day", source: "github_api", stream: "issues" }),
    );
    expect(days.at(-1)!.day).toBe(day);
  });

  it("refuses an unknown source with the API's error", async () => {
    const cookie = await signIn();
    const response = await press(cookie, "nosuch");
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error).toMatchObject({ code: "unknown_source", message: 'no source named "nosuch"' });
  });
});

describe("API docs", () => {
  it("serves /openapi.json and renders /docs", async () => {
    const doc = await call(new Request(`${origin}/openapi.json`));
    expect(doc.status).toBe(200);
    expect(((await doc.json()) as { openapi: string }).openapi).toBe("3.1.0");
    const page = await call(new Request(`${origin}/docs`));
    expect(await page.text()).toContain("<code>/v1/reports/daily_revenue</code>");
  });
});
