/**
 * A CTE that reads the table it is named after: `order_items as (select * from "order_items")`.
 * In Postgres, Snowflake, BigQuery and DuckDB a CTE is not in scope in its own body (unless the
 * `with` is `recursive`), so the name there is the table; SQLite reads it as the CTE itself and
 * fails with "circular reference". In: the parsed SQL. Out: the same, with each such table
 * reference schema-qualified (`main."order_items"`), which SQLite never matches to a CTE.
 */
import { isPunct, nextSig, prevSig, type SqlNode, wordOf } from "./tokens.ts";

const unquote = (text: string) => (/^["`]/.test(text) ? text.slice(1, -1).replaceAll(text[0]! + text[0]!, text[0]!) : text);

function nameOf(node: SqlNode | undefined): string | undefined {
  if (node?.kind === "word") return node.text.toLowerCase();
  if (node?.kind === "quoted") return unquote(node.text).toLowerCase();
  return undefined;
}

/** Qualifies, in `nodes` and every group below, a table named `name` that follows `from` or `join`. */
function qualifyIn(nodes: SqlNode[], name: string): void {
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    if (node.kind === "group") {
      qualifyIn(node.children, name);
      continue;
    }
    if (nameOf(node) !== name || (node.kind !== "word" && node.kind !== "quoted")) continue;
    const before = wordOf(nodes[prevSig(nodes, i) ?? -1]);
    if ((before !== "from" && before !== "join") || isPunct(nodes[nextSig(nodes, i) ?? -1], ".")) continue;
    nodes[i] = { kind: "written", text: `main.${node.text}`, start: node.start };
  }
}

/** The CTEs of each `with` (not `recursive`) in `nodes` and the groups below: each body's reads of its own name qualified. */
export function qualifySelfReads(nodes: SqlNode[]): SqlNode[] {
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    if (node.kind === "group") qualifySelfReads(node.children);
    if (wordOf(node) !== "with" || wordOf(nodes[nextSig(nodes, i) ?? -1]) === "recursive") continue;
    let at = nextSig(nodes, i);
    while (at !== undefined) {
      const name = nameOf(nodes[at]);
      let k = nextSig(nodes, at);
      if (name === undefined || k === undefined) break;
      if (nodes[k]!.kind === "group") k = nextSig(nodes, k);
      if (wordOf(nodes[k ?? -1]) !== "as") break;
      k = nextSig(nodes, k!);
      if (wordOf(nodes[k ?? -1]) === "not") k = nextSig(nodes, k!);
      if (wordOf(nodes[k ?? -1]) === "materialized") k = nextSig(nodes, k!);
      const body = nodes[k ?? -1];
      if (body?.kind !== "group") break;
      qualifyIn(body.children, name);
      const comma = nextSig(nodes, k!);
      at = comma !== undefined && isPunct(nodes[comma], ",") ? nextSig(nodes, comma) : undefined;
    }
  }
  return nodes;
}
