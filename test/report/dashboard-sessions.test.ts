/**
 * The dashboard's defences: failed sign-ins are rate-limited per address as failed API tokens
 * are; every state-changing request must come from the dashboard's own origin whatever its
 * content type, sign-out included; and "sign out everywhere" revokes every session server-side.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { adminToken } from "../support/fixtures.ts";
import { call, freshRateWindow, origin } from "../support/worker.ts";

const tight = { AUTH_FAILURE_LIMITER: env.TIGHT_AUTH_FAILURE_LIMITER } as Partial<Env>;
type ErrorBody = { error: { code: string; message: string; requestId: string } };

function signInRequest(token: string, headers: Record<string, string> = {}): Request {
  return new Request(`${origin}/sign-in`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin, ...headers },
    body: new URLSearchParams({ token }),
  });
}

async function signIn(): Promise<string> {
  const response = await call(signInRequest(adminToken));
  expect(response.status).toBe(303);
  return response.headers.get("set-cookie")!.split(";")[0]!;
}

const post = (path: string, headers: Record<string, string>, body = "") =>
  call(new Request(`${origin}${path}`, { method: "POST", headers, body }));
const page = (cookie: string) => call(new Request(`${origin}/`, { headers: { cookie } }));
const generation = () => env.DB.prepare("SELECT generation FROM _sluice_session_generation").first<number>("generation");
const modelRuns = async () => (await env.DB.prepare("SELECT count(*) AS n FROM _sluice_model_runs").first<number>("n")) ?? 0;

describe("dashboard sign-in: rate limit", () => {
  it("answers 429 once an address has failed too often, then refuses even the right token from it", async () => {
    await freshRateWindow(60);
    const address = { "cf-connecting-ip": "203.0.113.77" };
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await call(signInRequest(`wrong-${i}`, address), tight)).status);
    // The tight limiter allows two failures a minute.
    expect(statuses).toEqual([303, 303, 429]);

    const right = await call(signInRequest(adminToken, address), tight);
    expect(right.status).toBe(429);
    expect(Number(right.headers.get("retry-after"))).toBeGreaterThan(55);
    expect(right.headers.get("set-cookie")).toBeNull();
    expect(((await right.json()) as ErrorBody).error).toMatchObject({
      code: "rate_limited",
      message: expect.stringMatching(/^too many failed authentication attempts from this address; retry after \d+ s$/),
    });

    // Another address signs in.
    const other = await call(signInRequest(adminToken, { "cf-connecting-ip": "198.51.100.77" }), tight);
    expect(other.status).toBe(303);
    expect(other.headers.get("set-cookie")).toMatch(/^sluice_session=/);
  });

  it("shares the budget with failed API tokens from the same address", async () => {
    await freshRateWindow(60);
    const address = { "cf-connecting-ip": "203.0.113.78" };
    for (let i = 0; i < 2; i++) {
      expect(
        (await call(new Request(`${origin}/v1/loads`, { headers: { authorization: "Bearer wrong", ...address } }), tight)).status,
      ).toBe(401);
    }
    expect((await call(signInRequest("still-wrong", address), tight)).status).toBe(429);
  });
});

describe("dashboard CSRF: every state-changing request, whatever its content type", () => {
  const crossSite: [string, Record<string, string>][] = [
    ["JSON from another origin", { origin: "https://evil.example", "content-type": "application/json" }],
    ["JSON with Sec-Fetch-Site: cross-site", { "sec-fetch-site": "cross-site", "content-type": "application/json" }],
    ["text/xml with no Origin", { "content-type": "text/xml" }],
    ["no content type and no Origin", {}],
    ["a form from another origin", { origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" }],
  ];

  for (const [what, headers] of crossSite) {
    it(`refuses ${what} to an action with 403, and does nothing`, async () => {
      const cookie = await signIn();
      const runs = await modelRuns();
      const response = await post("/ui/build", { cookie, ...headers }, headers["content-type"] === "application/json" ? "{}" : "");
      expect(response.status).toBe(403);
      expect(((await response.json()) as ErrorBody).error).toMatchObject({
        code: "forbidden",
        message: "cross-site request refused: dashboard forms must be posted from this origin",
      });
      expect(await modelRuns()).toBe(runs);
    });
  }

  it("accepts JSON from the same origin", async () => {
    const cookie = await signIn();
    const response = await post("/ui/redrive", { cookie, "sec-fetch-site": "same-origin", "content-type": "application/json" }, "{}");
    expect(response.status).toBe(303);
    expect(decodeURIComponent(response.headers.get("location")!)).toMatch(/^\/\?done=Redrove \d+ dead letters$/);
  });

  it("refuses a cross-site sign-in, with any content type", async () => {
    const json = await call(
      new Request(`${origin}/sign-in`, {
        method: "POST",
        headers: { origin: "https://evil.example", "content-type": "application/json" },
        body: JSON.stringify({ token: adminToken }),
      }),
    );
    expect(json.status).toBe(403);
    expect(json.headers.get("set-cookie")).toBeNull();
  });
});

describe("dashboard sign-out", () => {
  it("refuses a cross-site sign-out: the session stays", async () => {
    const cookie = await signIn();
    const attempts: Record<string, string>[] = [
      { origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" },
      { "content-type": "application/json" },
    ];
    for (const headers of attempts) {
      const response = await post("/sign-out", { cookie, ...headers });
      expect(response.status).toBe(403);
      expect(response.headers.get("set-cookie")).toBeNull();
    }
    expect((await page(cookie)).status).toBe(200);
  });

  it("signs out from the same origin: the cookie is cleared", async () => {
    const cookie = await signIn();
    const response = await post("/sign-out", { cookie, origin, "content-type": "application/x-www-form-urlencoded" });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/sign-in");
    expect(response.headers.get("set-cookie")).toMatch(/^sluice_session=; Max-Age=0; Path=\/; Secure/);
  });
});

describe("dashboard sessions: sign out everywhere", () => {
  it("revokes every session server-side, including copies of the cookie elsewhere", async () => {
    const mine = await signIn();
    const elsewhere = await signIn();
    expect((await page(elsewhere)).status).toBe(200);
    const before = (await generation()) ?? 0;

    const response = await post("/sign-out-everywhere", { cookie: mine, origin, "content-type": "application/x-www-form-urlencoded" });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/sign-in");
    expect(response.headers.get("set-cookie")).toMatch(/^sluice_session=; Max-Age=0/);
    expect(await generation()).toBe(before + 1);

    // Both cookies still carry a valid expiry and signature, but of a revoked generation.
    for (const cookie of [mine, elsewhere]) {
      const home = await page(cookie);
      expect(home.status).toBe(302);
      expect(home.headers.get("location")).toBe("/sign-in");
      const runs = await modelRuns();
      const action = await post("/ui/build", { cookie, origin, "content-type": "application/x-www-form-urlencoded" });
      expect(action.status).toBe(401);
      expect(((await action.json()) as ErrorBody).error).toMatchObject({ code: "unauthorized", message: "sign in to the dashboard first" });
      expect(await modelRuns()).toBe(runs);
    }

    // A new sign-in gets a session of the new generation.
    expect((await page(await signIn())).status).toBe(200);
  });

  it("refuses a cross-site or sessionless sign-out-everywhere, and revokes nothing", async () => {
    const cookie = await signIn();
    const before = await generation();
    const cross = await post("/sign-out-everywhere", {
      cookie,
      origin: "https://evil.example",
      "content-type": "application/x-www-form-urlencoded",
    });
    expect(cross.status).toBe(403);
    const sessionless = await post("/sign-out-everywhere", { origin, "content-type": "application/x-www-form-urlencoded" });
    expect(sessionless.status).toBe(401);
    expect(((await sessionless.json()) as ErrorBody).error).toMatchObject({
      code: "unauthorized",
      message: "sign in to the dashboard first",
    });
    expect(await generation()).toBe(before);
    expect((await page(cookie)).status).toBe(200);
  });

  it("offers the button on the page", async () => {
    const html = await (await page(await signIn())).text();
    expect(html).toContain('<form class="inline" method="post" action="/sign-out-everywhere">');
  });
});
