/**
 * dbt's Jinja context, for one render of one node (or hook, or test). In: the macro library,
 * the project's vars, the node, and how to resolve `ref`/`source` and reach D1. Out: the globals
 * a template (and each macro, per package) renders with: `ref`, `source`, `config`, `var`,
 * `env_var`, `this`, `model`, `target`, `execute`, `is_incremental()`, `adapter`, `api`,
 * `run_query`, `statement`/`load_result`, `log`, `exceptions`, `modules`, the package
 * namespaces (`dbt`, `dbt_utils`, …) and every macro by its bare name.
 *
 * When compiling (execute false) nothing reaches D1: `run_query` returns none and introspection
 * returns nothing, as in dbt's parse.
 */
import { Kwargs, type Macro, pyfunc, TemplateError, toJs } from "../../jinja/index.ts";
import { type Database, databaseAdapter, type Query } from "./database.ts";
import { BoundMacros, internalPackage, type MacroLibrary } from "./macros.ts";
import { modules } from "./modules.ts";
import { Relation, targetDatabase, targetSchema } from "./relation.ts";
import { localOffsetSql, utcOffsetSql } from "./time-zones.ts";

/** The node being rendered, as `model` and `config` describe it. */
export interface RenderNode {
  uniqueId: string;
  name: string;
  resourceType: string;
  package: string;
  path: string;
  config: Record<string, unknown>;
  /** The node's own relation: what `{{ this }}` renders. */
  relation: Relation;
  rawSql?: string;
}

export interface RenderScope {
  library: MacroLibrary;
  node: RenderNode;
  /** Vars by package: `vars(pkg)` is the merged lookup for a node or macro of `pkg` (run vars first). */
  vars: (pkg: string) => Record<string, unknown>;
  ref: (name: string, pkg: string | undefined) => Relation | Promise<Relation>;
  source: (source: string, table: string) => Relation;
  /** Receives `config(...)` keyword arguments. */
  onConfig?: (values: Record<string, unknown>) => void;
  isIncremental?: boolean;
  fullRefresh?: boolean;
  /** True when running (D1 is reachable), false when compiling. */
  execute: boolean;
  db?: Database;
  env?: Record<string, string | undefined>;
  docs?: Record<string, string>;
  target?: { name?: string; threads?: number };
  /** Where `log()` writes; default nowhere. */
  log?: (message: string) => void;
  /** Extra globals for this render (a generic test's arguments, a unit test's overrides). */
  extra?: Record<string, unknown>;
  /** Named results of `{% call statement(...) %}`, shared by the render. */
  statements?: Map<string, unknown>;
}

const missing = Symbol("missing");

/**
 * The environment variables `env_var()` reads: `DBT_`-prefixed ones, as dbt's docs advise, and
 * never `DBT_ENV_SECRET_` ones, so a model cannot render a secret (or Sluice's own tokens) into
 * SQL, tables or logs. Any other name reads as unset: its default, or dbt's error.
 */
export const readableEnv = (name: string): boolean => name.startsWith("DBT_") && !name.startsWith("DBT_ENV_SECRET_");

/**
 * A package's namespace (`dbt_utils.star`, `dbt.dateadd`): its macros as attributes. A class, not
 * a plain object, so the interpreter reads names through `__getattr__` rather than as dict keys.
 */
class MacroNamespace {
  readonly #pkg: string;
  readonly #find: (name: string) => Macro | undefined;

  constructor(pkg: string, find: (name: string) => Macro | undefined) {
    this.#pkg = pkg;
    this.#find = find;
  }

  __getattr__(name: string): Macro {
    const macro = this.#find(name);
    if (!macro) throw new TemplateError(`'${this.#pkg}' has no macro named '${name}'`);
    return macro;
  }

  __str__(): string {
    return this.#pkg;
  }
}

/** The members of dbt's context that are the same in every render, made once. */
const staticGlobals: Record<string, unknown> = {
  modules,
  api: {
    Relation: {
      create: pyfunc(["database?", "schema?", "identifier?", "type?"], ({ schema, identifier, type }) => {
        return new Relation(typeof schema === "string" ? schema : targetSchema, String(identifier ?? ""), (type as never) ?? null);
      }),
    },
  },
  fromjson: pyfunc(["string", "default?"], ({ string, default: fallback }) => {
    try {
      return JSON.parse(String(string));
    } catch {
      return fallback ?? null;
    }
  }),
  tojson: pyfunc(["value", "default?", "sort_keys?"], ({ value }) => JSON.stringify(toJs(value))),
  zip: (...lists: unknown[]) => {
    const arrays = lists.map((l) => [...(l as Iterable<unknown>)]);
    const length = Math.min(...arrays.map((a) => a.length));
    return Array.from({ length }, (_, i) => arrays.map((a) => a[i]));
  },
  set: (value: unknown) => [...new Set(value ? [...(value as Iterable<unknown>)] : [])],
  local_md5: (value: unknown) => String(value),
};

/** The globals of a render, per package: call `globalsFor(node.package)` for the node's own template. */
export function renderGlobals(scope: RenderScope): (pkg: string) => Record<string, unknown> {
  const { library, node } = scope;
  const statements = scope.statements ?? new Map<string, unknown>();
  const adapter = databaseAdapter(scope.execute ? scope.db : undefined, library, () => macros);
  const namespaces = new Map<string, object>();
  const perPackage = new Map<string, Record<string, unknown>>();

  const namespace = (pkg: string): object => {
    let ns = namespaces.get(pkg);
    if (!ns) {
      ns = new MacroNamespace(
        pkg,
        (name) => macros.get(pkg, name) ?? (pkg === internalPackage ? undefined : macros.get(internalPackage, name)),
      );
      namespaces.set(pkg, ns);
    }
    return ns;
  };

  const varFor = (pkg: string) =>
    pyfunc(["name", "default?"], ({ name, default: fallback }) => {
      const vars = scope.vars(pkg);
      const key = String(name);
      if (Object.hasOwn(vars, key)) return vars[key];
      if (fallback !== undefined) return fallback;
      throw new TemplateError(`Required var '${key}' not found in config: vars supplied to ${node.name} = ${JSON.stringify(vars)}`);
    });

  const config = Object.assign(
    (...args: unknown[]) => {
      const kwargs = args.at(-1) instanceof Kwargs ? (args.pop() as Kwargs).values : {};
      const positional = args[0] !== undefined ? (toJs(args[0]) as Record<string, unknown>) : {};
      scope.onConfig?.({ ...positional, ...(toJs(kwargs) as Record<string, unknown>) });
      return "";
    },
    {
      get: pyfunc(["name", "default?"], ({ name, default: fallback }) => node.config[String(name)] ?? fallback ?? null),
      require: pyfunc(["name"], ({ name }) => {
        const value = node.config[String(name)];
        if (value === undefined) throw new TemplateError(`'${String(name)}' is required by ${node.name} but not set in its config`);
        return value;
      }),
      set: () => "",
      persist_relation_docs: () => false,
      persist_column_docs: () => false,
    },
  );

  const base: Record<string, unknown> = {
    ref: (...args: unknown[]) => {
      const names = args.filter((a) => !(a instanceof Kwargs)).map(String);
      return names.length >= 2 ? scope.ref(names[1]!, names[0]) : scope.ref(names[0]!, undefined);
    },
    source: (source: unknown, table: unknown) => scope.source(String(source), String(table)),
    config,
    this: node.relation,
    model: {
      name: node.name,
      unique_id: node.uniqueId,
      resource_type: node.resourceType,
      package_name: node.package,
      original_file_path: node.path,
      path: node.path,
      config: node.config,
      alias: node.relation.identifier,
      schema: node.relation.schema,
      database: targetDatabase,
      raw_code: node.rawSql ?? "",
      raw_sql: node.rawSql ?? "",
    },
    target: {
      name: scope.target?.name ?? "dev",
      type: "sqlite",
      schema: targetSchema,
      database: targetDatabase,
      threads: scope.target?.threads ?? 1,
      profile_name: "sluice",
    },
    project_name: library.root,
    execute: scope.execute,
    flags: { FULL_REFRESH: scope.fullRefresh === true, WHICH: "build", STORE_FAILURES: false },
    is_incremental: () => scope.isIncremental === true,
    should_full_refresh: () => scope.fullRefresh === true,
    should_store_failures: () => node.config.store_failures === true,
    env_var: pyfunc(["name", "default?"], ({ name, default: fallback }) => {
      const value = readableEnv(String(name)) ? scope.env?.[String(name)] : undefined;
      if (value !== undefined) return value;
      if (fallback !== undefined) return fallback;
      throw new TemplateError(`Env var required but not provided: '${String(name)}'`);
    }),
    doc: (name: unknown) => scope.docs?.[String(name)] ?? "",
    log: pyfunc(["msg", "info?"], ({ msg }) => {
      scope.log?.(String(msg));
      return "";
    }),
    print: (msg: unknown) => {
      scope.log?.(String(msg));
      return "";
    },
    exceptions: {
      raise_compiler_error: (message: unknown) => {
        throw new TemplateError(`Compilation Error in ${node.uniqueId} (${node.path}): ${String(message)}`);
      },
      /** dbt's way for a macro to refuse an adapter it has no version for. */
      raise_not_implemented: (message: unknown) => {
        throw new TemplateError(`A macro refused ${node.uniqueId} (${node.path}): ${String(message)}`);
      },
      warn: (message: unknown) => {
        scope.log?.(`warning: ${String(message)}`);
        return "";
      },
    },
    ...staticGlobals,
    // For Sluice's sluice_sqlite macros: a zone's UTC offset (seconds) at an instant, and at a wall-clock time.
    sluice_utc_offset_sql: (zone: unknown, epoch: unknown) => utcOffsetSql(String(zone), String(epoch)),
    sluice_local_offset_sql: (zone: unknown, local: unknown) => localOffsetSql(String(zone), String(local)),
    adapter,
    run_query: async (sql: unknown) => (scope.execute ? adapter.runQuery(String(sql)) : null),
    statement: pyfunc(["name?", "fetch_result?", "auto_begin?", "language?", "caller?"], async ({ name, fetch_result, caller }) => {
      if (!scope.execute) return "";
      const sql = typeof caller === "function" ? String(await (caller as () => Promise<string>)()) : "";
      const result: Query = await adapter.runQuery(sql);
      if (name !== undefined && name !== null) {
        statements.set(String(name), {
          response: { rows_affected: result.rowsAffected, code: "OK", _message: "OK" },
          data: fetch_result ? result.map((row) => [...row]) : [],
          table: fetch_result ? result : null,
        });
      }
      return "";
    }),
    load_result: (name: unknown) => statements.get(String(name)) ?? null,
    /** A generic test's `model`: its relation, filtered by the test's `where` config if it has one. */
    get_where_subquery: (relation: unknown) => {
      const where = node.config.where;
      return typeof where === "string" && where.trim() !== ""
        ? `(select * from ${String(relation)} where ${where}) dbt_subquery`
        : relation;
    },
    run_started_at: modules.datetime.datetime.utcnow(),
    invocation_id: node.uniqueId,
    dbt_version: "1.9.0",
    selected_resources: [],
    graph: { nodes: {}, sources: {}, exposures: {}, metrics: {} },
    ...scope.extra,
  };

  const globalsFor = (pkg: string): Record<string, unknown> => {
    let globals = perPackage.get(pkg);
    if (globals) return globals;
    const own: Record<string, unknown> = { ...base, var: varFor(pkg) };
    const lookup = (name: string): unknown => {
      if (Object.hasOwn(own, name)) return own[name];
      const macro: Macro | undefined = macros.resolve(pkg, name);
      if (macro) return macro;
      if (library.packages.includes(name)) return namespace(name);
      return missing;
    };
    globals = new Proxy(own, {
      has: (_target, name) => typeof name === "string" && lookup(name) !== missing,
      get: (_target, name) => (typeof name === "string" ? ((v) => (v === missing ? undefined : v))(lookup(name)) : undefined),
    });
    perPackage.set(pkg, globals);
    return globals;
  };

  const macros = new BoundMacros(library, globalsFor);
  return globalsFor;
}
