/**
 * The SQLite dialect layer: compiled SQL written for Postgres, Snowflake or BigQuery in, SQL for
 * D1 out (translate.ts), or an error naming the file and line of each construct that has no
 * SQLite translation (lines.ts maps it back to the template).
 */
import { SluiceError } from "../../lib/errors.ts";
import { templateLine } from "./lines.ts";
import { type Refusal, translateSql } from "./translate.ts";

export { templateLine } from "./lines.ts";
export { type Refusal, type Translation, translateSql } from "./translate.ts";

/** `models/x.sql:LINE: <what> has no SQLite translation; <hint>` for each refusal. */
export function refusalMessages(node: { path: string; rawSql: string }, compiled: string, refusals: readonly Refusal[]): string[] {
  return refusals.map(
    (r) => `${node.path}:${templateLine(node.rawSql, compiled, r.offset, r.length)}: ${r.what} has no SQLite translation; ${r.hint}`,
  );
}

/** A node's rendered SQL for SQLite; throws, naming file and line, what cannot be translated. */
export function toSqlite(node: { path: string; rawSql: string }, rendered: string): string {
  const { sql, refusals } = translateSql(rendered);
  if (refusals.length > 0)
    throw new SluiceError("model_failed", refusalMessages(node, rendered, refusals).join("\n"), { details: { path: node.path } });
  return sql;
}
