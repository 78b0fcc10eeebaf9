/**
 * Compiles a node's Jinja into the SQL that runs on D1: `ref` becomes the referenced relation
 * (or, for an ephemeral model, a CTE inlined into this query), `source` the stream's table,
 * `this` the node's own relation, and `is_incremental()` whether this is an incremental run.
 * This runs in the Worker, per run, as `dbt compile` does; compile/ compiles the project's files
 * into the manifest, once, at `npm run build`.
 */
import { quoteIdent } from "../lib/sql.ts";
import type { Manifest, ManifestNode } from "./manifest-schema.ts";
import { renderSql } from "./render.ts";

export interface CompileOptions {
  isIncremental?: boolean;
  /** A microbatch batch: refs and sources with an event_time are read only within [start, end). */
  batch?: { start: string; end: string };
}

/**
 * A relation read by a microbatch batch: the rows whose event_time falls in the batch. Times
 * compare through datetime(), so ISO 8601 text in any of its forms (`T` or space, `Z`, offsets)
 * falls in the right batch.
 */
function batchFiltered(relation: string, eventTime: string | undefined, batch: CompileOptions["batch"]): string {
  if (!batch || !eventTime) return relation;
  const column = `datetime(${quoteIdent(eventTime)})`;
  return `(select * from ${relation} where ${column} >= '${batch.start}' and ${column} < '${batch.end}')`;
}

export function compileNode(manifest: Manifest, node: ManifestNode, options: CompileOptions = {}): string {
  return nodeRenderer(manifest, options)(node.rawSql, node);
}

/**
 * A hook of `node` (pre-hook or post-hook) rendered with the node's context: `this`, `ref`,
 * `source`, `var`, `is_incremental()`. Without a node, an on-run-start or on-run-end hook.
 */
export function renderHook(manifest: Manifest, sql: string, node?: ManifestNode, options: CompileOptions = {}): string {
  return nodeRenderer(manifest, options)(sql, node);
}

function nodeRenderer(manifest: Manifest, options: CompileOptions) {
  const byName = new Map(manifest.nodes.filter((n) => n.resourceType !== "test").map((n) => [n.name, n]));
  const sources = new Map(manifest.sources.map((s) => [`${s.source}.${s.table}`, s]));
  const ctes = new Map<string, string>();

  const compile = (current: Pick<ManifestNode, "rawSql" | "relation">, incremental: boolean, stack: string[]): string => {
    const sql = renderSql(current.rawSql, {
      ref: (name) => {
        const target = byName.get(name);
        if (!target) return quoteIdent(name);
        if (target.config.materialized !== "ephemeral")
          return batchFiltered(quoteIdent(target.relation), target.config.event_time, options.batch);
        const cte = `__dbt__cte__${target.name}`;
        if (!ctes.has(cte)) {
          if (stack.includes(target.name)) throw new Error(`ephemeral models form a cycle: ${[...stack, target.name].join(" -> ")}`);
          // Inner CTEs first, so a CTE only names CTEs defined before it.
          const body = compile(target, false, [...stack, target.name]);
          ctes.set(cte, body);
        }
        return cte;
      },
      source: (source, table) => {
        const found = sources.get(`${source}.${table}`);
        return batchFiltered(quoteIdent(found?.relation ?? `raw_${source}__${table}`), found?.eventTime, options.batch);
      },
      vars: manifest.vars,
      ...(current.relation ? { relation: quoteIdent(current.relation) } : {}),
      isIncremental: incremental,
      docs: manifest.docs,
    });
    return sql.trim().replace(/;\s*$/, "");
  };

  return (sql: string, node: ManifestNode | undefined): string => {
    ctes.clear();
    const body = compile({ rawSql: sql, relation: node?.relation ?? "" }, options.isIncremental === true, node ? [node.name] : []);
    return withCtes(body, ctes);
  };
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
