/**
 * dbt's Jinja context as Sluice builds it: what `env_var()` may read, and relations named by
 * Sluice's one-schema rule.
 */
import { describe, expect, it } from "vitest";
import { compileManifest } from "../../src/models/compile/index.ts";
import { compileNode } from "../../src/models/compile-node.ts";

const env = { DBT_REGION: "eu", ADMIN_TOKENS: "t0ken", DBT_ENV_SECRET_KEY: "s3cret" };

async function rendered(sql: string): Promise<string> {
  const manifest = await compileManifest({ project: "ctx", models: [{ path: "models/m.sql", sql }], sources: {} }, { env });
  return compileNode(manifest, manifest.nodes[0]!, { env });
}

describe("env_var()", () => {
  it("reads DBT_ variables, at compile and at run", async () => {
    expect(await rendered("select '{{ env_var('DBT_REGION') }}' as region")).toBe("select 'eu' as region");
  });

  it("reads any other variable as unset, so Sluice's own secrets never reach SQL", async () => {
    expect(await rendered("select '{{ env_var('ADMIN_TOKENS', 'unset') }}' as t")).toBe("select 'unset' as t");
    await expect(rendered("select '{{ env_var('DBT_ENV_SECRET_KEY') }}' as k")).rejects.toThrow(
      "Env var required but not provided: 'DBT_ENV_SECRET_KEY'",
    );
  });
});

describe("relations", () => {
  it("names a model in another schema <schema>__<alias>, and one in main by its alias", async () => {
    const manifest = await compileManifest({
      project: "ctx",
      models: [
        { path: "models/a.sql", sql: "{{ config(schema='marts', alias='orders') }}select 1 as x" },
        { path: "models/b.sql", sql: "select * from {{ ref('a') }}" },
      ],
      sources: {},
    });
    expect(manifest.nodes.map((n) => [n.name, n.schema, n.relation])).toEqual([
      ["a", "main_marts", "main_marts__orders"],
      ["b", "main", "b"],
    ]);
    expect(await compileNode(manifest, manifest.nodes[1]!)).toBe('select * from main."main_marts__orders"');
  });

  it("fails the build when two nodes would build one relation", async () => {
    await expect(
      compileManifest({
        project: "ctx",
        models: [
          { path: "models/a.sql", sql: "{{ config(alias='same') }}select 1 as x" },
          { path: "models/b.sql", sql: "{{ config(alias='same') }}select 2 as x" },
        ],
        sources: {},
      }),
    ).rejects.toThrow("models/b.sql: model b and model a (models/a.sql) would both be built as same");
  });
});
