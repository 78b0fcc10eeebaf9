/**
 * Unit tests as the compile reads them: the node each becomes, the project file's `unit_tests:`
 * configs, and every misconfiguration refused naming the file and line.
 */
import { describe, expect, it } from "vitest";
import { parseTemplate } from "../../src/jinja/index.ts";
import { compileManifest } from "../../src/models/compile/index.ts";
import { withOverrides } from "../../src/models/unit-test-overrides.ts";

/** A project of two models (orders reads stg_orders and a source) and one properties file, `models/unit.yml`. */
const compile = (unitYaml: string, projectYaml = "name: shop\n") =>
  compileManifest({
    projectYaml,
    models: [
      { path: "models/staging/stg_orders.sql", sql: "select 1 as id, 'paid' as status, 10 as amount" },
      { path: "models/customers.sql", sql: "select 1 as id" },
      {
        path: "models/orders.sql",
        sql: "select o.id, o.amount * 2 as doubled, c.name from {{ ref('stg_orders') }} o left join {{ source('crm', 'people') }} c on c.id = o.id",
      },
    ],
    seeds: [{ path: "seeds/countries.csv", csv: "code,name\nNL,Netherlands\n" }],
    properties: [
      { path: "models/sources.yml", yaml: "sources:\n  - name: crm\n    tables:\n      - name: people\n" },
      { path: "models/unit.yml", yaml: unitYaml },
    ],
    sources: {},
  });

/** `unit_tests:` with one test on orders; `body` is the test's keys after its name and model, indented by four. */
const oneTest = (body: string, model = "orders") => `unit_tests:\n  - name: doubles\n    model: ${model}\n${body}`;
const expectRows = "    expect:\n      rows:\n        - {id: 1, doubled: 20}\n";

describe("unit tests in the manifest", () => {
  it("becomes a unit_test node on its model, with its rows, overrides and configs", async () => {
    const manifest = await compile(
      oneTest(
        "    description: amounts double\n" +
          "    config: {tags: [fast]}\n" +
          "    given:\n      - input: ref('stg_orders')\n        rows:\n          - {id: 1, amount: 10}\n" +
          "      - input: source('crm', 'people')\n        format: csv\n        rows: |\n          id,name\n          1,ann\n" +
          expectRows +
          "    overrides:\n      vars: {cutoff: 3}\n      env_vars: {REGION: 1}\n",
      ),
      "name: shop\nunit_tests:\n  shop:\n    +tags: [unit]\n    +meta: {owner: data}\n",
    );
    const node = manifest.nodes.find((n) => n.resourceType === "unit_test")!;
    expect(node).toMatchObject({
      uniqueId: "unit_test.shop.orders.doubles",
      name: "doubles",
      path: "models/unit.yml",
      fqn: ["shop", "orders", "doubles"],
      description: "amounts double",
      dependsOn: { nodes: ["model.shop.orders"], sources: [] },
      unitTest: {
        model: "model.shop.orders",
        given: [
          { input: "ref('stg_orders')", key: "ref:model.shop.stg_orders", fixture: { rows: [{ id: 1, amount: 10 }] } },
          { input: "source('crm', 'people')", key: "source:crm.people", fixture: { csv: "id,name\n1,ann\n" } },
        ],
        expect: { rows: [{ id: 1, doubled: 20 }] },
        overrides: { macros: {}, vars: { cutoff: 3 }, env_vars: { REGION: "1" } },
      },
    });
    expect(node.config).toMatchObject({ tags: ["unit", "fast"], meta: { owner: "data" }, enabled: true });
    // Run order: after the model's parents, before the model.
    const order = manifest.nodes.map((n) => n.uniqueId);
    expect(order.indexOf("unit_test.shop.orders.doubles")).toBeGreaterThan(order.indexOf("model.shop.stg_orders"));
    expect(order.indexOf("unit_test.shop.orders.doubles")).toBeLessThan(order.indexOf("model.shop.orders"));
  });

  it("is disabled by the project file's unit_tests: +enabled", async () => {
    const manifest = await compile(oneTest(expectRows), "name: shop\nunit_tests:\n  +enabled: false\n");
    expect(manifest.nodes.find((n) => n.resourceType === "unit_test")?.config.enabled).toBe(false);
  });
});

const refused: [string, string, string, string?][] = [
  ["an unknown model", oneTest(expectRows, "nope"), 'models/unit.yml:3: unit test doubles: unknown model "nope"'],
  [
    "a seed for a model",
    oneTest(expectRows, "countries"),
    "models/unit.yml:3: unit test doubles: countries is a seed; unit tests test models",
  ],
  [
    "an input the model does not read",
    oneTest(`    given:\n      - input: ref('customers')\n        rows: []\n${expectRows}`),
    "models/unit.yml:5: unit test doubles: ref('customers') is not an input of orders (it reads ref('stg_orders'), source('crm', 'people'))",
  ],
  [
    "a source the model does not read",
    oneTest(`    given:\n      - input: source('crm', 'companies')\n        rows: []\n${expectRows}`),
    "models/unit.yml:5: unit test doubles: source('crm', 'companies') is not an input of orders (it reads ref('stg_orders'), source('crm', 'people'))",
  ],
  [
    "an input that is no ref or source",
    oneTest(`    given:\n      - input: stg_orders\n        rows: []\n${expectRows}`),
    "models/unit.yml:5: unit test doubles: input must be ref('model'), source('source', 'table') or this, not \"stg_orders\"",
  ],
  [
    "an input given twice",
    oneTest(
      `    given:\n      - input: ref('stg_orders')\n        rows: []\n      - input: ref("stg_orders")\n        rows: []\n${expectRows}`,
    ),
    'models/unit.yml:7: unit test doubles: ref("stg_orders") is given twice',
  ],
  [
    "an input without rows",
    oneTest(`    given:\n      - input: ref('stg_orders')\n${expectRows}`),
    "models/unit.yml:5: unit test doubles: given ref('stg_orders') has no rows (rows: [] for an empty input)",
  ],
  [
    "an unknown format",
    oneTest("    expect:\n      format: json\n      rows: '[]'\n"),
    'models/unit.yml:5: unit test doubles: expect: format must be dict, csv or sql, not "json"',
  ],
  [
    "csv rows that are not text",
    oneTest("    expect:\n      format: csv\n      rows:\n        - {id: 1}\n"),
    "models/unit.yml:6: unit test doubles: expect: format csv takes its rows as text (rows: |)",
  ],
  [
    "dict rows that are not mappings",
    oneTest("    expect:\n      rows: 'id,doubled'\n"),
    "models/unit.yml:5: unit test doubles: expect: format dict takes a list of mappings, such as - {id: 1, status: paid}",
  ],
  [
    "no expect",
    oneTest("    given: []\n"),
    "models/unit.yml:2: unit test doubles has no expect: give the rows the model should return (rows: [] for none)",
  ],
  [
    "an expect without rows",
    oneTest("    expect:\n      format: dict\n"),
    "models/unit.yml:4: unit test doubles: expect has no rows (rows: [] expects none)",
  ],
  [
    "a fixture file",
    oneTest("    expect:\n      fixture: expected_orders\n"),
    "models/unit.yml:5: unit test doubles: expect: Sluice does not support fixture files yet (give the rows inline, under rows:)",
  ],
  ["an unknown key", oneTest(`${expectRows}    givens: []\n`), 'models/unit.yml:7: unknown key "givens" on unit test doubles'],
  [
    "a config unit tests do not take",
    oneTest(`    config: {severity: warn}\n${expectRows}`),
    'models/unit.yml:4: unit test doubles: config "severity" does not apply to unit tests (they take enabled, tags and meta)',
  ],
  [
    "an unknown override",
    oneTest(`${expectRows}    overrides:\n      functions: {x: 1}\n`),
    'models/unit.yml:8: unit test doubles: unknown override "functions" (Sluice overrides macros, vars and env_vars)',
  ],
  [
    "a project-file config unit tests do not take",
    oneTest(expectRows),
    "dbt_project.yml:3: materialized does not apply to unit tests (they take enabled, tags and meta)",
    "name: shop\nunit_tests:\n  +materialized: table\n",
  ],
];

describe("misconfigured unit tests", () => {
  it.each(refused)("refuses %s, naming the file and line", async (_, yaml, message, projectYaml) => {
    await expect(compile(yaml, projectYaml)).rejects.toMatchObject({ name: "CompileError", message });
  });
});

describe("unit test overrides", () => {
  it("make a package's macro and a plain global return their values, leaving the package's other macros alone", async () => {
    const dbt = { __getattr__: (name: string) => () => `dbt.${name}` };
    const globals = withOverrides(
      { dbt, invocation_id: "run-1", var: () => "project" },
      { macros: { "dbt.type_numeric": "decimal", invocation_id: 123 }, vars: { cutoff: 3 }, env_vars: {} },
    );
    const sql = "{{ dbt.type_numeric() }} {{ dbt.type_string() }} {{ invocation_id }} {{ var('cutoff') }} {{ var('other') }}";
    expect(await parseTemplate(sql, "t.sql").render(globals)).toBe("decimal dbt.type_string 123 3 project");
  });
});
