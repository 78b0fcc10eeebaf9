/**
 * Generic tests (unique, not_null, accepted_values, relationships) declared in properties YAML on
 * models, seeds and source tables. In: the compile's inputs and the node set (properties must
 * describe a node that exists). Out: one test node per declaration, with its SQL and
 * dependencies, added to the node set; a second test of the same name gets a numeric suffix.
 */

import SparkMD5 from "spark-md5";
import { type GenericTest, genericTestNames, testSql } from "../generic-tests.ts";
import { configKeys, type ManifestNode } from "../manifest-schema.ts";
import { treeConfigs } from "../project-file.ts";
import { type TestEntry, testsOf } from "../properties.ts";
import { templateDependencies } from "./dependencies.ts";
import type { CompileInputs } from "./inputs.ts";
import { baseNode, CompileError, fqnOf, type NodeSet, resolveConfig } from "./nodes.ts";

export function addGenericTestNodes(nodes: NodeSet, inputs: CompileInputs): void {
  const declared: ManifestNode[] = [];
  const add = (path: string, target: Target, column: string | undefined, entry: TestEntry) =>
    declared.push(testNode(inputs, path, target, column, entry));
  for (const { path, file } of inputs.properties) {
    for (const kind of ["models", "seeds"] as const) {
      for (const props of file[kind] ?? []) {
        if (!nodes.byName.has(props.name))
          throw new CompileError(`${path}: properties for ${kind.slice(0, -1)} "${props.name}", which does not exist`);
        const target: Target = { relation: `ref('${props.name}')`, name: props.name, prefix: "" };
        for (const column of props.columns ?? []) for (const entry of testsOf(column)) add(path, target, column.name, entry);
        for (const entry of testsOf(props)) add(path, target, undefined, entry);
      }
    }
    for (const source of file.sources ?? []) {
      for (const table of source.tables) {
        const target: Target = {
          relation: `source('${source.name}', '${table.name}')`,
          name: `${source.name}_${table.name}`,
          prefix: "source_",
        };
        for (const entry of testsOf(table)) add(path, target, undefined, entry);
        for (const column of table.columns ?? []) for (const entry of testsOf(column)) add(path, target, column.name, entry);
      }
    }
  }
  const seen = new Map<string, number>();
  for (const test of declared) {
    // The same test twice (only its config differs): dbt refuses it; Sluice numbers the second.
    const count = (seen.get(test.uniqueId) ?? 0) + 1;
    seen.set(test.uniqueId, count);
    if (count > 1) {
      test.name = `${test.name}_${count}`;
      test.uniqueId = test.uniqueId.replace(/\.([0-9a-f]{10})$/, `_${count}.$1`);
      test.fqn = [...(test.fqn ?? []).slice(0, -1), test.name];
    }
    const dependencies = templateDependencies({ path: test.path, sql: test.rawSql }, test.name, inputs);
    test.dependsOn = { nodes: dependencies.refs, sources: dependencies.sources };
    nodes.add(test);
  }
}

/** What a test is attached to: a model or seed (`ref`), or a source table (`source`, whose tests dbt names `source_…`). */
interface Target {
  relation: string;
  name: string;
  prefix: "" | "source_";
}

function testNode(inputs: CompileInputs, path: string, target: Target, column: string | undefined, entry: TestEntry): ManifestNode {
  const { project } = inputs;
  const [name, spec] = typeof entry === "string" ? [entry, {}] : (Object.entries(entry)[0] ?? ["", {}]);
  const args = (spec && typeof spec === "object" ? spec : {}) as Record<string, unknown>;
  if (!genericTestNames.has(name))
    throw new CompileError(`${path}: unknown test "${name}" (Sluice runs unique, not_null, accepted_values and relationships)`);
  const { config: testConfig, arguments: nested, ...given } = args;
  // Config keys beside the arguments (`severity: warn`) are the test's config, as in dbt; `config:` wins.
  // Arguments sit beside them or, since dbt 1.10, under `arguments:`.
  const topLevel = Object.fromEntries(Object.entries(given).filter(([key]) => configKeys.has(key)));
  const testArgs: Record<string, unknown> = {
    ...Object.fromEntries(Object.entries(given).filter(([key]) => !configKeys.has(key))),
    ...(nested && typeof nested === "object" ? (nested as Record<string, unknown>) : {}),
  };
  if (column !== undefined) testArgs.column_name = column;
  const testColumn = testArgs.column_name as string | undefined;
  if (!testColumn) throw new CompileError(`${path}: the ${name} test on ${target.name} needs a column`);
  const { fullName, shortName, uniqueId } = testIdentity(project.name, `${target.prefix}${name}`, name, target, testArgs);
  const root = project["seed-paths"].includes(path.split("/")[0]!) ? "seed-paths" : "model-paths";
  const fqn = [...fqnOf(project.name, path, root, project).slice(0, -1), fullName];
  const config = resolveConfig(
    path,
    [
      ...treeConfigs(project.data_tests, fqn, path),
      ...treeConfigs(project.tests, fqn, path),
      topLevel,
      (testConfig ?? {}) as Record<string, unknown>,
    ],
    { materialized: "test" },
  );
  let sql: string;
  try {
    sql = testSql({
      name: name as GenericTest["name"],
      relation: target.relation,
      column: testColumn,
      args: testArgs,
      where: config.where,
    });
  } catch (error) {
    throw new CompileError(`${path}: ${name} test on ${target.name}.${testColumn}: ${(error as Error).message}`);
  }
  const node = baseNode(project.name, "test", fullName, path, config, undefined);
  node.uniqueId = uniqueId;
  node.fqn = fqn;
  node.relation = auditRelation(config, config.alias ?? shortName);
  node.rawSql = sql;
  node.test = { kind: "generic", name, attachedTo: target.name, column: testColumn };
  return node;
}

/**
 * dbt's names for a generic test (`synthesize_generic_test_names` and `create_test_node`): the
 * type, the target and every argument but the model, cleaned to identifier characters; a name of
 * 64 characters or more is shortened to 30 and an MD5 for its relation; the unique id ends in the
 * last 10 hex digits of an MD5 of the name and the test's metadata, as Python prints it.
 */
export function testIdentity(
  project: string,
  testType: string,
  macro: string,
  target: Target,
  args: Record<string, unknown>,
): { fullName: string; shortName: string; uniqueId: string } {
  const flat = Object.keys(args)
    .sort()
    .flatMap((key) => {
      const value = args[key];
      const parts = Array.isArray(value) ? value : value !== null && typeof value === "object" ? Object.values(value) : [value];
      return parts.map((part) => pythonStr(part).replace(/[^0-9a-zA-Z_]+/g, "_"));
    });
  const identifier = `${testType}_${target.name}`;
  const fullName = `${identifier}_${flat.join("__")}`;
  const shortName = fullName.length >= 64 ? `${identifier.slice(0, 30)}_${SparkMD5.hash(fullName)}` : fullName;
  const metadata = { kwargs: { ...args, model: `{{ get_where_subquery(${target.relation}) }}` }, name: macro, namespace: null };
  const hash = SparkMD5.hash(fullName + pythonRepr(hashable(metadata))).slice(-10);
  return { fullName, shortName, uniqueId: `test.${project}.${fullName}.${hash}` };
}

/** dbt's `get_hashable_md`: mappings with sorted keys, lists kept, everything else as Python's str(). */
function hashable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(hashable);
  if (value !== null && typeof value === "object")
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, hashable((value as Record<string, unknown>)[key])]),
    );
  return pythonStr(value);
}

function pythonStr(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  return pythonRepr(value);
}

/** Python's repr() of strings, lists and dicts. */
function pythonRepr(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(", ")}]`;
  if (value !== null && typeof value === "object")
    return `{${Object.entries(value)
      .map(([key, item]) => `${pythonRepr(key)}: ${pythonRepr(item)}`)
      .join(", ")}}`;
  if (typeof value !== "string") return pythonStr(value);
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  const escaped = value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll("\r", "\\r").replaceAll("\t", "\\t");
  return `${quote}${quote === "'" ? escaped.replaceAll("'", "\\'") : escaped}${quote}`;
}

/**
 * Where a test keeps its failing rows: dbt's audit schema (`dbt_test__audit` unless the test sets
 * `schema`) named by dbt's default `generate_schema_name`, `<target schema>_<custom>`, and, D1
 * being one database, a relation outside the target schema is `<schema>__<alias>`.
 */
export function auditRelation(config: ManifestNode["config"], alias: string): string {
  return `main_${config.schema ?? "dbt_test__audit"}__${alias}`;
}
