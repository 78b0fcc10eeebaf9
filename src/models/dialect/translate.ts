/**
 * The SQLite dialect layer. In: a node's compiled SQL, written for Postgres, Snowflake or BigQuery.
 * Out: the same query for SQLite where the construct has one clear meaning there (casts, `ilike`,
 * typed literals, `now()`, `date_trunc`, `power`, true division, a CTE reading the table it is
 * named after), and a refusal, with its offset, for each construct that
 * has no faithful translation. Strings, quoted identifiers and comments are never touched.
 */
import { castSql, isoTimestampFormat, readType, typeLabel } from "./casts.ts";
import { qualifySelfReads } from "./ctes.ts";
import {
  type Group,
  isPunct,
  nextSig,
  nodeStart,
  nodeText,
  parseTree,
  prevSig,
  type SqlNode,
  sqlKeywords,
  tokenize,
  type Written,
  wordOf,
} from "./tokens.ts";

export interface Refusal {
  /** Offset of the construct in the compiled SQL, and its length there. */
  offset: number;
  length: number;
  /** The construct, as the message names it: `::interval`, `qualify`. */
  what: string;
  hint: string;
}

export interface Translation {
  sql: string;
  refusals: Refusal[];
}

export function translateSql(sql: string): Translation {
  const refusals: Refusal[] = [];
  const tree = translateLevel(qualifySelfReads(parseTree(tokenize(sql))), refusals);
  refusals.sort((a, b) => a.offset - b.offset || b.length - a.length);
  // One construct, one refusal: `::int[]` is not also an array.
  const distinct = refusals.filter((r, i) => !refusals.slice(0, i).some((o) => r.offset < o.offset + o.length));
  return { sql: tree.map(nodeText).join(""), refusals: distinct };
}

const hints = {
  interval: "SQLite has no intervals: shift a date or time with modifiers, date(x, '+1 day') or datetime(x, '-3 hours')",
  type: "cast to int, numeric, float, text, boolean, date, timestamp or json instead",
  qualify: "filter on the window function in an outer query: select * from (select …, row_number() over (…) as rn …) where rn = 1",
  lateral: "SQLite has no lateral joins; json_each(column) and json_tree(column) are table functions that read a row's JSON",
  distinctOn: "number the rows with row_number() over (partition by …) in a subquery and keep rn = 1",
  likeAny: "write one like per pattern, joined with or",
  regex: "SQLite has no regular expressions; use like or glob",
  path: "read JSON with json_extract(column, '$.path') or column ->> '$.path'",
  timeZone: "SQLite has no time zones; Sluice stores timestamps in UTC",
  tryCast: "SQLite's cast never fails (text that is not a number becomes 0); test the value with typeof() or glob first",
  pivot: "write one aggregate per value: sum(case when … then … end)",
  array: "SQLite has no arrays; keep lists as JSON (json_array, json_each, json_extract)",
  dateTrunc: "date_trunc('<unit>', x) is translated for second, minute, hour, day, week, month and year; use strftime for others",
} as const;

const truncFormats: Record<string, string> = {
  second: "%Y-%m-%dT%H:%M:%S.000Z",
  minute: "%Y-%m-%dT%H:%M:00.000Z",
  hour: "%Y-%m-%dT%H:00:00.000Z",
  day: "%Y-%m-%dT00:00:00.000Z",
  week: "%Y-%m-%dT00:00:00.000Z",
  month: "%Y-%m-01T00:00:00.000Z",
  year: "%Y-01-01T00:00:00.000Z",
};

function translateLevel(input: SqlNode[], refusals: Refusal[]): SqlNode[] {
  const nodes: SqlNode[] = input.map((node) =>
    node.kind === "group" ? { ...node, children: translateLevel(node.children, refusals) } : node,
  );
  const refuse = (from: number, to: number, what: string, hint: string) => {
    const last = nodes[to - 1]!;
    const end = nodeStart(last) + nodeText(last).length;
    refusals.push({ offset: nodeStart(nodes[from]!), length: end - nodeStart(nodes[from]!), what, hint });
  };
  const replace = (from: number, to: number, text: string) => {
    const written: Written = { kind: "written", text, start: nodeStart(nodes[from]!) };
    nodes.splice(from, to - from, written);
  };

  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    const word = wordOf(node);
    const before = prevSig(nodes, i);
    if (word === undefined || (before !== undefined && isPunct(nodes[before], "."))) continue;
    const after = nextSig(nodes, i);
    const next = after === undefined ? undefined : nodes[after];
    if (word === "ilike" || word === "like") {
      const quantifier = wordOf(next);
      if (quantifier === "any" || quantifier === "all" || quantifier === "some")
        refuse(i, after! + 1, `${word} ${quantifier}`, hints.likeAny);
      else if (word === "ilike") replace(i, i + 1, nodeText(node) === "ILIKE" ? "LIKE" : "like");
    } else if (next?.kind === "group") {
      if (word === "cast") {
        const cast = castCall(next);
        if (cast?.sql !== undefined) replace(i, after! + 1, cast.sql);
        else refuse(i, after! + 1, cast ? `cast(… as ${cast.label})` : "cast(…)", hints.type);
      } else if (word === "try_cast" || word === "safe_cast") refuse(i, i + 1, `${word}()`, hints.tryCast);
      else if (word === "now" && next.children.every((c) => c.kind === "space"))
        replace(i, after! + 1, `strftime('${isoTimestampFormat}', 'now')`);
      else if (word === "date_trunc") {
        const sql = dateTrunc(next);
        if (sql === undefined) refuse(i, after! + 1, "date_trunc(…)", hints.dateTrunc);
        else replace(i, after! + 1, sql);
      } else if (word === "power" || word === "log10") replace(i, i + 1, word === "power" ? "pow" : "log");
      else if (word === "pivot" || word === "unpivot") refuse(i, i + 1, word, hints.pivot);
      else if (word === "lateral") refuse(i, i + 1, "lateral", hints.lateral);
    } else if ((word === "date" || word === "timestamp") && next?.kind === "string") {
      replace(i, after! + 1, word === "date" ? `date(${next.text})` : `strftime('${isoTimestampFormat}', ${next.text})`);
    } else if (word === "interval" && (next?.kind === "string" || next?.kind === "number"))
      refuse(i, after! + 1, "interval", hints.interval);
    else if (word === "qualify" || word === "lateral") refuse(i, i + 1, word, word === "qualify" ? hints.qualify : hints.lateral);
    else if (word === "distinct" && wordOf(next) === "on") refuse(i, after! + 1, "distinct on", hints.distinctOn);
    else if (word === "similar" && wordOf(next) === "to") refuse(i, after! + 1, "similar to", hints.regex);
    else if (word === "rlike" || word === "regexp") refuse(i, i + 1, word, hints.regex);
    else if (word === "at" && wordOf(next) === "time") refuse(i, after! + 1, "at time zone", hints.timeZone);
  }

  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    if (node.kind === "punct" && node.text === ":") refuse(i, i + 1, "Snowflake's : path access", hints.path);
    else if (node.kind === "punct" && node.text === "[") refuse(i, i + 1, "arrays ([…])", hints.array);
    else if (node.kind === "op" && ["~*", "!~", "!~*"].includes(node.text)) refuse(i, i + 1, node.text, hints.regex);
    else if (node.kind === "punct" && node.text === "~" && prevSig(nodes, i) !== undefined && isOperand(nodes[prevSig(nodes, i)!]!))
      refuse(i, i + 1, "~", hints.regex);
  }

  // True division, as Snowflake, BigQuery, DuckDB and Databricks divide: SQLite's `7 / 2` is 3. `*` and `/`
  // share a precedence and associate left, so `a / b` → `a * 1.0 / b` keeps every operand where it was.
  for (let i = 0; i < nodes.length; i++)
    if (isPunct(nodes[i], "/"))
      nodes[i] = { kind: "written", text: `${nodes[i - 1]?.kind === "space" ? "" : " "}* 1.0 /`, start: nodeStart(nodes[i]!) };

  // `::` casts, left to right, so that in a chain each cast's operand is the cast before it.
  for (let i = 0; i < nodes.length; i++) {
    if (!isPunct(nodes[i], "::")) continue;
    const last = prevSig(nodes, i);
    const first = last === undefined ? undefined : operandStart(nodes, last);
    const type = readType(nodes, nextSig(nodes, i));
    if (first === undefined || type === undefined) {
      refuse(i, i + 1, "::", "write cast(x as type)");
      continue;
    }
    const sql = castSql(
      nodes
        .slice(first, last! + 1)
        .map(nodeText)
        .join(""),
      type,
    );
    if (sql === undefined) {
      refuse(i, type.end, `::${typeLabel(type)}`, type.name === "interval" ? hints.interval : hints.type);
      continue;
    }
    replace(first, type.end, sql);
    i = first;
  }
  return nodes;
}

function isOperand(node: SqlNode): boolean {
  return node.kind === "group" || node.kind === "written" || ["word", "quoted", "string", "number"].includes(node.kind);
}

/** The index of the first node of the primary expression that ends at node `last`. */
function operandStart(nodes: readonly SqlNode[], last: number): number | undefined {
  const node = nodes[last]!;
  if (node.kind === "group") {
    const before = prevSig(nodes, last);
    const name = before === undefined ? undefined : nodes[before]!;
    const word = wordOf(name);
    // A window or filtered aggregate: `sum(x) over (…)::int` casts the whole call.
    if ((word === "over" || word === "filter") && before !== undefined) {
      const call = prevSig(nodes, before);
      return call === undefined ? undefined : operandStart(nodes, call);
    }
    if (name !== undefined && (name.kind === "quoted" || (word !== undefined && !sqlKeywords.has(word))))
      return qualifiedStart(nodes, before!);
    return last;
  }
  if (node.kind === "word") {
    if (wordOf(node) === "end") return caseStart(nodes, last);
    if (sqlKeywords.has(wordOf(node)!)) return undefined;
    const first = qualifiedStart(nodes, last);
    const over = prevSig(nodes, first);
    if (over !== undefined && wordOf(nodes[over]) === "over") {
      const call = prevSig(nodes, over);
      return call === undefined ? undefined : operandStart(nodes, call);
    }
    return first;
  }
  if (node.kind === "quoted") return qualifiedStart(nodes, last);
  if (node.kind === "string" || node.kind === "number" || node.kind === "written" || node.kind === "param") return last;
  return undefined;
}

/** `schema.table.column`: the index of its first part. */
function qualifiedStart(nodes: readonly SqlNode[], last: number): number {
  let first = last;
  for (;;) {
    const dot = prevSig(nodes, first);
    if (dot === undefined || !isPunct(nodes[dot], ".")) return first;
    const part = prevSig(nodes, dot);
    if (part === undefined || (nodes[part]!.kind !== "word" && nodes[part]!.kind !== "quoted")) return first;
    first = part;
  }
}

/** The `case` that the `end` at `last` closes. */
function caseStart(nodes: readonly SqlNode[], last: number): number | undefined {
  let depth = 0;
  for (let i = last; i >= 0; i--) {
    const word = wordOf(nodes[i]);
    if (word === "end") depth += 1;
    else if (word === "case" && --depth === 0) return i;
  }
  return undefined;
}

/** The group of `cast(x as type)`, translated; the type's label when it has no translation. */
function castCall(group: Group): { sql?: string; label: string } | undefined {
  const nodes = group.children;
  const as = nodes.findIndex((node) => wordOf(node) === "as");
  const type = as < 0 ? undefined : readType(nodes, nextSig(nodes, as));
  if (type === undefined) return undefined;
  const operand = nodes.slice(0, as).map(nodeText).join("").trim();
  const sql = castSql(operand, type);
  return sql === undefined ? { label: typeLabel(type) } : { sql, label: typeLabel(type) };
}

/** Postgres' and Snowflake's `date_trunc('unit', x)`, as a timestamp in Sluice's stored form. */
function dateTrunc(group: Group): string | undefined {
  const nodes = group.children;
  const comma = nodes.findIndex((node) => isPunct(node, ","));
  const unitAt = nextSig(nodes, -1);
  const unitNode = unitAt === undefined ? undefined : nodes[unitAt];
  if (comma < 0 || unitNode?.kind !== "string" || nextSig(nodes, unitAt!) !== comma) return undefined;
  const unit = unitNode.text.slice(1, -1).toLowerCase();
  const format = truncFormats[unit];
  if (format === undefined) return undefined;
  const value = nodes
    .slice(comma + 1)
    .map(nodeText)
    .join("")
    .trim();
  // A week starts on Monday: the next Sunday (or the day itself), less six days.
  return unit === "week" ? `strftime('${format}', ${value}, 'weekday 0', '-6 days')` : `strftime('${format}', ${value})`;
}
