/**
 * A SQL tokenizer for the dialect layer. In: compiled SQL. Out: tokens that cover every character
 * (whitespace and comments included, so the SQL is rebuilt exactly), grouped by parentheses into a
 * tree. Strings, quoted identifiers and comments are single tokens, so nothing inside them is ever
 * read as SQL.
 */

export type TokenKind = "space" | "comment" | "string" | "quoted" | "number" | "word" | "param" | "op" | "punct";

export interface Token {
  kind: TokenKind;
  text: string;
  /** Offset in the SQL the tokenizer read. */
  start: number;
}

/** A parenthesised group: `(`, what it holds, `)` (absent when the SQL ends first). */
export interface Group {
  kind: "group";
  open: Token;
  children: SqlNode[];
  close: Token | undefined;
}

/** SQL the translator wrote in place of some nodes; `start` is where the first of them began. */
export interface Written {
  kind: "written";
  text: string;
  start: number;
}

export type SqlNode = Token | Group | Written;

/** Words that can stand before `(` without naming a function. */
export const sqlKeywords = new Set(
  (
    "all and any as between by case cast distinct else end except exists filter from group having in intersect is join like " +
    "limit not on or order over select some then union using values when where window with within"
  ).split(" "),
);

const operators = ["!~*", "->>", "::", "||", "<=", ">=", "<>", "!=", "==", "->", "~*", "!~", "<<", ">>"];

const spaceRun = /\s+/y;
const numberRun = /(0x[0-9a-f]+|[0-9]*\.?[0-9]+(e[+-]?[0-9]+)?|[0-9]+\.)/iy;
const wordRun = /[A-Za-z0-9_$\u0080-\uffff]+/y;
const paramRun = /\?[0-9]*/y;
const nameRun = /[A-Za-z0-9_]+/y;

/** The end of the run `pattern` (sticky) matches at `at`; reading in place keeps tokenizing linear. */
function runEnd(pattern: RegExp, sql: string, at: number): number {
  pattern.lastIndex = at;
  return pattern.exec(sql) ? pattern.lastIndex : at + 1;
}

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, end: number) => {
    tokens.push({ kind, text: sql.slice(i, end), start: i });
    i = end;
  };
  const until = (close: string, from: number, doubled: boolean): number => {
    let at = from;
    for (;;) {
      const next = sql.indexOf(close, at);
      if (next < 0) return sql.length;
      if (doubled && sql[next + 1] === close) at = next + 2;
      else return next + close.length;
    }
  };
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s/.test(c)) push("space", runEnd(spaceRun, sql, i));
    else if (sql.startsWith("--", i)) push("comment", sql.indexOf("\n", i) < 0 ? sql.length : sql.indexOf("\n", i));
    else if (sql.startsWith("/*", i)) push("comment", sql.indexOf("*/", i + 2) < 0 ? sql.length : sql.indexOf("*/", i + 2) + 2);
    else if (c === "'") push("string", until("'", i + 1, true));
    else if (c === '"' || c === "`") push("quoted", until(c, i + 1, true));
    else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(sql[i + 1] ?? ""))) push("number", runEnd(numberRun, sql, i));
    else if (/[A-Za-z_\u0080-\uffff]/.test(c)) push("word", runEnd(wordRun, sql, i));
    else if (c === "?") push("param", runEnd(paramRun, sql, i));
    else if ((c === "@" || c === "$") && /[A-Za-z0-9_]/.test(sql[i + 1] ?? "")) push("param", runEnd(nameRun, sql, i + 1));
    else {
      const op = operators.find((o) => sql.startsWith(o, i));
      push(op ? "op" : "punct", i + (op?.length ?? 1));
    }
  }
  return tokens;
}

/** Tokens grouped by parentheses. A stray `)` stays a token of the level it closes nothing in. */
export function parseTree(tokens: readonly Token[]): SqlNode[] {
  const root: SqlNode[] = [];
  const stack: Group[] = [];
  for (const token of tokens) {
    const level = stack.at(-1)?.children ?? root;
    if (token.kind === "punct" && token.text === "(") {
      const group: Group = { kind: "group", open: token, children: [], close: undefined };
      level.push(group);
      stack.push(group);
    } else if (token.kind === "punct" && token.text === ")" && stack.length > 0) {
      stack.pop()!.close = token;
    } else level.push(token);
  }
  return root;
}

export function nodeText(node: SqlNode): string {
  if (node.kind === "group") return `${node.open.text}${node.children.map(nodeText).join("")}${node.close?.text ?? ""}`;
  return node.text;
}

export function nodeStart(node: SqlNode): number {
  return node.kind === "group" ? node.open.start : node.start;
}

export function isTrivia(node: SqlNode | undefined): boolean {
  return node !== undefined && (node.kind === "space" || node.kind === "comment");
}

/** The index of the nearest node before (or after) `i` that is not whitespace or a comment. */
export function prevSig(nodes: readonly SqlNode[], i: number): number | undefined {
  for (let j = i - 1; j >= 0; j--) if (!isTrivia(nodes[j])) return j;
  return undefined;
}

export function nextSig(nodes: readonly SqlNode[], i: number): number | undefined {
  for (let j = i + 1; j < nodes.length; j++) if (!isTrivia(nodes[j])) return j;
  return undefined;
}

/** The node as a lower-case bare word, or undefined when it is anything else. */
export function wordOf(node: SqlNode | undefined): string | undefined {
  return node?.kind === "word" ? node.text.toLowerCase() : undefined;
}

export function isPunct(node: SqlNode | undefined, text: string): boolean {
  return node !== undefined && (node.kind === "punct" || node.kind === "op") && node.text === text;
}
