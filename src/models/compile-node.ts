/**
 * Compiles a node's Jinja into the SQL that runs on D1, with dbt's full context
 * (context/context.ts): `ref` becomes the referenced relation (or, for an ephemeral model, a CTE
 * inlined into this query; in a microbatch batch, the rows of the batch), `source` the source's
 * relation, `this` the node's own relation, `is_incremental()` whether this is an incremental run,
 * and macros run with D1 reachable when a database is given (`run_query`, introspection). This
 * runs in the Worker, per run, as `dbt compile` does; compile/ parses the project into the
 * manifest once, at `npm run build`. The rendered SQL then passes through the SQLite dialect
 * layer (dialect/), which translates Postgres', Snowflake's and BigQuery's forms.
 */
import { parseTemplate } from "../jinja/index.ts";
import { quoteIdent } from "../lib/sql.ts";
import { renderGlobals } from "./context/context.ts";
import type { Database } from "./context/database.ts";
import { macroLibrary, varsFor } from "./context/project.ts";
import { Relation, targetSchema } from "./context/relation.ts";
import { toSqlite } from "./dialect/index.ts";
import { isTestNode, type Manifest, type ManifestNode, type UnitTestSpec } from "./manifest-schema.ts";
import { RefIndex } from "./ref-lookup.ts";
import { withOverrides } from "./unit-test-overrides.ts";

export interface CompileOptions {
  isIncremental?: boolean;
  fullRefresh?: boolean;
  /** A microbatch batch: refs and sources with an event_time are read only within [start, end). */
  batch?: { start: string; end: string };
  /** D1, when compiling to run: macros may query it. Without it, `execute` is false. */
  db?: Database;
  /** The run's vars (`--vars`), over the project's. */
  vars?: Record<string, unknown>;
  /** Extra globals (a generic test's arguments). */
  extra?: Record<string, unknown>;
  /**
   * A unit test: the query of each input's rows, by `ref:<unique id>`, `source:<source>.<table>`
   * or `this`, read as CTEs in their place; and the overrides of the macros, vars and env vars
   * the node's own template names (as in dbt, not those its macros reach).
   */
  unitTest?: { inputs: ReadonlyMap<string, string>; overrides: UnitTestSpec["overrides"] };
  log?: (message: string) => void;
  /** What `env_var()` may read (its `DBT_` variables; context.ts filters). */
  env?: Record<string, unknown>;
}

export function nodeRelation(node: Pick<ManifestNode, "schema" | "alias" | "relation" | "config">): Relation {
  const type = node.config.materialized === "view" ? "view" : "table";
  return new Relation(node.schema, node.alias ?? node.relation, type);
}

/**
 * A relation read by a microbatch batch: the rows whose event_time falls in the batch. Times
 * compare through datetime(), so ISO 8601 text in any of its forms (`T` or space, `Z`, offsets)
 * falls in the right batch.
 */
function batchFiltered(relation: Relation, eventTime: string | undefined, batch: CompileOptions["batch"]): Relation {
  if (!batch || !eventTime) return relation;
  const column = `datetime(${quoteIdent(eventTime)})`;
  return relation.renderedAs(`(select * from ${relation.render()} where ${column} >= '${batch.start}' and ${column} < '${batch.end}')`);
}

export async function compileNode(manifest: Manifest, node: ManifestNode, options: CompileOptions = {}): Promise<string> {
  return nodeRenderer(manifest, options)(node.rawSql, node);
}

/**
 * A hook of `node` (pre-hook or post-hook) rendered with the node's context: `this`, `ref`,
 * `source`, `var`, `is_incremental()`. Without a node, an on-run-start or on-run-end hook.
 */
export async function renderHook(manifest: Manifest, sql: string, node?: ManifestNode, options: CompileOptions = {}): Promise<string> {
  return nodeRenderer(manifest, options)(sql, node);
}

/** What refs and sources resolve against, made once per manifest rather than once per node. */
interface Lookups {
  refs: RefIndex<ManifestNode>;
  sources: Map<string, Manifest["sources"][number]>;
}

const lookupsOf = new WeakMap<Manifest, Lookups>();

function lookups(manifest: Manifest): Lookups {
  let found = lookupsOf.get(manifest);
  if (!found) {
    const refs = new RefIndex<ManifestNode>(manifest.project);
    for (const n of manifest.nodes) if (!isTestNode(n)) refs.set(n.package || manifest.project, n.name, n);
    found = {
      refs,
      sources: new Map(manifest.sources.map((s) => [`${s.source}.${s.table}`, s])),
    };
    lookupsOf.set(manifest, found);
  }
  return found;
}

function nodeRenderer(manifest: Manifest, options: CompileOptions) {
  const { refs, sources } = lookups(manifest);
  const library = macroLibrary(manifest);
  const vars = varsFor(manifest, options.vars);
  const ctes = new Map<string, string>();
  /** A unit test's rows for `key`, as a CTE named `name`; undefined when the test gives none. */
  const givenRows = (key: string, name: string): Relation | undefined => {
    const body = options.unitTest?.inputs.get(key);
    if (body === undefined) return undefined;
    if (!ctes.has(name)) ctes.set(name, body);
    return Relation.cte(name);
  };

  const compile = async (sql: string, current: ManifestNode | undefined, incremental: boolean, stack: string[]): Promise<string> => {
    const globalsFor = renderGlobals({
      library,
      node: current
        ? {
            uniqueId: current.uniqueId,
            name: current.name,
            resourceType: current.resourceType,
            package: current.package,
            path: current.path,
            config: current.config,
            relation: (stack.length === 1 && givenRows("this", "__dbt__cte__this")) || nodeRelation(current),
            rawSql: current.rawSql,
          }
        : {
            uniqueId: `operation.${manifest.project}`,
            name: manifest.project,
            resourceType: "operation",
            package: manifest.project,
            path: "dbt_project.yml",
            config: {},
            relation: new Relation(targetSchema, manifest.project),
          },
      vars,
      ref: async (name, pkg) => {
        const target = refs.find(name, pkg, current?.package || manifest.project);
        if (!target) throw new Error(`ref('${name}') names no model, seed or snapshot`);
        const given = givenRows(`ref:${target.uniqueId}`, `__dbt__cte__${target.name}`);
        if (given) return given;
        if (target.config.materialized !== "ephemeral") {
          const { schema, identifier, type } = nodeRelation(target);
          return batchFiltered(Relation.read(schema, identifier, type), target.config.event_time, options.batch);
        }
        const cte = `__dbt__cte__${target.name}`;
        if (!ctes.has(cte)) {
          if (stack.includes(target.name)) throw new Error(`ephemeral models form a cycle: ${[...stack, target.name].join(" -> ")}`);
          ctes.set(cte, "");
          // Inner CTEs first, so a CTE only names CTEs defined before it.
          const body = await compile(target.rawSql, target, false, [...stack, target.name]);
          ctes.delete(cte);
          ctes.set(cte, body);
        }
        return Relation.cte(cte);
      },
      source: (source, table) => {
        const given = givenRows(`source:${source}.${table}`, `__dbt__cte__${source}__${table}`);
        if (given) return given;
        const found = sources.get(`${source}.${table}`);
        const relation = found
          ? Relation.read(found.schema, found.identifier, "table")
          : Relation.read(targetSchema, `raw_${source}__${table}`, "table");
        return batchFiltered(relation, found?.eventTime, options.batch);
      },
      isIncremental: incremental,
      fullRefresh: options.fullRefresh === true,
      execute: options.db !== undefined,
      ...(options.db ? { db: options.db } : {}),
      docs: manifest.docs,
      ...(options.env ? { env: stringEnv(options.env) } : {}),
      ...(options.log ? { log: options.log } : {}),
      ...(current && stack.length === 1 && options.extra ? { extra: options.extra } : {}),
    });
    const pkg = current?.package || manifest.project;
    const globals = options.unitTest && stack.length === 1 ? withOverrides(globalsFor(pkg), options.unitTest.overrides) : globalsFor(pkg);
    const rendered = await parseTemplate(sql, current?.path ?? "dbt_project.yml").render(globals);
    // Each node is translated to SQLite on its own, so a refusal names the file it is written in.
    return toSqlite({ path: current?.path ?? "dbt_project.yml", rawSql: sql }, rendered.trim().replace(/;\s*$/, ""));
  };

  return async (sql: string, node: ManifestNode | undefined): Promise<string> => {
    ctes.clear();
    const body = await compile(sql, node, options.isIncremental === true, node ? [node.name] : []);
    return withCtes(body, ctes);
  };
}

/** The string-valued variables of a Worker's env (bindings and secrets' objects dropped). */
function stringEnv(env: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
}

/** Prepends CTEs to a query, merging into its own WITH clause if it has one. */
function withCtes(sql: string, ctes: Map<string, string>): string {
  if (ctes.size === 0) return sql;
  const defined = [...ctes].map(([name, body]) => `${name} as (\n${body}\n)`).join(",\n");
  const leading = /^(\s*(--[^\n]*\n|\/\*[\s\S]*?\*\/)\s*)*/.exec(sql)?.[0] ?? "";
  const rest = sql.slice(leading.length);
  const existing = /^with\s+(recursive\s+)?/i.exec(rest);
  if (existing) return `${leading}${existing[0]}${defined},\n${rest.slice(existing[0].length)}`;
  return `${leading}with ${defined}\n${rest}`;
}
