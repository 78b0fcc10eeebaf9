/**
 * A scheduled pull through a real `wrangler dev` and real queues: the cron fires, page tasks hop
 * through the PULL queue one at a time, records through INGEST into D1, from a fake GitHub API
 * served on a local port.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, queryLocalD1, startDevServer } from "../../scripts/lib/dev-server.ts";
import { startFakeApi } from "../support/fake-api.ts";
import { adminToken, testSecrets } from "../support/fixtures.ts";
import { waitFor } from "../support/wait.ts";

let server: DevServer;
let api: Awaited<ReturnType<typeof startFakeApi>>;

beforeAll(async () => {
  api = await startFakeApi();
  server = await startDevServer({
    vars: {
      ...testSecrets,
      GITHUB_API_URL: api.url,
      GITHUB_REPO: "acme/widgets",
      GITHUB_TOKEN: "fake-token",
      STRIPE_API_URL: api.url,
      STRIPE_API_KEY: "fake-token",
    },
  });
});

afterAll(async () => {
  await server?.stop();
  await api?.close();
});

const admin = { authorization: `Bearer ${adminToken}` };

const until = <T>(what: string, probe: () => Promise<T | undefined>) => waitFor(what, probe, () => server.output(), 60_000);

describe("scheduled pulls end to end", () => {
  it("the hourly cron pulls every GitHub issue and Stripe customer through the queues, once", async () => {
    const fired = await fetch(`${server.url}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("0 * * * *")}`);
    expect(fired.status).toBe(200);

    const runs = await until("both runs to complete", async () => {
      const body = (await (await fetch(`${server.url}/v1/pulls`, { headers: admin })).json()) as {
        runs: { source: string; status: string; pages: number; records: number }[];
      };
      return body.runs.length === 2 && body.runs.every((r) => r.status !== "running") ? body.runs : undefined;
    });
    expect(runs.map((r) => [r.source, r.status, r.pages, r.records]).sort()).toEqual([
      ["github_api", "completed", 3, 250],
      ["stripe_api", "completed", 3, 230],
    ]);

    // Every record arrives, once.
    const counts = await until("all records loaded", async () => {
      try {
        const [row] = queryLocalD1<{ issues: number; customers: number }>(
          server.persistTo,
          "SELECT (SELECT count(*) FROM raw_github_api__issues) AS issues, (SELECT count(*) FROM raw_stripe_api__customers) AS customers",
        );
        return row && row.issues === 250 && row.customers === 230 ? row : undefined;
      } catch {
        return undefined; // a table the first load has not created yet
      }
    });
    expect(counts).toEqual({ issues: 250, customers: 230 });
    const pages = api.state.requests.filter((r) => r.path.startsWith("/repos")).map((r) => r.query.page ?? "1");
    expect(pages).toEqual(["1", "2", "3"]);
  });
});
