/**
 * dbt 1.8 unit tests (`unit_tests:` in properties YAML). In: each properties file's text, and
 * the node set with refs resolved. Out: one `unit_test` node per test, named
 * `unit_test.<project>.<model>.<name>`, holding its given rows, expected rows and overrides; it
 * runs before its model (order.ts), over a query alone (unit-test-run.ts). A misconfigured test is
 * refused naming file and line: its shape as the file is read (`checkUnitTests`), then its model
 * and inputs once the models are known.
 */
import { type Fixture, type ManifestNode, type UnitTestSpec, unitTestConfigKeys } from "../manifest-schema.ts";
import { treeConfigs } from "../project-file.ts";
import type { UnitRows } from "../properties.ts";
import { parseSeed } from "../seeds.ts";
import type { CompileInputs } from "./inputs.ts";
import { baseNode, type NodeSet, resolveConfig } from "./nodes.ts";
import { Located } from "./unsupported.ts";

const testKeys = new Set(["name", "model", "description", "config", "given", "expect", "overrides"]);
const formats = ["dict", "csv", "sql"];
const overrideKeys = ["macros", "vars", "env_vars"];
const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;
const refInput = /^\s*ref\(\s*(['"])([A-Za-z0-9_]+)\1\s*(?:,\s*(['"])([A-Za-z0-9_]+)\3\s*)?\)\s*$/;
const sourceInput = /^\s*source\(\s*(['"])([A-Za-z0-9_]+)\1\s*,\s*(['"])([A-Za-z0-9_]+)\3\s*\)\s*$/;

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/** The shape of every unit test in a properties file, before it is read. */
export function checkUnitTests(path: string, text: string, raw: unknown): void {
  if (!isRecord(raw) || raw.unit_tests === undefined) return;
  const file: Located = new Located(path, text);
  const tests: unknown = raw.unit_tests;
  if (!Array.isArray(tests)) file.refuse(["unit_tests"], "unit_tests: expected a list of unit tests");
  for (const [i, test] of tests.entries()) {
    const at = ["unit_tests", i];
    if (!isRecord(test)) file.refuse(at, "a unit test is a mapping with a name, a model, given and expect");
    if (typeof test.name !== "string" || !identifier.test(test.name))
      file.refuse(at, "a unit test needs a name made of letters, digits and underscores");
    const name = `unit test ${test.name}`;
    if (typeof test.model !== "string") file.refuse(at, `${name}: model is required (the name of the model it tests)`);
    for (const key of Object.keys(test)) {
      if (key === "versions") file.refuse([...at, key], `${name}: Sluice does not support model versions yet`);
      if (!testKeys.has(key)) file.refuse([...at, key], `unknown key "${key}" on ${name}`);
    }
    if (test.config !== undefined) {
      if (!isRecord(test.config)) file.refuse([...at, "config"], `${name}: config is a mapping`);
      for (const key of Object.keys(test.config))
        if (!unitTestConfigKeys.has(key))
          file.refuse([...at, "config", key], `${name}: config "${key}" does not apply to unit tests (they take enabled, tags and meta)`);
    }
    if (test.given !== undefined && !Array.isArray(test.given)) file.refuse([...at, "given"], `${name}: given is a list of inputs`);
    for (const [j, given] of ((test.given as unknown[] | undefined) ?? []).entries()) {
      const keys = [...at, "given", j];
      const input = isRecord(given) ? given.input : undefined;
      if (typeof input !== "string")
        file.refuse(keys, `${name}: each given entry names its input: ref('model'), source('source', 'table') or this`);
      if (!refInput.test(input) && !sourceInput.test(input) && input.trim() !== "this")
        file.refuse(
          [...keys, "input"],
          `${name}: input must be ref('model'), source('source', 'table') or this, not ${JSON.stringify(input)}`,
        );
      checkRows(file, keys, given, `${name}: given ${input.trim()}`);
    }
    if (test.expect === undefined) file.refuse(at, `${name} has no expect: give the rows the model should return (rows: [] for none)`);
    checkRows(file, [...at, "expect"], test.expect, `${name}: expect`);
    if (test.overrides !== undefined) {
      if (!isRecord(test.overrides)) file.refuse([...at, "overrides"], `${name}: overrides is a mapping of macros, vars and env_vars`);
      for (const [key, value] of Object.entries(test.overrides)) {
        if (!overrideKeys.includes(key))
          file.refuse([...at, "overrides", key], `${name}: unknown override "${key}" (Sluice overrides macros, vars and env_vars)`);
        if (!isRecord(value)) file.refuse([...at, "overrides", key], `${name}: overrides ${key} is a mapping of names to values`);
      }
    }
  }
}

/** A given input's or the expectation's rows: a list of mappings, or CSV or SQL text, in its `format`. */
function checkRows(file: Located, keys: (string | number)[], entry: unknown, what: string): void {
  if (!isRecord(entry)) file.refuse(keys, `${what}: expected a mapping with rows`);
  for (const key of Object.keys(entry))
    if (!["rows", "format", "fixture", ...(keys.at(-2) === "given" ? ["input"] : [])].includes(key))
      file.refuse([...keys, key], `${what}: unknown key "${key}" (a unit test's rows take rows and format)`);
  const format = entry.format ?? "dict";
  if (typeof format !== "string" || !formats.includes(format))
    file.refuse([...keys, "format"], `${what}: format must be dict, csv or sql, not ${JSON.stringify(format)}`);
  if (entry.fixture !== undefined)
    file.refuse([...keys, "fixture"], `${what}: Sluice does not support fixture files yet (give the rows inline, under rows:)`);
  const rows = entry.rows;
  if (rows === undefined) {
    if (keys.at(-1) === "expect") file.refuse(keys, `${what} has no rows (rows: [] expects none)`);
    return;
  }
  if (format === "dict") {
    if (!Array.isArray(rows) || !rows.every(isRecord))
      file.refuse([...keys, "rows"], `${what}: format dict takes a list of mappings, such as - {id: 1, status: paid}`);
    for (const row of rows as Record<string, unknown>[])
      for (const column of Object.keys(row))
        if (!identifier.test(column)) file.refuse([...keys, "rows"], `${what}: column ${JSON.stringify(column)} is not an identifier`);
    return;
  }
  if (typeof rows !== "string") file.refuse([...keys, "rows"], `${what}: format ${format} takes its rows as text (rows: |)`);
  if (format === "csv") {
    try {
      const { columns } = parseSeed(rows);
      const bad = columns.find((column) => !identifier.test(column.name));
      if (bad) throw new Error(`column ${JSON.stringify(bad.name)} is not an identifier`);
    } catch (error) {
      file.refuse([...keys, "rows"], `${what}: ${(error as Error).message}`);
    }
  }
}

/** One `unit_test` node per unit test, after the models' refs are resolved. */
export function addUnitTestNodes(nodes: NodeSet, inputs: CompileInputs): void {
  const { project } = inputs;
  for (const { path, yaml, file } of inputs.properties) {
    const located: Located = new Located(path, yaml);
    for (const [i, test] of (file.unit_tests ?? []).entries()) {
      const at = ["unit_tests", i];
      const modelId = nodes.refs.get(project.name, test.model);
      const model = modelId === undefined ? undefined : nodes.nodes.get(modelId);
      if (model === undefined) located.refuse([...at, "model"], `unit test ${test.name}: unknown model "${test.model}"`);
      if (model.resourceType !== "model")
        located.refuse([...at, "model"], `unit test ${test.name}: ${test.model} is a ${model.resourceType}; unit tests test models`);
      const uniqueId = `unit_test.${project.name}.${model.name}.${test.name}`;
      if (nodes.nodes.has(uniqueId))
        located.refuse(
          at,
          `a unit test named ${test.name} on model ${model.name} is already defined in ${nodes.nodes.get(uniqueId)!.path}`,
        );
      const fqn = [...(model.fqn ?? [project.name, model.name]), test.name];
      const config = resolveConfig(path, [...treeConfigs(project.unit_tests, fqn, path), test.config ?? {}], { materialized: "test" });
      const given = test.given.map((entry, j) => givenInput(located, [...at, "given", j], test.name, entry, model, nodes));
      for (const [j, entry] of given.entries())
        if (given.findIndex((other) => other.key === entry.key) < j)
          located.refuse([...at, "given", j], `unit test ${test.name}: ${entry.input} is given twice`);
      const node: ManifestNode = {
        ...baseNode(project.name, "unit_test", test.name, path, config, undefined),
        uniqueId,
        fqn,
        description: test.description ?? "",
        dependsOn: { nodes: [model.uniqueId], sources: [] },
      };
      const spec: UnitTestSpec = {
        model: model.uniqueId,
        given,
        expect: fixtureOf(test.expect),
        overrides: {
          macros: test.overrides?.macros ?? {},
          vars: test.overrides?.vars ?? {},
          env_vars: Object.fromEntries(Object.entries(test.overrides?.env_vars ?? {}).map(([key, value]) => [key, String(value)])),
        },
      };
      node.unitTest = spec;
      nodes.add(node);
    }
  }
}

/** A given input, which must be one of the model's refs or sources (or `this`), with its rows. */
function givenInput(
  file: Located,
  keys: (string | number)[],
  test: string,
  entry: UnitRows & { input: string },
  model: ManifestNode,
  nodes: NodeSet,
): UnitTestSpec["given"][number] {
  const input = entry.input.trim();
  const ref = refInput.exec(input);
  const source = sourceInput.exec(input);
  const refs = model.dependsOn.nodes.map((id) => `ref('${nodes.nodes.get(id)?.name ?? id}')`);
  const sources = model.dependsOn.sources.map((s) => `source('${s.source}', '${s.table}')`);
  let key: string;
  if (input === "this") key = "this";
  else if (ref) {
    let id: string | undefined;
    try {
      id = nodes.refs.find(ref[4] ?? ref[2]!, ref[4] === undefined ? undefined : ref[2], model.package);
    } catch {
      id = undefined;
    }
    if (id === undefined || !model.dependsOn.nodes.includes(id)) key = "";
    else key = `ref:${id}`;
  } else {
    const [, , name, , table] = source!;
    key = model.dependsOn.sources.some((s) => s.source === name && s.table === table) ? `source:${name}.${table}` : "";
  }
  if (key === "") {
    const known = [...refs, ...sources];
    file.refuse(
      [...keys, "input"],
      `unit test ${test}: ${input} is not an input of ${model.name} (${known.length ? `it reads ${known.join(", ")}` : "it reads no ref or source"})`,
    );
  }
  if (entry.rows === undefined) file.refuse(keys, `unit test ${test}: given ${input} has no rows (rows: [] for an empty input)`);
  return { input, key, fixture: fixtureOf(entry) };
}

function fixtureOf(entry: UnitRows): Fixture {
  if (entry.format === "csv") return { csv: String(entry.rows) };
  if (entry.format === "sql") return { sql: String(entry.rows) };
  return { rows: (entry.rows ?? []) as Record<string, unknown>[] };
}
