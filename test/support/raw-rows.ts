/**
 * Rows written straight into a stream's raw table, as loads would have left them (record key,
 * load id, receive time, load order), so a test can give a table weeks of history in a moment.
 */
import { env } from "cloudflare:test";
import { createTableSql, indexSql } from "../../src/db/raw-tables.ts";
import { newLoadId } from "../../src/lib/ids.ts";
import { rawTableName } from "../../src/lib/sql.ts";

let loadSeq = 0;

/** Creates `raw_<source>__<stream>` (append) with text columns `names`; returns its name. */
export async function createRawTable(source: string, stream: string, names: readonly string[]): Promise<string> {
  const table = rawTableName(source, stream);
  const ddl = [
    createTableSql(
      table,
      "append",
      names.map((name) => ({ name, type: "text" as const })),
    ),
    ...indexSql(table, "append"),
  ];
  await env.DB.batch(ddl.map((sql) => env.DB.prepare(sql)));
  return table;
}

/** One load started at `startedMs`, next in load order: each row is the values of `names`, in order. */
export function rawLoad(table: string, names: readonly string[], startedMs: number, values: (string | null)[][]): D1PreparedStatement {
  const seq = ++loadSeq;
  const list = names.map((n) => `"${n}"`).join(", ");
  const picks = names.map((_, i) => `json_extract(value, '$[${i + 1}]')`).join(", ");
  const data = values.map((row, i) => [`${table}-${seq}-${i}`, ...row]);
  return env.DB.prepare(
    `INSERT INTO "${table}" (_sluice_key, _sluice_load_id, _sluice_received_at, _sluice_source_object, _sluice_load_seq, ${list})
     SELECT json_extract(value, '$[0]'), ?1, ?2, 'raw/test', ?3, ${picks} FROM json_each(?4)`,
  ).bind(newLoadId(startedMs), new Date(startedMs).toISOString(), seq, JSON.stringify(data));
}
