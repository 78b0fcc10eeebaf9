/**
 * The one place where identifiers enter dynamic SQL. Values are always bound parameters; names
 * (tables, columns) cannot be, so they must pass this check and are then double-quoted.
 */
import { SluiceError } from "./errors.ts";

const identifier = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export function isIdentifier(name: string): boolean {
  return identifier.test(name);
}

/** Returns `"name"`, or throws if `name` is not a plain identifier. */
export function quoteIdent(name: string): string {
  if (!isIdentifier(name)) {
    throw new SluiceError("bad_request", `not a valid SQL identifier: ${JSON.stringify(name)}`);
  }
  return `"${name}"`;
}

/** The D1 table that holds the landed records of one stream. */
export function rawTableName(source: string, stream: string): string {
  const name = `raw_${source}__${stream}`;
  quoteIdent(name);
  return name;
}
