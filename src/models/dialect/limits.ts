/**
 * D1's limits on one statement (developers.cloudflare.com/d1/platform/limits), and the functions
 * Node's SQLite has and D1 refuses: SQLite itself allows more, so such a statement prepares in
 * Node and fails only in D1. In: a node's compiled SQL. Out: each problem, with its offset.
 */
import { nextSig, parseTree, type SqlNode, sqlKeywords, tokenize, wordOf } from "./tokens.ts";

export const d1Limits = {
  statementBytes: 100_000,
  columnsPerTable: 100,
  functionArguments: 32,
  boundParameters: 100,
  likePatternBytes: 50,
} as const;

/**
 * Functions Node's SQLite has and D1 refuses ("not authorized" or "no such function"), measured
 * against workerd's D1, with what to write instead.
 */
export const d1RefusedFunctions: Record<string, string> = {
  power: "use pow(x, y)",
  log10: "use log(x), which is base 10",
  if: "use iif(condition, then, else)",
  median: "D1 has no median",
  percentile: "D1 has no percentile functions",
  percentile_cont: "D1 has no percentile functions",
  percentile_disc: "D1 has no percentile functions",
  json_pretty: "use json(x)",
  unistr: "write the characters themselves",
  sqlite_version: "D1 does not say its SQLite version",
  sqlite_source_id: "D1 does not say its SQLite version",
  sqlite_compileoption_used: "D1 does not expose compile options",
  sqlite_compileoption_get: "D1 does not expose compile options",
  load_extension: "D1 loads no extensions",
};

export interface LimitProblem {
  offset: number;
  length: number;
  message: string;
}

const bytes = (text: string) => new TextEncoder().encode(text).length;

export function checkD1Limits(sql: string): LimitProblem[] {
  const problems: LimitProblem[] = [];
  const size = bytes(sql);
  if (size > d1Limits.statementBytes)
    problems.push({
      offset: 0,
      length: 0,
      message: `the compiled SQL is ${size} bytes; D1 runs statements of at most ${d1Limits.statementBytes} bytes`,
    });
  const tokens = tokenize(sql);
  const params = tokens.filter((t) => t.kind === "param" || (t.kind === "punct" && t.text === ":"));
  if (params.length > d1Limits.boundParameters)
    problems.push({
      offset: params[0]!.start,
      length: params[0]!.text.length,
      message: `the compiled SQL has ${params.length} bound parameters; D1 binds at most ${d1Limits.boundParameters} per statement`,
    });
  const visit = (nodes: readonly SqlNode[]) => {
    nodes.forEach((node, i) => {
      const word = wordOf(node);
      const after = nextSig(nodes, i);
      const next = after === undefined ? undefined : nodes[after];
      if (node.kind === "word" && !sqlKeywords.has(word!) && next?.kind === "group") {
        const args = next.children.filter((c) => c.kind === "punct" && c.text === ",").length + 1;
        const refused = Object.hasOwn(d1RefusedFunctions, word!) ? d1RefusedFunctions[word!] : undefined;
        if (refused !== undefined)
          problems.push({ offset: node.start, length: node.text.length, message: `D1 has no function ${node.text}(); ${refused}` });
        if (args > d1Limits.functionArguments)
          problems.push({
            offset: node.start,
            length: node.text.length,
            message: `${node.text}() is called with ${args} arguments; D1 allows at most ${d1Limits.functionArguments}`,
          });
      }
      if ((word === "like" || word === "glob") && next?.kind === "string") {
        const pattern = bytes(next.text.slice(1, -1).replaceAll("''", "'"));
        if (pattern > d1Limits.likePatternBytes)
          problems.push({
            offset: next.start,
            length: next.text.length,
            message: `a ${word} pattern of ${pattern} bytes; D1 allows at most ${d1Limits.likePatternBytes}`,
          });
      }
      if (node.kind === "group") visit(node.children);
    });
  };
  visit(parseTree(tokens));
  return problems;
}
