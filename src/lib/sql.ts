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

const statementTexts = new Map<string, string>();

/**
 * A statement's text by a key naming everything it is built from, built once per isolate: the
 * load path would otherwise rebuild the same few statements for every batch. Keeps at most 1000.
 */
export function statementText(key: string, build: () => string): string {
  let text = statementTexts.get(key);
  if (text === undefined) {
    if (statementTexts.size >= 1000) statementTexts.clear();
    statementTexts.set(key, (text = build()));
  }
  return text;
}
