/**
 * Compiles a node's Jinja into the SQL that runs on D1, with dbt's full context
 * (context/context.ts): `ref` becomes the referenced relation (or, for an ephemeral model, a CTE
 * inlined into this query), `source` the source's relation, `this` the node's own relation,
 * `is_incremental()` whether this is an incremental run, and macros run with D1 reachable when
 * a database is given (`run_query`, introspection). This runs in the Worker, per run, as
 * `dbt compile` does; compile/ parses the project into the manifest once, at `npm run build`.
 * The rendered SQL then passes through the SQLite dialect layer (dialect/), which translates
 * Postgres', Snowflake's and BigQuery's forms.
 */

import { parseTemplate } from "../jinja/index.ts";
import { renderGlobals } from "./context/context.ts";
import type { Database } from "./context/database.ts";
import { macroLibrary, varsFor } from "./context/project.ts";
import { Relation } from "./context/relation.ts";
import { toSqlite } from "./dialect/index.ts";
import type { Manifest, ManifestNode } from "./manifest-schema.ts";

export interface CompileOptions {
  isIncremental?: boolean;
  fullRefresh?: boolean;
  /** D1, when compiling to run: macros may query it. Without it, `execute` is false. */
  db?: Database;
  /** The run's vars (`--vars`), over the project's. */
  vars?: Record<string, unknown>;
  /** Extra globals (a generic test's arguments). */
  extra?: Record<string, unknown>;
  log?: (message: string) => void;
}

export function nodeRelation(node: Pick<ManifestNode, "schema" | "alias" | "relation" | "config">): Relation {
  const type = node.config.materialized === "view" ? "view" : "table";
  return new Relation(node.schema, node.alias ?? node.relation, type);
}

export async function compileNode(manifest: Manifest, node: ManifestNode, options: CompileOptions = {}): Promise<string> {
  const built = manifest.nodes.filter((n) => n.resourceType !== "test");
  const byName = new Map(built.map((n) => [n.name, n]));
  const byPackage = new Map(built.map((n) => [`${n.package}.${n.name}`, n]));
  const sources = new Map(manifest.sources.map((s) => [`${s.source}.${s.table}`, s]));
  const library = macroLibrary(manifest);
  const vars = varsFor(manifest, options.vars);
  const ctes = new Map<string, string>();

  const compile = async (current: ManifestNode, incremental: boolean, stack: string[]): Promise<string> => {
    const globalsFor = renderGlobals({
      library,
      node: {
        uniqueId: current.uniqueId,
        name: current.name,
        resourceType: current.resourceType,
        package: current.package,
        path: current.path,
        config: current.config,
        relation: nodeRelation(current),
        rawSql: current.rawSql,
      },
      vars,
      ref: async (name, pkg) => {
        const target = (pkg === undefined ? undefined : byPackage.get(`${pkg}.${name}`)) ?? byName.get(name);
        if (!target) throw new Error(`ref('${name}') names no model, seed or snapshot`);
        if (target.config.materialized !== "ephemeral") return nodeRelation(target);
        const cte = `__dbt__cte__${target.name}`;
        if (!ctes.has(cte)) {
          if (stack.includes(target.name)) throw new Error(`ephemeral models form a cycle: ${[...stack, target.name].join(" -> ")}`);
          ctes.set(cte, "");
          // Inner CTEs first, so a CTE only names CTEs defined before it.
          const body = await compile(target, false, [...stack, target.name]);
          ctes.delete(cte);
          ctes.set(cte, body);
        }
        return Relation.cte(cte);
      },
      source: (source, table) => {
        const found = sources.get(`${source}.${table}`);
        return found ? new Relation(found.schema, found.identifier, "table") : new Relation("main", `raw_${source}__${table}`, "table");
      },
      isIncremental: incremental,
      fullRefresh: options.fullRefresh === true,
      execute: options.db !== undefined,
      ...(options.db ? { db: options.db } : {}),
      docs: manifest.docs,
      ...(options.log ? { log: options.log } : {}),
      ...(current === node && options.extra ? { extra: options.extra } : {}),
    });
    const sql = await parseTemplate(current.rawSql, current.path).render(globalsFor(current.package));
    // Each node is translated to SQLite on its own, so a refusal names the file it is written in.
    return toSqlite(current, sql.trim().replace(/;\s*$/, ""));
  };

  const body = await compile(node, options.isIncremental === true, [node.name]);
  return withCtes(body, ctes);
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
