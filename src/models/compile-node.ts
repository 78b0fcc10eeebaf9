/**
 * Compiles a node's Jinja into the SQL that runs on D1: `ref` becomes the referenced relation
 * (or, for an ephemeral model, a CTE inlined into this query), `source` the stream's table,
 * `this` the node's own relation, and `is_incremental()` whether this is an incremental run.
 * This runs in the Worker, per run, as `dbt compile` does; compile/ compiles the project's files
 * into the manifest, once, at `npm run build`. The rendered SQL then passes through the SQLite
 * dialect layer (dialect/), which translates Postgres', Snowflake's and BigQuery's forms.
 */
import { quoteIdent } from "../lib/sql.ts";
import { toSqlite } from "./dialect/index.ts";
import type { Manifest, ManifestNode } from "./manifest-schema.ts";
import { renderSql } from "./render.ts";

export interface CompileOptions {
  isIncremental?: boolean;
}

export function compileNode(manifest: Manifest, node: ManifestNode, options: CompileOptions = {}): string {
  const byName = new Map(manifest.nodes.filter((n) => n.resourceType !== "test").map((n) => [n.name, n]));
  const sources = new Map(manifest.sources.map((s) => [`${s.source}.${s.table}`, s.relation]));
  const ctes = new Map<string, string>();

  const compile = (current: ManifestNode, incremental: boolean, stack: string[]): string => {
    const sql = renderSql(current.rawSql, {
      ref: (name) => {
        const target = byName.get(name);
        if (!target) return quoteIdent(name);
        if (target.config.materialized !== "ephemeral") return quoteIdent(target.relation);
        const cte = `__dbt__cte__${target.name}`;
        if (!ctes.has(cte)) {
          if (stack.includes(target.name)) throw new Error(`ephemeral models form a cycle: ${[...stack, target.name].join(" -> ")}`);
          // Inner CTEs first, so a CTE only names CTEs defined before it.
          const body = compile(target, false, [...stack, target.name]);
          ctes.set(cte, body);
        }
        return cte;
      },
      source: (source, table) => quoteIdent(sources.get(`${source}.${table}`) ?? `raw_${source}__${table}`),
      vars: manifest.vars,
      relation: quoteIdent(current.relation),
      isIncremental: incremental,
      docs: manifest.docs,
    });
    // Each node is translated to SQLite on its own, so a refusal names the file it is written in.
    return toSqlite(current, sql.trim().replace(/;\s*$/, ""));
  };

  const body = compile(node, options.isIncremental === true, [node.name]);
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
