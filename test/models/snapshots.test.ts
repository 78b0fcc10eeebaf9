import { beforeEach, describe, expect, it } from "vitest";
import { compileManifest } from "../../src/models/compile/index.ts";
import { buildManifest, exec, rows } from "../support/pipeline.ts";

const sqlSnapshot = (config: string, select = "select id, tier, seats from snap_src") =>
  compileManifest({
    projectYaml: "name: snap\n",
    models: [],
    snapshots: [{ path: "snapshots/accounts.sql", sql: `{% snapshot accounts %}\n{{ config(${config}) }}\n${select}\n{% endsnapshot %}` }],
    sources: {},
  });

const run = async (m: Parameters<typeof buildManifest>[0]) => {
  const summary = await buildManifest(m);
  return summary.results.find((r) => r.resourceType === "snapshot")!;
};

type Version = {
  id: number;
  tier: string;
  dbt_valid_from: string;
  dbt_valid_to: string | null;
  dbt_scd_id: string;
  dbt_updated_at: string;
};
const versions = (extra = "") =>
  rows<Version & Record<string, unknown>>(
    `SELECT id, tier, dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to${extra} FROM accounts ORDER BY id, dbt_valid_from, dbt_valid_to IS NULL`,
  );

beforeEach(async () => {
  await exec("DROP TABLE IF EXISTS accounts");
  await exec("DROP TABLE IF EXISTS snap_src");
  await exec("CREATE TABLE snap_src (id INTEGER, tier TEXT, seats INTEGER)");
  await exec("INSERT INTO snap_src VALUES (1, 'free', 1), (2, 'free', 1)");
});

describe("check snapshots", () => {
  it("closes and opens a version when a check column changes, at the snapshot's time, and ignores other columns", async () => {
    const m = await sqlSnapshot("unique_key='id', strategy='check', check_cols=['tier']");
    await run(m);
    await exec("UPDATE snap_src SET tier = 'pro' WHERE id = 1");
    await exec("UPDATE snap_src SET seats = 5 WHERE id = 2");
    await run(m);
    const [first, second, other] = await versions();
    expect(first).toMatchObject({ id: 1, tier: "free" });
    expect(second).toMatchObject({ id: 1, tier: "pro", dbt_valid_to: null });
    expect(first!.dbt_valid_to).toBe(second!.dbt_valid_from);
    expect(second!.dbt_valid_from > first!.dbt_valid_from).toBe(true);
    expect(second!.dbt_scd_id).toBe(`1|${second!.dbt_valid_from}`);
    expect(second!.dbt_updated_at).toBe(second!.dbt_valid_from);
    expect(other).toMatchObject({ id: 2, tier: "free", dbt_valid_to: null, dbt_valid_from: first!.dbt_valid_from });
    expect(await rows("SELECT count(*) AS n FROM accounts")).toEqual([{ n: 3 }]);
  });

  it("check_cols='all' versions a change in any column; new source columns are added to the table", async () => {
    const m = await sqlSnapshot("unique_key='id', strategy='check', check_cols='all'");
    await run(m);
    await exec("UPDATE snap_src SET seats = 5 WHERE id = 2");
    await run(m);
    expect((await versions()).map((v) => [v.id, v.dbt_valid_to === null])).toEqual([
      [1, true],
      [2, false],
      [2, true],
    ]);
    const widened = await sqlSnapshot(
      "unique_key='id', strategy='check', check_cols='all'",
      "select id, tier, seats, 'eu' as region from snap_src",
    );
    await run(widened);
    expect((await rows<{ name: string }>("SELECT name FROM pragma_table_info('accounts')")).map((c) => c.name)).toEqual([
      "id",
      "tier",
      "seats",
      "dbt_scd_id",
      "dbt_updated_at",
      "dbt_valid_from",
      "dbt_valid_to",
      "region",
    ]);
    expect(await rows("SELECT id, region FROM accounts WHERE dbt_valid_to IS NULL ORDER BY id")).toEqual([
      { id: 1, region: "eu" },
      { id: 2, region: "eu" },
    ]);
  });
});

describe("hard deletes", () => {
  it("ignore (the default) keeps a deleted row current", async () => {
    const m = await sqlSnapshot("unique_key='id', strategy='check', check_cols=['tier']");
    await run(m);
    await exec("DELETE FROM snap_src WHERE id = 2");
    await run(m);
    expect(await rows("SELECT id FROM accounts WHERE dbt_valid_to IS NULL ORDER BY id")).toEqual([{ id: 1 }, { id: 2 }]);
  });

  it.each([
    ["hard_deletes='invalidate'", "invalidate"],
    ["invalidate_hard_deletes=true", "invalidate"],
  ])("%s closes a deleted row's version; the row coming back opens a new one", async (setting) => {
    const m = await sqlSnapshot(`unique_key='id', strategy='check', check_cols=['tier'], ${setting}`);
    expect(m.nodes[0]!.config.hard_deletes).toBe("invalidate");
    await run(m);
    await exec("DELETE FROM snap_src WHERE id = 2");
    await run(m);
    expect(await rows("SELECT id, dbt_valid_to IS NULL AS current FROM accounts ORDER BY id")).toEqual([
      { id: 1, current: 1 },
      { id: 2, current: 0 },
    ]);
    await exec("INSERT INTO snap_src VALUES (2, 'free', 1)");
    await run(m);
    expect(await rows("SELECT id, dbt_valid_to IS NULL AS current FROM accounts ORDER BY id, current")).toEqual([
      { id: 1, current: 1 },
      { id: 2, current: 0 },
      { id: 2, current: 1 },
    ]);
  });

  it("new_record opens a version marked dbt_is_deleted = 'True' with the row's last values, closed when the row comes back", async () => {
    const m = await sqlSnapshot("unique_key='id', strategy='check', check_cols=['tier'], hard_deletes='new_record'");
    await run(m);
    await exec("DELETE FROM snap_src WHERE id = 2");
    await run(m);
    const deleted = await versions(", seats, dbt_is_deleted");
    expect(
      deleted.map(({ id, tier, seats, dbt_is_deleted, dbt_valid_to }) => [id, tier, seats, dbt_is_deleted, dbt_valid_to === null]),
    ).toEqual([
      [1, "free", 1, "False", true],
      [2, "free", 1, "False", false],
      [2, "free", 1, "True", true],
    ]);
    expect(deleted[1]!.dbt_valid_to).toBe(deleted[2]!.dbt_valid_from);
    // A second run with the row still gone adds nothing.
    await run(m);
    expect(await rows("SELECT count(*) AS n FROM accounts")).toEqual([{ n: 3 }]);
    await exec("INSERT INTO snap_src VALUES (2, 'pro', 1)");
    await run(m);
    expect(
      (await versions(", dbt_is_deleted")).filter((v) => v.id === 2).map((v) => [v.tier, v.dbt_is_deleted, v.dbt_valid_to === null]),
    ).toEqual([
      ["free", "False", false],
      ["free", "True", false],
      ["pro", "False", true],
    ]);
  });
});

describe("snapshots declared in YAML", () => {
  it("snapshots a source named by relation, with the config and description of its properties", async () => {
    const m = await compileManifest({
      projectYaml: "name: snap\n",
      models: [],
      properties: [
        {
          path: "snapshots/accounts.yml",
          yaml: `version: 2
sources:
  - name: app
    schema: main
    tables:
      - name: accounts_live
        identifier: snap_src
snapshots:
  - name: accounts
    description: Accounts over time
    relation: source('app', 'accounts_live')
    config:
      unique_key: id
      strategy: check
      check_cols: [tier]
`,
        },
      ],
      sources: {},
    });
    expect(m.nodes[0]).toMatchObject({
      uniqueId: "snapshot.snap.accounts",
      path: "snapshots/accounts.yml",
      description: "Accounts over time",
      dependsOn: { nodes: [], sources: [{ source: "app", table: "accounts_live" }] },
      config: { materialized: "snapshot", strategy: "check", check_cols: ["tier"] },
    });
    await run(m);
    await exec("UPDATE snap_src SET tier = 'pro' WHERE id = 1");
    await run(m);
    expect((await versions()).map((v) => [v.id, v.tier, v.dbt_valid_to === null])).toEqual([
      [1, "free", false],
      [1, "pro", true],
      [2, "free", true],
    ]);
  });
});
