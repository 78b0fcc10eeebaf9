/**
 * Generic tests (unique, not_null, accepted_values, relationships) declared in properties YAML on
 * models, seeds and source tables. In: the compile's inputs and the node set (properties must
 * describe a node that exists). Out: one test node per declaration, with its SQL and
 * dependencies, added to the node set; a second test of the same name gets a numeric suffix.
 */
import { type GenericTest, genericTestNames, testSql } from "../generic-tests.ts";
import { configKeys, type ManifestNode } from "../manifest-schema.ts";
import { type TestEntry, testsOf } from "../properties.ts";
import { templateDependencies } from "./dependencies.ts";
import type { CompileInputs } from "./inputs.ts";
import { baseNode, CompileError, type NodeSet, resolveConfig } from "./nodes.ts";

export async function addGenericTestNodes(nodes: NodeSet, inputs: CompileInputs): Promise<void> {
  const project = inputs.project.name;
  const declared: ManifestNode[] = [];
  for (const { path, file } of inputs.properties) {
    for (const kind of ["models", "seeds"] as const) {
      for (const props of file[kind] ?? []) {
        if (!nodes.byName.has(props.name))
          throw new CompileError(`${path}: properties for ${kind.slice(0, -1)} "${props.name}", which does not exist`);
        for (const column of props.columns ?? []) {
          for (const entry of testsOf(column))
            declared.push(testNode(inputs, path, `ref('${props.name}')`, props.name, column.name, entry));
        }
        for (const entry of testsOf(props)) declared.push(testNode(inputs, path, `ref('${props.name}')`, props.name, undefined, entry));
      }
    }
    for (const source of file.sources ?? []) {
      for (const table of source.tables) {
        const relation = `source('${source.name}', '${table.name}')`;
        for (const entry of testsOf(table))
          declared.push(testNode(inputs, path, relation, `${source.name}_${table.name}`, undefined, entry));
        for (const column of table.columns ?? []) {
          for (const entry of testsOf(column))
            declared.push(testNode(inputs, path, relation, `${source.name}_${table.name}`, column.name, entry));
        }
      }
    }
  }
  const seen = new Map<string, number>();
  for (const test of declared) {
    const count = (seen.get(test.uniqueId) ?? 0) + 1;
    seen.set(test.uniqueId, count);
    if (count > 1) {
      test.uniqueId = `${test.uniqueId}_${count}`;
      test.name = `${test.name}_${count}`;
    }
    const dependencies = await templateDependencies(
      { path: test.path, sql: test.rawSql, name: test.name, resourceType: "test", package: project, config: test.config },
      inputs,
    );
    test.package = project;
    test.dependsOn = { nodes: dependencies.refs, sources: dependencies.sources };
    nodes.add(test);
  }
}

function testNode(
  inputs: CompileInputs,
  path: string,
  relation: string,
  target: string,
  column: string | undefined,
  entry: TestEntry,
): ManifestNode {
  const [name, spec] = typeof entry === "string" ? [entry, {}] : (Object.entries(entry)[0] ?? ["", {}]);
  const args = (spec && typeof spec === "object" ? spec : {}) as Record<string, unknown>;
  const project = inputs.project.name;
  if (!genericTestNames.has(name) || inputs.render.library.has(project, `test_${name}`))
    return macroTestNode(inputs, path, relation, target, column, name, args);
  const { config: testConfig, arguments: nested, ...given } = args;
  // Config keys beside the arguments (`severity: warn`) are the test's config, as in dbt; `config:` wins.
  // Arguments sit beside them or, since dbt 1.10, under `arguments:`.
  const topLevel = Object.fromEntries(Object.entries(given).filter(([key]) => configKeys.has(key)));
  const testArgs = {
    ...Object.fromEntries(Object.entries(given).filter(([key]) => !configKeys.has(key))),
    ...(nested && typeof nested === "object" ? (nested as Record<string, unknown>) : {}),
  };
  const testColumn = (testArgs.column_name as string | undefined) ?? column;
  if (!testColumn) throw new CompileError(`${path}: the ${name} test on ${target} needs a column`);
  const config = resolveConfig(path, [topLevel, (testConfig ?? {}) as Record<string, unknown>], { materialized: "test" });
  let sql: string;
  try {
    sql = testSql({ name: name as GenericTest["name"], relation, column: testColumn, args: testArgs });
  } catch (error) {
    throw new CompileError(`${path}: ${name} test on ${target}.${testColumn}: ${(error as Error).message}`);
  }
  const node = baseNode(project, "test", `${name}_${target}_${testColumn}`, path, config, undefined);
  node.rawSql = sql;
  node.test = { kind: "generic", name, attachedTo: target, column: testColumn };
  return node;
}

/** `{{ ns.test_name(model=…, column_name=…, arg=…) }}`: a generic test that a macro defines. */
function macroTestNode(
  inputs: CompileInputs,
  path: string,
  relation: string,
  target: string,
  column: string | undefined,
  name: string,
  args: Record<string, unknown>,
): ManifestNode {
  const library = inputs.render.library;
  const project = inputs.project.name;
  const [namespace, bare] = name.includes(".") ? (name.split(".", 2) as [string, string]) : [undefined, name];
  const macro = `test_${bare}`;
  const found = namespace ? library.has(namespace, macro) : library.lookupOrder(project).some((pkg) => library.has(pkg, macro));
  if (!found) {
    throw new CompileError(
      namespace && !library.packages.includes(namespace)
        ? `${path}: unknown test "${name}": no package named ${namespace} is installed in dbt_packages/`
        : `${path}: unknown test "${name}": no {% test ${bare}(…) %} in ${namespace ?? "the project's macros or tests"}`,
    );
  }
  const { config: testConfig, arguments: nested, ...given } = args;
  const topLevel = Object.fromEntries(Object.entries(given).filter(([key]) => configKeys.has(key)));
  const testArgs: Record<string, unknown> = {
    ...Object.fromEntries(Object.entries(given).filter(([key]) => !configKeys.has(key))),
    ...(nested && typeof nested === "object" ? (nested as Record<string, unknown>) : {}),
  };
  const testColumn = (testArgs.column_name as string | undefined) ?? column;
  delete testArgs.column_name;
  const config = resolveConfig(path, [topLevel, (testConfig ?? {}) as Record<string, unknown>], { materialized: "test" });
  const kwargs = [
    `model=get_where_subquery(${relation})`,
    ...(testColumn === undefined ? [] : [`column_name=${jinjaLiteral(testColumn)}`]),
    ...Object.entries(testArgs).map(([key, value]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new CompileError(`${path}: the ${name} test has an argument named "${key}"`);
      return `${key}=${jinjaArgument(value)}`;
    }),
  ];
  const testName = [name.replace(".", "_"), target, ...(testColumn === undefined ? [] : [testColumn])]
    .join("_")
    .replace(/[^A-Za-z0-9_]/g, "_");
  const node = baseNode(project, "test", testName, path, config, undefined);
  node.rawSql = `{{ ${namespace ? `${namespace}.` : ""}${macro}(${kwargs.join(", ")}) }}`;
  node.test = { kind: "generic", name, attachedTo: target, ...(testColumn === undefined ? {} : { column: testColumn }) };
  return node;
}

/** A test argument as a Jinja expression: `ref(…)`/`source(…)` stay calls, as dbt renders them; the rest are literals. */
function jinjaArgument(value: unknown): string {
  if (typeof value === "string" && /^\s*(ref|source)\s*\(.*\)\s*$/s.test(value)) return value.trim();
  return jinjaLiteral(value);
}

export function jinjaLiteral(value: unknown): string {
  if (value === null || value === undefined) return "none";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(jinjaArgument).join(", ")}]`;
  if (typeof value === "object")
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${JSON.stringify(k)}: ${jinjaArgument(v)}`)
      .join(", ")}}`;
  return JSON.stringify(String(value));
}
