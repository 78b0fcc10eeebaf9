/**
 * SQL for `_sluice_keys`: record keys taken from outside a delivery's signature, bound to the
 * SHA-256 of the body first delivered under them (per source). Every decision is an expression
 * evaluated inside the load's own D1 batch, so two isolates loading different bodies under one
 * key concurrently are serialised by D1 and still agree on which body owns the key.
 *
 * In these expressions `k` is the record's key and `h` its body hash (NULL for keys the signature
 * covers, which keep the plain rule: unique on the key).
 */
import { getTableName } from "drizzle-orm";
import { quoteIdent } from "../lib/sql.ts";
import { boundKeys } from "./schema.ts";

const keys = quoteIdent(getTableName(boundKeys));

/** Hex characters of the body hash appended to a conflicting key: `<key>#<16 hex>`. */
export const conflictSuffixChars = 16;

/**
 * The key a record is stored under: its own key, unless that key is bound to another body, in
 * which case `<key>#<first 16 hex of the body hash>` (deterministic, so a re-delivery of that
 * body is a duplicate of it). `source` is a parameter reference such as `?4`.
 */
export function resolvedKeySql(k: string, h: string, source: string): string {
  return `CASE WHEN ${h} IS NULL THEN ${k}
  WHEN (SELECT body_hash FROM ${keys} WHERE source = ${source} AND key = ${k}) = ${h} THEN ${k}
  ELSE ${k} || '#' || substr(${h}, 1, ${conflictSuffixChars}) END`;
}

/**
 * Whether a bound record belongs to `stream`: the same key and body first routed to another stream
 * (routing comes from an unsigned header too) is a re-delivery there, not a new record here.
 */
export function ownedSql(resolvedKey: string, h: string, source: string, stream: string): string {
  return `(${h} IS NULL OR EXISTS (SELECT 1 FROM ${keys} WHERE source = ${source} AND key = ${resolvedKey} AND stream = ${stream}))`;
}

/**
 * Binds the load's keys, in two statements over the same JSON (`?4`: `[[key, bodyHash], …]`,
 * distinct): first every key not yet bound takes its body; then every body that finds its key
 * bound to another body registers its suffixed key, marked as a conflict. `?1` source, `?2`
 * stream, `?3` load id. The second statement's changes are the load's new key conflicts.
 */
export const bindKeysSql = [
  `INSERT INTO ${keys} (source, key, body_hash, stream, load_id, conflict)
SELECT ?1, json_extract(value, '$[0]'), json_extract(value, '$[1]'), ?2, ?3, 0 FROM json_each(?4) WHERE true
ON CONFLICT (source, key) DO NOTHING`,
  `INSERT INTO ${keys} (source, key, body_hash, stream, load_id, conflict)
SELECT ?1, k || '#' || substr(h, 1, ${conflictSuffixChars}), h, ?2, ?3, 1
FROM (SELECT json_extract(value, '$[0]') AS k, json_extract(value, '$[1]') AS h FROM json_each(?4))
WHERE (SELECT body_hash FROM ${keys} WHERE source = ?1 AND key = k) != h
ON CONFLICT (source, key) DO NOTHING`,
] as const;
