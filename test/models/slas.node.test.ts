/**
 * SLAs in the compile: where a project may write `sla` (a model's config(), properties YAML, `+sla`
 * in the project file's models: and sources: trees), which one wins, what a source's SLA is judged
 * on, and each bad value failing the build with the file, line and node.
 */
import { describe, expect, it } from "vitest";
import { CompileError, compileManifest, type ProjectFiles } from "../../src/models/compile/index.ts";

const project = (overrides: Partial<ProjectFiles> = {}): ProjectFiles => ({
  projectYaml: "name: shop\n",
  models: [
    { path: "models/marts/orders.sql", sql: "select 1 as id" },
    { path: "models/marts/revenue.sql", sql: "{{ config(sla={'ready_by': '07:30 America/New_York'}) }}\nselect 1 as id" },
    { path: "models/staging/stg_orders.sql", sql: "select 1 as id" },
  ],
  sources: { stripe: ["charges", "customers", "refunds"], github: ["issues"] },
  ...overrides,
});

const slaOf = async (files: ProjectFiles) => {
  const manifest = await compileManifest(files);
  return {
    models: Object.fromEntries(manifest.nodes.map((n) => [n.name, n.config.sla ?? null])),
    sources: Object.fromEntries(manifest.sources.map((s) => [`${s.source}.${s.table}`, s.sla ? [s.slaSubject, s.sla] : null])),
  };
};

describe("SLAs in the project", () => {
  it("merges a model's sla in dbt's order: the project file's folders, then properties YAML, then config()", async () => {
    const { models } = await slaOf(
      project({
        projectYaml: `name: shop
models:
  shop:
    +sla: {fresh_within: 1d}
    marts:
      +sla: {fresh_within: "2h"}
`,
        properties: [
          {
            path: "models/marts/schema.yml",
            yaml: `version: 2
models:
  - name: orders
    config:
      sla: {fresh_within: {count: 30, period: minute}, ready_by: "06:00 Europe/Berlin"}
  - name: revenue
    config:
      sla: {fresh_within: "1h"}
`,
          },
          { path: "models/staging/schema.yml", yaml: "version: 2\nmodels:\n  - name: stg_orders\n    config:\n      sla: null\n" },
        ],
      }),
    );
    expect(models).toEqual({
      orders: { fresh_within: { count: 30, period: "minute" }, ready_by: "06:00 Europe/Berlin" },
      // config() replaces the properties' sla as a whole, as every dict config but meta does.
      revenue: { ready_by: "07:30 America/New_York" },
      // null clears the project-wide SLA.
      stg_orders: null,
    });
  });

  it("gives a source table its source's SLA (judged with the source's other tables) unless it sets its own", async () => {
    const { sources } = await slaOf(
      project({
        properties: [
          {
            path: "models/staging/sources.yml",
            yaml: `version: 2
sources:
  - name: stripe
    config:
      sla: {fresh_within: "2h"}
    tables:
      - name: charges
      - name: customers
        config:
          sla: {fresh_within: 1d}
      - name: refunds
        config:
          sla: null
`,
          },
        ],
      }),
    );
    expect(sources).toEqual({
      "stripe.charges": ["source:stripe", { fresh_within: "2h" }],
      "stripe.customers": ["source:stripe.customers", { fresh_within: "1d" }],
      "stripe.refunds": null,
      "github.issues": null,
    });
  });

  it("reads +sla from the project file's sources: tree by path: project, the properties file's folders, source, table", async () => {
    const { sources } = await slaOf(
      project({
        projectYaml: `name: shop
sources:
  shop:
    +sla: {fresh_within: 3d}
    staging:
      stripe:
        +sla: {fresh_within: 6h}
        refunds:
          +sla: {fresh_within: 12h}
`,
        properties: [
          {
            path: "models/staging/sources.yml",
            yaml: "version: 2\nsources:\n  - name: stripe\n    tables:\n      - name: charges\n      - name: refunds\n",
          },
        ],
      }),
    );
    expect(sources).toEqual({
      // Streams with no properties entry sit at the project's level, [shop, source, table], so
      // stripe's tables inherit two SLAs: each is judged on its own.
      "stripe.charges": ["source:stripe.charges", { fresh_within: "6h" }],
      "stripe.refunds": ["source:stripe.refunds", { fresh_within: "12h" }],
      "stripe.customers": ["source:stripe.customers", { fresh_within: "3d" }],
      "github.issues": ["source:github", { fresh_within: "3d" }],
    });
  });

  it("lets a table's properties config beat the project file's leaf for it, as properties beat the project file", async () => {
    const { sources } = await slaOf(
      project({
        projectYaml: "name: shop\nsources:\n  shop:\n    stripe:\n      charges:\n        +sla: {fresh_within: 5m}\n",
        properties: [
          {
            path: "models/sources.yml",
            yaml: "version: 2\nsources:\n  - name: stripe\n    config:\n      sla: {fresh_within: 1h}\n    tables:\n      - name: charges\n",
          },
        ],
      }),
    );
    expect(sources["stripe.charges"]).toEqual(["source:stripe", { fresh_within: "1h" }]);
  });
});

const refused = async (files: ProjectFiles, message: string) => {
  const error = await compileManifest(files).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(CompileError);
  expect((error as Error).message).toBe(message);
};

const modelProps = (config: string) =>
  project({ properties: [{ path: "models/marts/schema.yml", yaml: `version: 2\nmodels:\n  - name: orders\n    config:\n${config}` }] });
const sourceProps = (yaml: string) => project({ properties: [{ path: "models/sources.yml", yaml: `version: 2\nsources:\n${yaml}` }] });
const durationHint = 'write "30m", "2h", "1d" or {count: 2, period: hour}';

describe("bad SLAs fail the build, naming the file, line and node", () => {
  it.each([
    [
      "fresh_within that is not a duration, in config()",
      project({
        models: [{ path: "models/orders.sql", sql: "{{ config(materialized='table',\n  sla={'fresh_within': 'soon'}) }}\nselect 1 as id" }],
      }),
      `models/orders.sql:2: model orders: sla.fresh_within: "soon" is not a duration; ${durationHint}`,
    ],
    [
      "ready_by past 23:59",
      modelProps('      sla: {ready_by: "25:00 UTC"}\n'),
      'models/marts/schema.yml:5: model orders: sla.ready_by: "25:00 UTC" is not a time of day and a zone; write "HH:MM Zone" (00:00 to 23:59), such as "06:00 Europe/Berlin"',
    ],
    [
      "ready_by without a zone",
      modelProps('      sla: {ready_by: "06:00"}\n'),
      'models/marts/schema.yml:5: model orders: sla.ready_by: "06:00" is not a time of day and a zone; write "HH:MM Zone" (00:00 to 23:59), such as "06:00 Europe/Berlin"',
    ],
    [
      "an unknown time zone",
      modelProps('      sla: {ready_by: "06:00 Europe/Atlantis"}\n'),
      'models/marts/schema.yml:5: model orders: sla.ready_by: unknown time zone "Europe/Atlantis"; name an IANA zone, such as "Europe/Berlin" or "UTC"',
    ],
    [
      "an unknown key inside a model's sla",
      modelProps("      sla: {fresh_within: 2h, warn_after: 1h}\n"),
      'models/marts/schema.yml:5: model orders: sla: unknown key "warn_after" (a model\'s sla takes fresh_within and ready_by)',
    ],
    ["an empty sla", modelProps("      sla: {}\n"), "models/marts/schema.yml:5: model orders: sla: set fresh_within or ready_by"],
    [
      "an sla that is not a mapping",
      modelProps("      sla: 2h\n"),
      'models/marts/schema.yml:5: model orders: sla: expected a mapping, such as {fresh_within: "2h"}, got "2h"',
    ],
    [
      "dbt's freshness spelling with a period it lacks",
      modelProps("      sla: {fresh_within: {count: 2, period: week}}\n"),
      `models/marts/schema.yml:5: model orders: sla.fresh_within: {"count":2,"period":"week"} is not a duration; ${durationHint}`,
    ],
    [
      "a zero duration",
      modelProps("      sla: {fresh_within: 0m}\n"),
      `models/marts/schema.yml:5: model orders: sla.fresh_within: "0m" is not a duration; ${durationHint}`,
    ],
    [
      "an unknown key inside a source's sla",
      sourceProps("  - name: stripe\n    config:\n      sla: {fresh_within: 2h, error_after: 1d}\n    tables: [{name: charges}]\n"),
      'models/sources.yml:5: source stripe: sla: unknown key "error_after" (a source\'s sla takes fresh_within)',
    ],
    [
      "ready_by on a source table",
      sourceProps("  - name: stripe\n    tables:\n      - name: charges\n        config:\n          sla: {ready_by: 06:00 UTC}\n"),
      "models/sources.yml:7: source table stripe.charges: sla.ready_by: only a model takes ready_by (a source's SLA is fresh_within: how old its newest record may be)",
    ],
    [
      "a bad +sla in the project file's models: tree",
      project({ projectYaml: "name: shop\nmodels:\n  shop:\n    marts:\n      +sla: {fresh_within: soon}\n" }),
      `dbt_project.yml:5: sla.fresh_within: "soon" is not a duration; ${durationHint}`,
    ],
    [
      "a bad +sla in the project file's sources: tree",
      project({ projectYaml: "name: shop\nsources:\n  shop:\n    stripe:\n      +sla: {fresh_within: 1w}\n" }),
      `dbt_project.yml:5: sla.fresh_within: "1w" is not a duration; ${durationHint}`,
    ],
    [
      "another source config in the project file",
      project({ projectYaml: "name: shop\nsources:\n  shop:\n    +enabled: false\n" }),
      "dbt_project.yml:4: +enabled: Sluice reads only +sla in the project file's sources: (set enabled in the source's config: in properties YAML)",
    ],
    [
      "+sla on seeds",
      project({ projectYaml: "name: shop\nseeds:\n  +sla: {fresh_within: 1d}\n" }),
      "dbt_project.yml:3: sla: only models and sources have an SLA, not a seed",
    ],
    [
      "sla on a snapshot",
      project({
        snapshots: [
          {
            path: "snapshots/s.sql",
            sql: "{% snapshot s %}\n{{ config(strategy='check', check_cols='all', unique_key='id', sla={'fresh_within': '1d'}) }}\nselect 1 as id\n{% endsnapshot %}",
          },
        ],
      }),
      "snapshots/s.sql:2: snapshot s: sla: only models and sources have an SLA, not a snapshot",
    ],
    [
      "sla on an ephemeral model",
      project({
        models: [{ path: "models/eph.sql", sql: "{{ config(materialized='ephemeral', sla={'fresh_within': '1d'}) }}\nselect 1 as id" }],
      }),
      "models/eph.sql: sla: an ephemeral model is never built, so it cannot meet an SLA",
    ],
  ])("%s", async (_, files, message) => refused(files, message));
});
