/**
 * Build-time validation: every compiled model, snapshot and test is prepared against SQLite
 * (Node's `node:sqlite`) in a scratch in-memory database that holds the relations it reads, so a
 * syntax error, an unknown function or an unknown column fails `npm run build` with file and line
 * instead of a cron run in production. D1's own limits (dialect/limits.ts) are checked too.
 *
 * The scratch schema: stream tables with their declared columns, seeds with their manifest
 * columns, then each node in run order, built as an empty table of its own output columns so that
 * downstream nodes see them. A relation whose columns are not known at compile time (a stream
 * whose columns are inferred, a source that is no stream, a table no ref or source names) is an
 * open stand-in: when SQLite reports "no such column: x" and the statement reads an open relation,
 * x is added to it and the statement is prepared again. A node that reads an open relation is
 * open too. So such a node gets the syntax and function check, and columns are checked exactly
 * where they are known.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { templateLine } from "../../src/models/dialect/index.ts";
import { checkD1Limits, d1Limits } from "../../src/models/dialect/limits.ts";
import { tokenize } from "../../src/models/dialect/tokens.ts";
import type { Manifest, ManifestNode } from "../../src/models/manifest-schema.ts";

/** A node's compiled, translated SQL; for an incremental model, also its is_incremental() form. */
export interface CompiledNode {
  sql: string;
  incrementalSql?: string;
}

/** Tables that exist before any node is built: stream tables, and stand-ins for other sources. */
export interface ScratchTable {
  relation: string;
  /** CREATE TABLE for it. */
  createSql: string;
  /** Its columns are not known at compile time. */
  open: boolean;
}

const standIn = "_sluice_stand_in";
const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Every problem found, as `path:line: message`, in run order. */
export function validateModels(manifest: Manifest, compiled: ReadonlyMap<string, CompiledNode>, schema: readonly ScratchTable[]): string[] {
  const db = new DatabaseSync(":memory:");
  const problems: string[] = [];
  /** Relations (lower case) whose columns are not all known. */
  const open = new Set<string>();
  const built = new Set(manifest.nodes.map((n) => n.relation.toLowerCase()));
  const failed = new Set<string>();
  try {
    for (const table of schema) {
      if (built.has(table.relation.toLowerCase())) continue;
      db.exec(table.createSql);
      if (table.open) open.add(table.relation.toLowerCase());
    }
    for (const node of manifest.nodes) {
      if (node.dependsOn.nodes.some((parent) => failed.has(parent))) {
        failed.add(node.uniqueId);
        continue;
      }
      const found = validateNode(db, node, compiled.get(node.uniqueId), open);
      if (found.length > 0) {
        problems.push(...found);
        failed.add(node.uniqueId);
      }
    }
  } finally {
    db.close();
  }
  return problems;
}

function validateNode(db: DatabaseSync, node: ManifestNode, compiled: CompiledNode | undefined, open: Set<string>): string[] {
  if (node.resourceType === "seed" && node.seed) {
    const columns = node.seed.columns.map((c) => `${quote(c.name)} ${c.type === "bool" ? "BOOLEAN" : c.type.toUpperCase()}`);
    db.exec(`CREATE TABLE ${quote(node.relation)} (${columns.join(", ") || quote(standIn)})`);
    return [];
  }
  if (!compiled) return [];
  if (compiled.sql.trim() === "") {
    // Renders only when run (dbt's `{% if not execute %}{{ return('') }}`, as dbt_utils' equal_rowcount does):
    // nothing to check now, and what reads it sees an open stand-in.
    if (node.resourceType !== "test" && node.config.materialized !== "ephemeral") {
      db.exec(`CREATE TABLE ${quote(node.relation)} (${quote(standIn)})`);
      open.add(node.relation.toLowerCase());
    }
    return [];
  }
  const at = (sql: string, offset: number, length: number) => templateLine(node.rawSql, sql, offset, length);
  const problems = checkD1Limits(compiled.sql).map((p) => `${node.path}:${at(compiled.sql, p.offset, p.length)}: ${p.message}`);
  const prepared = prepare(db, compiled.sql, open);
  if ("error" in prepared) return [...problems, `${node.path}:${at(compiled.sql, prepared.offset, prepared.length)}: ${prepared.error}`];
  const columns = prepared.statement.columns().length;
  if (columns > d1Limits.columnsPerTable)
    problems.push(`${node.path}:1: ${node.name} has ${columns} columns; a D1 table holds at most ${d1Limits.columnsPerTable}`);
  const builds = node.resourceType !== "test" && node.config.materialized !== "ephemeral";
  if (builds) {
    db.exec(`CREATE TABLE ${quote(node.relation)} AS SELECT * FROM (${compiled.sql}) LIMIT 0`);
    if (prepared.open) open.add(node.relation.toLowerCase());
  }
  if (compiled.incrementalSql !== undefined) {
    const sql = compiled.incrementalSql;
    problems.push(...checkD1Limits(sql).map((p) => `${node.path}:${at(sql, p.offset, p.length)}: ${p.message} (is_incremental())`));
    const again = prepare(db, sql, open);
    if ("error" in again) problems.push(`${node.path}:${at(sql, again.offset, again.length)}: ${again.error} (is_incremental())`);
  }
  return problems;
}

type Prepared = { statement: StatementSync; open: boolean } | { error: string; offset: number; length: number };

/** Prepares `sql`, teaching open relations the columns it reads from them. */
function prepare(db: DatabaseSync, sql: string, open: Set<string>): Prepared {
  const tokens = tokenize(sql);
  const names = new Set(tokens.filter((t) => t.kind === "word" || t.kind === "quoted").map((t) => unquote(t.text).toLowerCase()));
  const reads = () => [...open].filter((relation) => names.has(relation));
  for (let attempt = 0; attempt < 1000; attempt++) {
    try {
      return { statement: db.prepare(sql), open: reads().length > 0 };
    } catch (error) {
      const message = (error as Error).message;
      const table = /^no such table: (?:main\.)?([^.]+)$/.exec(message);
      if (table && !open.has(table[1]!.toLowerCase())) {
        // A table no ref or source names (Sluice's own, or one made outside the project).
        db.exec(`CREATE TABLE ${quote(table[1]!)} (${quote(standIn)})`);
        open.add(table[1]!.toLowerCase());
        names.add(table[1]!.toLowerCase());
        continue;
      }
      const column = /^no such column: (.+?)(?: - should this be a string literal.*)?$/.exec(message);
      if (column) {
        const name = unquote(column[1]!.split(".").pop()!);
        const missing = reads().filter((relation) => !hasColumn(db, relation, name));
        if (missing.length > 0) {
          for (const relation of missing) db.exec(`ALTER TABLE ${quote(relation)} ADD COLUMN ${quote(name)}`);
          continue;
        }
      }
      return { error: message, ...locate(db, sql, message) };
    }
  }
  return { error: "too many columns to learn from open relations", offset: 0, length: 0 };
}

function unquote(name: string): string {
  return /^["`].*["`]$/.test(name) ? name.slice(1, -1).replaceAll('""', '"') : name;
}

function hasColumn(db: DatabaseSync, relation: string, column: string): boolean {
  const row = db.prepare("SELECT count(*) AS n FROM pragma_table_info(?) WHERE lower(name) = lower(?)").get(relation, column) as {
    n: number;
  };
  return row.n > 0;
}

/** Where in `sql` SQLite's error points: the token it names. */
function locate(db: DatabaseSync, sql: string, message: string): { offset: number; length: number } {
  const tokens = tokenize(sql).filter((t) => t.kind !== "space" && t.kind !== "comment");
  const near = /^near "(.*)": syntax error$/s.exec(message);
  if (near) {
    // The token SQLite stopped at: the first occurrence whose prefix of the SQL fails the same way.
    const candidates = tokens.filter((t) => t.text === near[1]);
    for (const token of candidates) {
      try {
        db.prepare(sql.slice(0, token.start + token.text.length));
      } catch (error) {
        if ((error as Error).message === message) return { offset: token.start, length: token.text.length };
      }
    }
    if (candidates[0]) return { offset: candidates[0].start, length: candidates[0].text.length };
  }
  if (message === "incomplete input") return { offset: sql.trimEnd().length - 1, length: 1 };
  const named = /^no such (?:column|function|table): (?:[^.]*\.)?([^ .]+)/.exec(message) ?? /^'(.+)' is not a function$/.exec(message);
  if (named) {
    const name = unquote(named[1]!).toLowerCase();
    const token = tokens.find((t) => (t.kind === "word" || t.kind === "quoted") && unquote(t.text).toLowerCase() === name);
    if (token) return { offset: token.start, length: token.text.length };
  }
  return { offset: 0, length: 0 };
}
