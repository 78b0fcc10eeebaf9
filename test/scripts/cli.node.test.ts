/** The `sluice` CLI's offline commands, run as a user runs them, on the fixture dbt project. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../scripts/lib/dev-server.ts";

const sluice = (...args: string[]) =>
  spawnSync(join(repoRoot, "node_modules", ".bin", "node"), ["scripts/sluice.ts", ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    env: { ...process.env, SLUICE_PIPELINE_DIR: "test/fixtures/shop" },
  });

describe("sluice CLI, offline", () => {
  it("ls lists the selection: graph operators, methods and exclusion", () => {
    const result = sluice("ls", "--select", "tag:staging", "--exclude", "stg_payments", "--select", "resource_type:seed,raw_orders");
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim().split("\n")).toEqual(["seed.shop.raw_orders", "model.shop.stg_orders", "model.shop.stg_customers"]);
  });

  it("compile prints the rendered SQL of each selected node", () => {
    const result = sluice("compile", "-s", "stg_orders");
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe(`-- model.shop.stg_orders (models/staging/stg_orders.sql)
with source as (
    select * from main."raw_orders"
),

renamed as (
    select
        id as order_id,
        user_id as customer_id,
        order_date,
        status
    from source
)

select * from renamed;

`);
  });

  it("fails with a clear message on an unknown selector method", () => {
    const result = sluice("ls", "--select", "colour:red");
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("sluice:");
    expect(result.stderr).toMatch(/colour/);
  });
});
