/**
 * A pull's credentials stay with its origin: redirects within the API's origin are followed with
 * them, a redirect to another origin fails the run before anything is sent there, and loops end.
 * This file has two fake APIs of its own: the API, and one on another port that stands for the
 * other origin and logs what reaches it.
 */
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { SluiceConfigInput } from "../../src/config/schema.ts";
import { startPull } from "../../src/pull/planner.ts";
import { rows } from "../support/pipeline.ts";
import { pullRuntime, pump } from "../support/pump.ts";

type Logged = { method: string; path: string; query: Record<string, string>; headers: Record<string, string> };
const api = env.REDIRECTING_API_URL;
const elsewhere = env.OTHER_ORIGIN_API_URL;
const requestsTo = async (base: string) => (await (await fetch(`${base}/__admin/requests`)).json()) as Logged[];
const admin = (base: string, path: string, body: unknown) =>
  fetch(`${base}/__admin/${path}`, { method: "POST", body: JSON.stringify(body) });
const inject = (faults: object[]) => admin(api, "faults", faults);
const lastRun = async () =>
  (await rows<Record<string, unknown>>("SELECT * FROM _sluice_pull_runs WHERE source = 'keyed' ORDER BY started_at DESC LIMIT 1"))[0]!;

type Auth = NonNullable<SluiceConfigInput["pulls"]>[string]["auth"];
const apiKey: Auth = { type: "api_key", in: "header", name: "x-api-key", key: "GITHUB_TOKEN" };

/** Items paged by page number (20 a page, 95 in all) at `path`, with an API key header. */
const keyed = (path: string, auth: Auth = apiKey): SluiceConfigInput["pulls"] => ({
  keyed: {
    kind: "rest",
    baseUrl: { var: "REDIRECTING_API_URL" },
    auth,
    resources: {
      items: {
        path,
        params: { per_page: 20 },
        dataSelector: "items",
        paginator: { type: "page_number" },
        primaryKey: ["id"],
        schedule: "0 * * * *",
      },
    },
  },
});

const run = async (pulls: SluiceConfigInput["pulls"]) => {
  const p = pullRuntime(pulls);
  expect(await startPull(p.runtime, "keyed", "items", "manual")).toMatchObject({ started: true });
  await pump(p);
  return p;
};

beforeEach(async () => {
  await admin(api, "reset", {});
  await admin(elsewhere, "reset", {});
  for (const table of ["_sluice_pull_runs", "_sluice_pull_state", "_sluice_pull_leases"])
    await env.DB.prepare(`DELETE FROM ${table} WHERE source = 'keyed'`).run();
  await env.DB.prepare("DROP TABLE IF EXISTS raw_keyed__items").run();
});

const crossOrigin = `${api} redirected to another origin, ${elsewhere}; Sluice sends a source's credentials only to its own origin, so the run stops (if the API moved, set the source's base URL to the new origin)`;

describe("redirects to another origin", () => {
  it("fail the run at that page, naming both origins; the other origin gets no request, no key, and none of its records load", async () => {
    await inject([{ path: "/pages/items", page: 2, redirectTo: `${elsewhere}/pages/items`, status: 302 }]);
    const p = await run(keyed("/pages/items"));

    const failed = await lastRun();
    expect(failed).toMatchObject({ status: "failed", pages: 1, records: 20 });
    expect(failed.error).toBe(crossOrigin);
    // Terminal: no retries through the queue.
    expect(p.delays).toEqual([]);
    const reached = await requestsTo(elsewhere);
    expect(reached.filter((r) => "x-api-key" in r.headers)).toEqual([]);
    expect(reached).toEqual([]);
    expect(await rows("SELECT count(*) AS n, min(id) AS first, max(id) AS last FROM raw_keyed__items")).toEqual([
      { n: 20, first: 1, last: 20 },
    ]);
    expect(await rows("SELECT count(*) AS n FROM raw_keyed__items WHERE name LIKE 'elsewhere%'")).toEqual([{ n: 0 }]);
  });

  it("from the OAuth2 token endpoint fail the run before the client credentials go there", async () => {
    await inject([{ path: "/oauth/token", redirectTo: `${elsewhere}/oauth/token`, status: 307 }]);
    const oauth: Auth = {
      type: "oauth2_client_credentials",
      tokenUrl: `${api}/oauth/token`,
      clientId: "FAKE_CLIENT_ID",
      clientSecret: "FAKE_CLIENT_SECRET",
    };
    await run(keyed("/pages/items", oauth));

    const failed = await lastRun();
    expect(failed).toMatchObject({ status: "failed", pages: 0, records: 0 });
    expect(failed.error).toBe(`OAuth2 token request: ${crossOrigin}`);
    expect(await requestsTo(elsewhere)).toEqual([]);
    expect((await requestsTo(api)).map((r) => `${r.method} ${r.path}`)).toEqual(["POST /oauth/token"]);
  });
});

describe("redirects within the origin", () => {
  it.each([301, 302, 307, 308])("%i is followed with the API key, and every item loads once", async (status) => {
    await inject([{ path: "/moved", redirectTo: "/pages", status }]);
    await run(keyed("/moved/items"));

    expect(await lastRun()).toMatchObject({ status: "completed", pages: 6, records: 95, error: null });
    expect(await rows("SELECT count(*) AS n, count(DISTINCT id) AS d, min(name) AS a FROM raw_keyed__items")).toEqual([
      { n: 95, d: 95, a: "item 1" },
    ]);
    const served = (await requestsTo(api)).filter((r) => r.path === "/pages/items");
    expect(served.map((r) => [r.query.page, r.headers["x-api-key"]])).toEqual(
      ["1", "2", "3", "4", "5", "6"].map((page) => [page, "fake-token"]),
    );
  });

  it("a token endpoint that moved (307) still issues the token, with the POST and its credentials", async () => {
    await inject([{ path: "/oauth/moved", redirectTo: "/oauth", status: 307 }]);
    const oauth: Auth = {
      type: "oauth2_client_credentials",
      tokenUrl: `${api}/oauth/moved/token`,
      clientId: "FAKE_CLIENT_ID",
      clientSecret: "FAKE_CLIENT_SECRET",
    };
    await run(keyed("/pages/items", oauth));

    expect(await lastRun()).toMatchObject({ status: "completed", records: 95 });
    const token = (await requestsTo(api)).filter((r) => r.path.startsWith("/oauth"));
    expect(token.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /oauth/moved/token", "POST /oauth/token"]);
    expect(token[1]!.headers.authorization).toBe(`Basic ${btoa("fake-client:fake-client-secret")}`);
  });

  it("a redirect loop ends the run with an error, without retries", async () => {
    await inject([{ path: "/loop", redirectTo: "/loop" }]);
    const p = await run(keyed("/loop/items"));

    const failed = await lastRun();
    expect(failed).toMatchObject({ status: "failed", pages: 0 });
    expect(failed.error).toBe(`redirect loop on ${api}: /loop/items redirects to /loop/items, already visited`);
    expect(p.delays).toEqual([]);
    expect((await requestsTo(api)).length).toBe(1);
  });

  it("more than 5 redirects end the run with an error, after 6 requests", async () => {
    await inject([{ path: "/hop", redirectTo: "/hop/hop" }]);
    const p = await run(keyed("/hop/items"));

    const failed = await lastRun();
    expect(failed).toMatchObject({ status: "failed", pages: 0 });
    expect(failed.error).toBe(`more than 5 redirects from /hop/items on ${api}; the run stops`);
    expect(p.delays).toEqual([]);
    expect((await requestsTo(api)).map((r) => r.path)).toEqual([
      "/hop/items",
      "/hop/hop/items",
      "/hop/hop/hop/items",
      "/hop/hop/hop/hop/items",
      "/hop/hop/hop/hop/hop/items",
      "/hop/hop/hop/hop/hop/hop/items",
    ]);
  });
});
