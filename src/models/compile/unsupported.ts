/**
 * Nothing silent: every key, block and resource type of a dbt project that Sluice does not act on
 * is either refused (a CompileError naming the file and line) or, for resource types that have no
 * run-time effect (exposures, metrics, semantic models, saved queries, analyses), reported as
 * "parsed, not run". In: the project file's and properties files' YAML text, parsed with positions.
 * Out: notices; a refusal throws.
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { configKeys, incrementalStrategies, materializations, testConfigKeys, unitTestConfigKeys } from "../manifest-schema.ts";
import { parseThreshold } from "../test-thresholds.ts";
import { CompileError } from "./nodes.ts";
import { type SlaResource, slaRefusal, sourceTreeProblem } from "./slas.ts";

/** Something parsed that Sluice does not run, printed by `npm run build` and kept in the manifest. */
export interface NotRun {
  path: string;
  line?: number | undefined;
  /** What it is and its name, e.g. `exposure weekly_report`. */
  what: string;
  /** For a column's data_type: the model it describes, whose enforced contract would use it. */
  dataTypeOf?: string;
}

const notYet = (what: string, hint = "") => `Sluice does not support ${what} yet${hint ? ` (${hint})` : ""}`;

/** Config keys dbt knows that would change what is built or tested, and why Sluice refuses them. */
export const refusedConfig: Record<string, string> = {
  sql_header: notYet("sql_header"),
  grants: notYet("grants"),
  access: notYet("model access (access)"),
  group: notYet("groups (group)"),
};

/** Why a config key with this value is refused, or undefined when Sluice runs it. */
export function configRefusal(key: string, value: unknown): string | undefined {
  if (Object.hasOwn(refusedConfig, key)) return `${key}: ${refusedConfig[key]}`;
  if (key === "materialized" && typeof value === "string" && !(materializations as readonly string[]).includes(value))
    return `materialized: ${notYet(`the ${value} materialization`, "Sluice builds view, table, incremental and ephemeral models")}`;
  if (key === "incremental_strategy" && typeof value === "string" && !(incrementalStrategies as readonly string[]).includes(value))
    return `incremental_strategy: ${notYet(`the ${value} incremental strategy`, "Sluice runs append, delete+insert, merge and microbatch")}`;
  if ((key === "warn_if" || key === "error_if") && (typeof value !== "string" || !parseThreshold(value)))
    return `${key}: expected a comparison with a number, such as ">10" or "!=0", got ${JSON.stringify(value)}`;
  if (key === "strategy" && typeof value === "string" && value !== "timestamp" && value !== "check")
    return `strategy: ${notYet(`${value} snapshots`, "snapshots use strategy='timestamp' or strategy='check'")}`;
  return undefined;
}

/** `path:line` of the key at `keys` in a YAML file, for messages raised after the file was read. */
export function yamlAt(path: string, text: string, keys: readonly (string | number)[]): string {
  return new Located(path, text).at(keys);
}

/** A YAML file parsed with positions: `line(keys)` is the 1-based line of the key (or item) at that path. */
export class Located {
  readonly path: string;
  readonly #text: string;
  #root: Node | null | undefined;
  readonly #lines = new LineCounter();

  constructor(path: string, text: string) {
    this.path = path;
    this.#text = text;
  }

  /** The text parsed with positions, on the first question about a line: most files never need it. */
  #parsed(): Node | null {
    if (this.#root === undefined) this.#root = parseDocument(this.#text, { lineCounter: this.#lines }).contents as Node | null;
    return this.#root;
  }

  line(keys: readonly (string | number)[]): number | undefined {
    let node: unknown = this.#parsed();
    let offset: number | undefined;
    for (const key of keys) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
        if (!pair) return undefined;
        offset = (pair.key as Node).range?.[0];
        node = pair.value;
      } else if (isSeq(node) && typeof key === "number") {
        node = node.items[key];
        offset = (node as Node | undefined)?.range?.[0];
      } else return undefined;
    }
    return offset === undefined ? undefined : this.#lines.linePos(offset).line;
  }

  /** `path:line` of the key at `keys`, or the path alone. */
  at(keys: readonly (string | number)[]): string {
    const line = this.line(keys);
    return line === undefined ? this.path : `${this.path}:${line}`;
  }

  refuse(keys: readonly (string | number)[], message: string): never {
    throw new CompileError(`${this.at(keys)}: ${message}`);
  }

  notice(keys: readonly (string | number)[], what: string): NotRun {
    return { path: this.path, line: this.line(keys), what };
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/** dbt_project.yml keys that describe the dbt CLI's own environment; nothing Sluice builds depends on them. */
const environmentKeys = new Set([
  "version",
  "config-version",
  "profile",
  "require-dbt-version",
  "clean-targets",
  "target-path",
  "log-path",
  "packages-install-path",
  "macro-paths",
  "analysis-paths",
  "docs-paths",
  "asset-paths",
  "query-comment",
  "dbt-cloud",
  "vars-file",
]);
const projectKeys = new Set([
  "name",
  "model-paths",
  "seed-paths",
  "test-paths",
  "snapshot-paths",
  "vars",
  "dispatch",
  "on-run-start",
  "on-run-end",
]);
const projectTrees = ["models", "seeds", "snapshots", "tests", "data_tests", "unit_tests"];
const refusedProjectKeys: Record<string, string> = {
  quoting: notYet("quoting configs"),
  "restrict-access": notYet("restrict-access"),
};
/** Project-file configs for resource types Sluice parses but does not run. */
const notRunProjectKeys = new Set(["exposures", "metrics", "semantic-models", "saved-queries", "analyses"]);

export function checkProjectFile(path: string, text: string, raw: unknown): NotRun[] {
  if (!isRecord(raw)) return [];
  const file = new Located(path, text);
  const notices: NotRun[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (projectKeys.has(key) || environmentKeys.has(key)) continue;
    if (projectTrees.includes(key)) {
      if (isRecord(value)) checkConfigTree(file, [key], value);
    } else if (key === "sources") {
      const problem = isRecord(value) ? sourceTreeProblem(value, [key]) : undefined;
      if (problem) file.refuse(problem.keys, problem.message);
    } else if (Object.hasOwn(refusedProjectKeys, key)) file.refuse([key], `${key}: ${refusedProjectKeys[key]}`);
    else if (notRunProjectKeys.has(key)) notices.push(file.notice([key], `${key} configs`));
    else if (key === "flags") notices.push(file.notice([key], "flags (dbt's own behaviour flags)"));
    else file.refuse([key], `unknown key "${key}" in the project file`);
  }
  return notices;
}

/** A `models:`/`seeds:`/… tree of the project file: `+key` is a config, a bare key a config or a folder. */
function checkConfigTree(file: Located, keys: (string | number)[], tree: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(tree)) {
    const name = key.startsWith("+") ? key.slice(1) : key;
    const refusal = configRefusal(name, value);
    if (refusal) file.refuse([...keys, key], refusal);
    const tree = keys[0] as string;
    if (tree === "unit_tests" && (key.startsWith("+") || configKeys.has(name)) && !unitTestConfigKeys.has(name))
      file.refuse([...keys, key], `${name} does not apply to unit tests (they take enabled, tags and meta)`);
    if (testConfigKeys.has(name) && tree !== "tests" && tree !== "data_tests")
      file.refuse([...keys, key], `${name} is a test config; set it under data_tests:, it does nothing under ${tree}:`);
    const slaProblem = name === "sla" ? slaRefusal(value, treeResources[tree] ?? "model") : undefined;
    if (slaProblem) file.refuse([...keys, key], slaProblem);
    if (key.startsWith("+") || configKeys.has(name)) {
      if (!configKeys.has(name)) file.refuse([...keys, key], `unknown config key "${key}"`);
    } else if (isRecord(value)) checkConfigTree(file, [...keys, key], value);
    else file.refuse([...keys, key], `unknown config key "${key}" (a folder's configs take a +, a folder is a mapping)`);
  }
}

const treeResources: Record<string, SlaResource> = {
  models: "model",
  seeds: "seed",
  snapshots: "snapshot",
  tests: "test",
  data_tests: "test",
  unit_tests: "unit test",
};

/** A `config:` mapping in properties YAML. */
function checkConfig(file: Located, keys: (string | number)[], config: unknown): void {
  if (!isRecord(config)) return;
  for (const [key, value] of Object.entries(config)) {
    const refusal = configRefusal(key, value);
    if (refusal) file.refuse([...keys, key], refusal);
  }
}

const notRunBlocks: Record<string, string> = {
  exposures: "exposure",
  metrics: "metric",
  semantic_models: "semantic model",
  saved_queries: "saved query",
  analyses: "analysis",
};

const nodeKeys = new Set(["name", "description", "config", "columns", "tests", "data_tests"]);
const modelKeys = new Set([...nodeKeys, "constraints"]);
const snapshotKeys = new Set(["name", "description", "config", "columns", "relation"]);
const columnKeys = new Set(["name", "description", "tests", "data_tests", "constraints"]);
const snapshotColumnKeys = new Set(["name", "description"]);
const sourceKeys = new Set(["name", "description", "loaded_at_field", "freshness", "tables", "schema", "database", "config"]);
const tableKeys = new Set([
  "name",
  "identifier",
  "description",
  "loaded_at_field",
  "freshness",
  "columns",
  "tests",
  "data_tests",
  "config",
]);
/** What a source's or source table's `config:` may set. */
const sourceConfigKeys = new Set(["loaded_at_field", "freshness", "enabled", "meta", "tags", "event_time", "loaded_at_query", "sla"]);
/** Documentation only: kept by dbt for docs and catalogs, with no effect on what runs. */
const documentationKeys = new Set(["meta", "docs", "data_type", "policy_tags", "loader", "granularity", "time_spine"]);
const refusedPropertyKeys: Record<string, string> = {
  versions: notYet("model versions"),
  latest_version: notYet("model versions"),
  deprecation_date: notYet("deprecation_date"),
  access: notYet("model access (access)"),
  group: notYet("groups (group)"),
  tags: notYet("tags outside config", "put them under config: tags"),
  quote: notYet("quoted column names (quote)"),
  quoting: notYet("quoting configs"),
  overrides: notYet("source overrides"),
  external: notYet("external tables"),
  tests: notYet("tests on a whole source", "put them on its tables or columns"),
  data_tests: notYet("tests on a whole source", "put them on its tables or columns"),
};

/** Test arguments per built-in generic test; config keys given beside them join the test's config, as in dbt. */
const testArguments: Record<string, string[]> = {
  unique: ["column_name"],
  not_null: ["column_name"],
  accepted_values: ["column_name", "values", "quote"],
  relationships: ["column_name", "to", "field"],
};

export function checkPropertiesFile(path: string, text: string, raw: unknown): NotRun[] {
  if (!isRecord(raw)) return [];
  const file = new Located(path, text);
  const notices: NotRun[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (key === "version") continue;
    if (key === "models" || key === "seeds") {
      for (const [i, node] of list(value)) checkNode(file, [key, i], node, key === "models" ? modelKeys : nodeKeys, notices);
    } else if (key === "sources") {
      for (const [i, source] of list(value)) {
        checkNode(file, [key, i], source, sourceKeys, notices);
        for (const [j, table] of list(isRecord(source) ? source.tables : undefined))
          checkNode(file, [key, i, "tables", j], table, tableKeys, notices, isRecord(source) ? String(source.name) : "");
      }
    } else if (key === "snapshots") {
      for (const [i, node] of list(value)) checkNode(file, [key, i], node, snapshotKeys, notices);
    } else if (key === "unit_tests") continue;
    else if (Object.hasOwn(notRunBlocks, key)) {
      for (const [i, item] of list(value)) {
        const name = isRecord(item) && typeof item.name === "string" ? ` ${item.name}` : "";
        notices.push(file.notice([key, i], `${notRunBlocks[key]}${name}`));
      }
    } else if (key === "macros" || key === "groups") notices.push(file.notice([key], `${key} (documentation only)`));
    else file.refuse([key], `unknown key "${key}" in a properties file`);
  }
  return notices;
}

function list(value: unknown): [number, unknown][] {
  return Array.isArray(value) ? value.map((item, i) => [i, item] as [number, unknown]) : [];
}

/** A model, seed, source, source table or column entry, with its tests and config. */
function checkNode(
  file: Located,
  keys: (string | number)[],
  node: unknown,
  allowed: Set<string>,
  notices: NotRun[],
  parent?: string,
): void {
  if (!isRecord(node)) return;
  const name = typeof node.name === "string" ? node.name : "";
  for (const [key, value] of Object.entries(node)) {
    const at = [...keys, key];
    if (allowed.has(key)) {
      if (key === "config" && isRecord(value) && value.sla !== undefined) checkSla(file, [...at, "sla"], value.sla, keys, name, parent);
      if (key === "config" && keys[0] === "sources") checkSourceConfig(file, at, value);
      else if (key === "config") checkConfig(file, at, value);
      if (key === "tests" || key === "data_tests") for (const [i, entry] of list(value)) checkTest(file, [...at, i], entry);
      if (key === "columns")
        for (const [i, column] of list(value))
          checkNode(file, [...at, i], column, keys[0] === "snapshots" ? snapshotColumnKeys : columnKeys, notices, name);
      if (key === "constraints") for (const [i, constraint] of list(value)) checkConstraint(file, [...at, i], constraint, keys.length > 2);
      if (key === "relation" && !relationPattern.test(String(value)))
        file.refuse(at, `relation: a snapshot's relation is ref('name') or source('source', 'table'), not ${JSON.stringify(value)}`);
    } else if (key === "data_type" && keys[0] === "models" && parent !== undefined) {
      // Used by the model's enforced contract, if it has one (the compile then drops this notice).
      notices.push({ ...file.notice(at, `${key} of ${name} (documentation only)`), dataTypeOf: parent });
    } else if (documentationKeys.has(key)) notices.push(file.notice(at, `${key} of ${name} (documentation only)`));
    else if (Object.hasOwn(refusedPropertyKeys, key)) file.refuse(at, `${key}: ${refusedPropertyKeys[key]}`);
    else file.refuse(at, `unknown key "${key}" on ${name || "an entry"}`);
  }
}

/** A node's `config: sla:` in properties YAML, refused with the node's name. */
function checkSla(file: Located, at: (string | number)[], sla: unknown, keys: (string | number)[], name: string, parent?: string): void {
  const resource: SlaResource =
    keys[0] === "sources" ? "source" : keys[0] === "models" ? "model" : keys[0] === "seeds" ? "seed" : "snapshot";
  const refusal = slaRefusal(sla, resource);
  if (!refusal) return;
  const owner = keys.length > 2 && resource === "source" ? `source table ${parent}.${name}` : `${resource} ${name}`;
  file.refuse(at, `${owner}: ${refusal}`);
}

/** `ref('name')` or `source('source', 'table')`: what a snapshot declared in YAML reads. */
export const relationPattern =
  /^\s*(ref\(\s*(['"])[A-Za-z0-9_]+\2\s*\)|source\(\s*(['"])[A-Za-z0-9_]+\3\s*,\s*(['"])[A-Za-z0-9_]+\4\s*\))\s*$/;

/** Constraints SQLite enforces, column-level (`onColumn`) or on the model. */
const enforcedConstraints = ["not_null", "unique", "primary_key", "check"];

function checkConstraint(file: Located, keys: (string | number)[], constraint: unknown, onColumn: boolean): void {
  if (!isRecord(constraint)) file.refuse(keys, "a constraint is a mapping with a type");
  const type = String(constraint.type);
  if (!enforcedConstraints.includes(type) || (type === "not_null" && !onColumn))
    file.refuse(
      [...keys, "type"],
      `constraints: Sluice does not enforce ${type} constraints on D1 (it enforces ${enforcedConstraints.join(", ")} on columns; primary_key, unique and check on a model)`,
    );
  for (const key of Object.keys(constraint))
    if (!["type", "name", "expression", "columns", "warn_unenforced", "warn_unsupported"].includes(key))
      file.refuse([...keys, key], `unknown key "${key}" in a constraint`);
  if (type === "check" && typeof constraint.expression !== "string") file.refuse(keys, "a check constraint needs an expression");
  if (!onColumn && type !== "check" && !Array.isArray(constraint.columns)) file.refuse(keys, `a model's ${type} constraint needs columns`);
}

function checkSourceConfig(file: Located, keys: (string | number)[], config: unknown): void {
  if (!isRecord(config)) return;
  for (const key of Object.keys(config))
    if (!sourceConfigKeys.has(key))
      file.refuse([...keys, key], `unknown source config "${key}" (Sluice reads ${[...sourceConfigKeys].join(", ")})`);
}

function checkTest(file: Located, keys: (string | number)[], entry: unknown): void {
  if (!isRecord(entry)) return;
  for (const [test, spec] of Object.entries(entry)) {
    // An unknown test is refused, naming it, when its node is built (test-nodes.ts).
    if (!isRecord(spec) || !testArguments[test]) continue;
    for (const [key, value] of Object.entries(spec)) {
      const at = [...keys, test, key];
      if (key === "config") checkConfig(file, at, value);
      else if (key === "arguments" && isRecord(value)) {
        for (const argument of Object.keys(value))
          if (!testArguments[test]?.includes(argument))
            file.refuse([...at, argument], `unknown argument "${argument}" for the ${test} test`);
      } else if (testArguments[test]?.includes(key)) continue;
      else if (configKeys.has(key)) {
        const refusal = configRefusal(key, value);
        if (refusal) file.refuse(at, refusal);
      } else if (Object.hasOwn(refusedConfig, key)) file.refuse(at, `${key}: ${refusedConfig[key]}`);
      else if (key === "name") file.refuse(at, notYet("custom test names (name)"));
      else file.refuse(at, `unknown argument "${key}" for the ${test} test`);
    }
  }
}

/** Analyses: parsed, not run. (Packages and macros are read by packages.ts.) */
export function checkProjectFolders(files: { analyses?: readonly { path: string }[] | undefined }): NotRun[] {
  return (files.analyses ?? []).map(({ path }) => ({ path, what: `analysis ${(path.split("/").pop() ?? path).replace(/\.sql$/, "")}` }));
}
