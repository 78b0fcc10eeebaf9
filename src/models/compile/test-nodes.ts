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

export function addGenericTestNodes(nodes: NodeSet, inputs: CompileInputs): void {
  const project = inputs.project.name;
  const declared: ManifestNode[] = [];
  for (const { path, file } of inputs.properties) {
    for (const kind of ["models", "seeds"] as const) {
      for (const props of file[kind] ?? []) {
        if (!nodes.byName.has(props.name))
          throw new CompileError(`${path}: properties for ${kind.slice(0, -1)} "${props.name}", which does not exist`);
        for (const column of props.columns ?? []) {
          for (const entry of testsOf(column))
            declared.push(testNode(project, path, `ref('${props.name}')`, props.name, column.name, entry));
        }
        for (const entry of testsOf(props)) declared.push(testNode(project, path, `ref('${props.name}')`, props.name, undefined, entry));
      }
    }
    for (const source of file.sources ?? []) {
      for (const table of source.tables) {
        const relation = `source('${source.name}', '${table.name}')`;
        for (const entry of testsOf(table))
          declared.push(testNode(project, path, relation, `${source.name}_${table.name}`, undefined, entry));
        for (const column of table.columns ?? []) {
          for (const entry of testsOf(column))
            declared.push(testNode(project, path, relation, `${source.name}_${table.name}`, column.name, entry));
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
    const dependencies = templateDependencies({ path: test.path, sql: test.rawSql }, test.name, inputs);
    test.dependsOn = { nodes: dependencies.refs, sources: dependencies.sources };
    nodes.add(test);
  }
}

function testNode(
  project: string,
  path: string,
  relation: string,
  target: string,
  column: string | undefined,
  entry: TestEntry,
): ManifestNode {
  const [name, spec] = typeof entry === "string" ? [entry, {}] : (Object.entries(entry)[0] ?? ["", {}]);
  const args = (spec && typeof spec === "object" ? spec : {}) as Record<string, unknown>;
  if (!genericTestNames.has(name))
    throw new CompileError(`${path}: unknown test "${name}" (Sluice runs unique, not_null, accepted_values and relationships)`);
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
