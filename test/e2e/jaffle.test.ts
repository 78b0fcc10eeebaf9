/**
 * test/fixtures/jaffle as a user runs it: `wrangler dev` over that pipeline folder (its dbt
 * project, with shop_utils in dbt_packages/), and dbt builds requested over HTTP with and without
 * the run vars that enable its seeds, then read back from the runs API and from D1.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, queryLocalD1, startDevServer } from "../../scripts/lib/dev-server.ts";
import { adminToken, testSecrets } from "../support/fixtures.ts";

let server: DevServer;

beforeAll(async () => {
  server = await startDevServer({ vars: testSecrets, pipelineDir: "test/fixtures/jaffle" });
});

afterAll(async () => {
  await server?.stop();
});

interface BuildAnswer {
  run_id: string;
  status: string;
  results: { unique_id: string; status: string; message: string | null }[];
}

const build = async (body: unknown) => {
  const response = await fetch(`${server.url}/v1/models/build`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as BuildAnswer & { error?: { code: string; message: string } } };
};

const seeds = ["seed.jaffle.raw_customers", "seed.jaffle.raw_products", "seed.jaffle.raw_orders", "seed.jaffle.raw_items"];
const marts = ["model.jaffle.orders", "model.jaffle.customers", "model.jaffle.order_statuses", "model.jaffle.daily_revenue"];

describe("POST /v1/models/build on the jaffle project", () => {
  it("builds seeds and models with load_source_data, and without it leaves the seeds disabled", async () => {
    const loaded = await build({ vars: { load_source_data: true } });
    expect(loaded.status, JSON.stringify(loaded.body)).toBe(200);
    expect(loaded.body.status).toBe("success");
    const statusOf = (answer: BuildAnswer) => new Map(answer.results.map((r) => [r.unique_id, r.status]));
    for (const id of [...seeds, ...marts]) expect(statusOf(loaded.body).get(id)).toBe("success");
    expect(loaded.body.results.filter((r) => r.status !== "success" && r.status !== "pass")).toEqual([]);

    const run = await fetch(`${server.url}/v1/runs/${loaded.body.run_id}`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(run.status).toBe(200);
    const stored = (await run.json()) as {
      run: { status: string; args: { vars?: unknown } };
      results: { uniqueId: string; status: string }[];
    };
    expect(stored.run).toMatchObject({ status: "success", args: { vars: { load_source_data: true } } });
    const storedSeeds = stored.results.filter((r) => r.uniqueId.startsWith("seed.")).map((r) => [r.uniqueId, r.status]);
    expect(storedSeeds.sort()).toEqual(seeds.map((id) => [id, "success"]).sort());
    expect(stored.results).toHaveLength(loaded.body.results.length);
    expect(queryLocalD1(server.persistTo, "SELECT customer_id, order_count, customer_type FROM customers ORDER BY customer_id")).toEqual([
      { customer_id: 1, order_count: 2, customer_type: "returning" },
      { customer_id: 2, order_count: 1, customer_type: "new" },
      { customer_id: 3, order_count: 1, customer_type: "new" },
      { customer_id: 4, order_count: 0, customer_type: "prospect" },
    ]);

    // Without the var the seeds are disabled: not run, and the raw tables the first build loaded stay.
    const plain = await build({});
    expect(plain.status, JSON.stringify(plain.body)).toBe(200);
    expect(plain.body.results.filter((r) => r.unique_id.startsWith("seed."))).toEqual([]);
    for (const id of marts) expect(statusOf(plain.body).get(id)).toBe("success");
  });
});

describe("POST /v1/models/build: bad vars", () => {
  const refused = async (vars: unknown, message: string) => {
    const answer = await build({ vars });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: { code: "bad_request", message, requestId: expect.any(String) } });
  };
  const notMapping = '✖ vars must be a mapping, or YAML or JSON text of one, such as {"start_date": "2024-01-01"}\n  → at vars';

  it("refuses vars that are not a mapping: a list, a number, YAML text of a list", async () => {
    await refused(["load_source_data"], notMapping);
    await refused(7, notMapping);
    await refused("- load_source_data\n- true\n", notMapping);
  });

  it("refuses vars the project does not compile with, naming the file", async () => {
    await refused(
      { revenue_orders_model: "nope" },
      "the project does not compile with these vars: models/marts/finance/daily_revenue.sql:1: ref('nope') names no model, seed or snapshot",
    );
    await refused(
      { load_source_data: "sometimes" },
      "the project does not compile with these vars: seeds/shop-data/raw_customers.csv: invalid config: enabled: Invalid input: expected boolean, received string",
    );
  });
});
