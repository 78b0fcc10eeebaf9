/**
 * Generic tests declared in properties YAML on models, seeds and source tables: dbt's four
 * (unique, not_null, accepted_values, relationships) as Sluice's SQL, and any test a macro defines
 * (`{% test %}` in the project, or a package's, as `dbt_utils.expression_is_true`). In: the compile's inputs and the node set (properties must
 * describe a node that exists). Out: one test node per declaration, with its SQL and
 * dependencies, added to the node set; a second test of the same name gets a numeric suffix.
 */

import SparkMD5 from "spark-md5";
import { type AnomalySpec, anomalyTestOf } from "../../quality/anomaly-tests.ts";
import { type GenericTest, genericTestNames, testSql } from "../generic-tests.ts";
import { configKeys, type ManifestNode, testConfigKeys } from "../manifest-schema.ts";
import { type TestEntry, testsOf } from "../properties.ts";
import { anomalyTest } from "./anomaly-test-nodes.ts";
import { templateDependencies } from "./dependencies.ts";
import type { CompileInputs } from "./inputs.ts";
import { baseNode, CompileError, folderConfigs, fqnOf, type NodeSet, ownPath, resolveConfig } from "./nodes.ts";

export async function addGenericTestNodes(nodes: NodeSet, inputs: CompileInputs): Promise<void> {
  const declared: ManifestNode[] = [];
  const add = (path: string, target: Target, column: string | undefined, entry: TestEntry) =>
    declared.push(testNode(inputs, path, target, column, entry));
  for (const { path, file } of inputs.properties) {
    for (const kind of ["models", "seeds"] as const) {
      for (const props of file[kind] ?? []) {
        if (nodes.refs.get(inputs.project.name, props.name) === undefined)
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
    const dependencies = await templateDependencies(
      { path: test.path, sql: test.rawSql, name: test.name, resourceType: "test", package: test.package, config: test.config },
      inputs,
    );
    test.dependsOn = { nodes: dependencies.refs, sources: dependencies.sources };
    // Test configs the test's macro sets with config() (dbt_utils' equal_rowcount sets fail_calc), where YAML set none.
    for (const [key, value] of Object.entries(dependencies.inline))
      if (testConfigKeys.has(key) && (test.config as Record<string, unknown>)[key] === undefined)
        (test.config as Record<string, unknown>)[key] = value;
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
  // A test the project defines itself, or a package's, runs its macro; dbt's four and the anomaly tests run as Sluice's SQL.
  const anomaly = anomalyTestOf(name);
  const macro =
    anomaly || (genericTestNames.has(name) && !inputs.render.library.has(project.name, `test_${name}`))
      ? anomaly && { namespace: name.split(".")[0]!, bare: anomaly, anomaly }
      : testMacro(inputs, path, name);
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
  if (!testColumn && !macro) throw new CompileError(`${path}: the ${name} test on ${target.name} needs a column`);
  const testType = `${target.prefix}${macro?.namespace ? `${macro.namespace}_` : ""}${macro?.bare ?? name}`;
  const { fullName, shortName, uniqueId } = testIdentity(project.name, testType, macro?.bare ?? name, target, testArgs, macro?.namespace);
  const own = ownPath(inputs, path);
  const root = project["seed-paths"].includes(own.split("/")[0]!) ? "seed-paths" : "model-paths";
  const fqn = [...fqnOf(project.name, own, root, project).slice(0, -1), fullName];
  const config = resolveConfig(
    path,
    [
      ...folderConfigs(inputs, "data_tests", fqn, path),
      ...folderConfigs(inputs, "tests", fqn, path),
      topLevel,
      (testConfig ?? {}) as Record<string, unknown>,
    ],
    { materialized: "test" },
  );
  let sql: string;
  let anomalySpec: AnomalySpec | undefined;
  try {
    if (macro?.anomaly) ({ spec: anomalySpec, sql } = anomalyTest(inputs, path, entry, name, macro.anomaly, target, testArgs, config));
    else
      sql = macro
        ? macroTestSql(path, name, macro, target, testArgs)
        : testSql({
            name: name as GenericTest["name"],
            relation: target.relation,
            column: testColumn!,
            args: testArgs,
            where: config.where,
          });
  } catch (error) {
    if (error instanceof CompileError) throw error;
    throw new CompileError(`${path}: ${name} test on ${target.name}.${testColumn}: ${(error as Error).message}`);
  }
  const node = baseNode(project.name, "test", fullName, path, config, undefined);
  node.uniqueId = uniqueId;
  node.fqn = fqn;
  node.relation = auditRelation(config, config.alias ?? shortName);
  node.rawSql = sql;
  node.test = {
    kind: "generic",
    name,
    attachedTo: target.name,
    ...(testColumn === undefined ? {} : { column: testColumn }),
    ...(anomalySpec ? { anomaly: anomalySpec } : {}),
  };
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
  namespace: string | null = null,
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
  const metadata = { kwargs: { ...args, model: `{{ get_where_subquery(${target.relation}) }}` }, name: macro, namespace };
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

/** The macro that defines a generic test: `{% test name(…) %}` in the project, or in a package for `package.name`. */
interface TestMacro {
  namespace: string | null;
  bare: string;
  /** One of Sluice's anomaly tests, which no macro defines. */
  anomaly?: AnomalySpec["test"];
}

function testMacro(inputs: CompileInputs, path: string, name: string): TestMacro {
  const library = inputs.render.library;
  const [namespace, bare] = name.includes(".") ? (name.split(".", 2) as [string, string]) : [null, name];
  const macro = `test_${bare}`;
  const found = namespace ? library.has(namespace, macro) : library.lookupOrder(inputs.project.name).some((pkg) => library.has(pkg, macro));
  if (found) return { namespace, bare };
  if (namespace && !library.packages.includes(namespace))
    throw new CompileError(`${path}: unknown test "${name}": no package named ${namespace} is installed in dbt_packages/`);
  throw new CompileError(
    `${path}: unknown test "${name}": no {% test ${bare}(…) %} in ${namespace ?? "the project's macros or tests"}` +
      (namespace ? "" : " (Sluice runs unique, not_null, accepted_values and relationships, and the tests macros define)"),
  );
}

/** `{{ ns.test_name(model=get_where_subquery(…), column_name=…, arg=…) }}`, rendered like any node. */
function macroTestSql(path: string, name: string, macro: TestMacro, target: Target, args: Record<string, unknown>): string {
  const kwargs = [
    `model=get_where_subquery(${target.relation})`,
    ...Object.entries(args).map(([key, value]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new CompileError(`${path}: the ${name} test has an argument named "${key}"`);
      return `${key}=${jinjaArgument(value)}`;
    }),
  ];
  return `{{ ${macro.namespace ? `${macro.namespace}.` : ""}test_${macro.bare}(${kwargs.join(", ")}) }}`;
}

/** A test argument as a Jinja expression: `ref(…)`/`source(…)` stay calls, as dbt renders them; the rest are literals. */
function jinjaArgument(value: unknown): string {
  if (typeof value === "string" && /^\s*(ref|source)\s*\(.*\)\s*$/s.test(value)) return value.trim();
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
