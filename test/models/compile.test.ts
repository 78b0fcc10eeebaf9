import { describe, expect, it } from "vitest";
import { CompileError, compileManifest } from "../../src/models/compile/index.ts";

const sources = { generic: ["events"] };
const compile = (models: { path: string; sql: string }[]) => compileManifest({ project: "demo", models, sources });

describe("compileManifest", () => {
  it("orders models after the models they ref and records config, refs and sources", async () => {
    const manifest = await compile([
      { path: "models/b.sql", sql: "{{ config(materialized='table', tags=['daily']) }}select * from {{ ref('a') }}" },
      { path: "models/a.sql", sql: "select * from {{ source('generic', 'events') }}" },
    ]);
    expect(manifest.nodes.map((n) => n.uniqueId)).toEqual(["model.demo.a", "model.demo.b"]);
    expect(manifest.nodes[0]).toMatchObject({
      config: { materialized: "view", tags: [], enabled: true },
      dependsOn: { nodes: [], sources: [{ source: "generic", table: "events" }] },
    });
    expect(manifest.nodes[1]).toMatchObject({
      config: { materialized: "table", tags: ["daily"] },
      dependsOn: { nodes: ["model.demo.a"], sources: [] },
    });
  });

  it("renders Jinja loops and sets while discovering refs", async () => {
    const sql =
      "{% set parts = ['a', 'b'] %}{% for p in parts %}select * from {{ ref(p) }}{% if not loop.last %} union all {% endif %}{% endfor %}";
    const manifest = await compile([
      { path: "models/a.sql", sql: "select 1 as x" },
      { path: "models/b.sql", sql: "select 2 as x" },
      { path: "models/both.sql", sql },
    ]);
    expect(manifest.nodes.find((n) => n.name === "both")!.dependsOn.nodes).toEqual(["model.demo.a", "model.demo.b"]);
  });

  it("names the file and line of an unknown ref", async () => {
    await expect(() => compile([{ path: "models/x.sql", sql: "select 1\nfrom\n{{ ref('missing') }}" }])).rejects.toThrow(
      new CompileError("models/x.sql:3: ref('missing') names no model, seed or snapshot"),
    );
  });

  it("names the file and line of an undeclared source", async () => {
    await expect(() => compile([{ path: "models/x.sql", sql: "select *\nfrom {{ source('generic', 'nope') }}" }])).rejects.toThrow(
      "models/x.sql:2: source('generic', 'nope') is not declared",
    );
  });

  it("reports a cycle with its path", async () => {
    await expect(() =>
      compile([
        { path: "models/a.sql", sql: "select * from {{ ref('b') }}" },
        { path: "models/b.sql", sql: "select * from {{ ref('a') }}" },
      ]),
    ).rejects.toThrow("dependency cycle: a -> b -> a");
  });

  it("rejects two models with one name", async () => {
    await expect(() =>
      compile([
        { path: "models/a/x.sql", sql: "select 1" },
        { path: "models/b/x.sql", sql: "select 2" },
      ]),
    ).rejects.toThrow('models/b/x.sql: a node named "x" is already defined in models/a/x.sql');
  });

  it("rejects a model, or a model's alias, that would be built into a stream's table", async () => {
    await expect(() => compile([{ path: "models/raw_generic__events.sql", sql: "select 1 as x" }])).rejects.toThrow(
      new CompileError(
        'models/raw_generic__events.sql: model "raw_generic__events" would be built as raw_generic__events, the table stream generic/events lands in; rename it',
      ),
    );
    await expect(() => compile([{ path: "models/x.sql", sql: "{{ config(alias='RAW_generic__events') }}select 1 as x" }])).rejects.toThrow(
      'model "x" would be built as RAW_generic__events, the table stream generic/events lands in',
    );
  });

  it("rejects an invalid cron in a model's schedule, naming the file and the expression", async () => {
    await expect(() => compile([{ path: "models/x.sql", sql: "{{ config(schedule='0 25 * * *') }}select 1" }])).rejects.toThrow(
      new CompileError('models/x.sql: invalid config: schedule: invalid cron "0 25 * * *": Invalid value for hour: 25'),
    );
    const manifest = await compile([{ path: "models/x.sql", sql: "{{ config(schedule='0 6 * * mon') }}select 1" }]);
    expect(manifest.nodes[0]!.config.schedule).toBe("0 6 * * mon");
  });

  it("rejects an invalid cron set for a folder in the project file, naming the model it reaches", async () => {
    await expect(() =>
      compileManifest({
        projectYaml: "name: demo\nmodels:\n  demo:\n    marts:\n      +schedule: '*/15 * * *'\n",
        models: [{ path: "models/marts/x.sql", sql: "select 1" }],
        sources,
      }),
    ).rejects.toThrow('models/marts/x.sql: invalid config: schedule: invalid cron "*/15 * * *": a cron has five fields');
  });

  it("rejects an unknown config key and an unknown materialization", async () => {
    await expect(() => compile([{ path: "models/x.sql", sql: "{{ config(materialised='table') }}select 1" }])).rejects.toThrow(
      "models/x.sql: invalid config: unknown config key materialised",
    );
    await expect(() => compile([{ path: "models/x.sql", sql: "{{ config(materialized='ephemeralish') }}select 1" }])).rejects.toThrow(
      "models/x.sql:1: materialized: Sluice does not support the ephemeralish materialization yet (Sluice builds view, table, incremental and ephemeral models)",
    );
  });

  it("rejects a template that does not parse", async () => {
    await expect(() => compile([{ path: "models/x.sql", sql: "select {{ 1 + }}" }])).rejects.toThrow(
      new CompileError("models/x.sql:1: unexpected 'end of print statement'"),
    );
  });
  it("orders two models with relationships tests to a parent both read, without a cycle (dbt's test edges)", async () => {
    const manifest = await compileManifest({
      project: "demo",
      models: [
        { path: "models/dim.sql", sql: "select 1 as id" },
        { path: "models/a.sql", sql: "select id from {{ ref('dim') }}" },
        { path: "models/b.sql", sql: "select id from {{ ref('dim') }}" },
      ],
      properties: [
        {
          path: "models/schema.yml",
          yaml: `version: 2
models:
  - name: a
    columns: [{ name: id, data_tests: [{ relationships: { to: ref('dim'), field: id } }] }]
  - name: b
    columns: [{ name: id, data_tests: [{ relationships: { to: ref('dim'), field: id } }] }]
`,
        },
      ],
      sources,
    });
    const order = manifest.nodes.map((n) => n.name);
    expect(order.indexOf("dim")).toBeLessThan(order.indexOf("a"));
    expect(order.indexOf("a")).toBeLessThan(order.indexOf("relationships_a_id__id__ref_dim_"));
    expect(order.indexOf("b")).toBeLessThan(order.indexOf("relationships_b_id__id__ref_dim_"));
  });
});
