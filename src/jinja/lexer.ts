/**
 * Splits a template into tokens as Jinja2's lexer does with its default settings: `{{ }}`,
 * `{% %}`, `{# #}`, `-` whitespace control, `{% raw %}`, no trim_blocks/lstrip_blocks, newlines
 * normalised to "\n" and one trailing newline dropped.
 */
export type TokenType = "data" | "var_begin" | "var_end" | "block_begin" | "block_end" | "name" | "string" | "int" | "float" | "op" | "eof";
export interface Token {
  readonly t: TokenType;
  readonly v: string;
  readonly line: number;
  /** Source length of a string token (its value is unescaped). */
  readonly len?: number;
}

export class SyntaxErr extends Error {
  readonly line: number;
  constructor(message: string, line: number) {
    super(message);
    this.line = line;
  }
}

const NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;
const FLOAT = /(?:\d+_)*\d+(?:(?:\.(?:\d+_)*\d+)?[eE][+-]?(?:\d+_)*\d+|\.(?:\d+_)*\d+)/y;
const INT = /0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|0[xX](?:_?[\da-fA-F])+|(?:\d+_)*\d+/y;
const STRING = /'([^'\\]*(?:\\[\s\S][^'\\]*)*)'|"([^"\\]*(?:\\[\s\S][^"\\]*)*)"/y;
const OPS = [
  "//",
  "**",
  "==",
  "!=",
  ">=",
  "<=",
  "+",
  "-",
  "/",
  "*",
  "%",
  "~",
  "[",
  "]",
  "(",
  ")",
  "{",
  "}",
  ">",
  "<",
  "=",
  ".",
  ":",
  "|",
  ",",
  ";",
];
const RAW_BEGIN = /\{%([-+]?)\s*raw\s*([-+]?)%\}/y;
const RAW_END = /\{%([-+]?)\s*endraw\s*([-+]?)%\}/g;
const CLOSE: Record<string, string> = { ")": "(", "]": "[", "}": "{" };

const ESCAPES: Record<string, string> = {
  n: "\n",
  t: "\t",
  r: "\r",
  "\\": "\\",
  "'": "'",
  '"': '"',
  a: "\x07",
  b: "\b",
  f: "\f",
  v: "\v",
  "\n": "",
};

/** Python's unicode-escape decoding of a string literal's body. Unknown escapes keep their backslash. */
function decodeEscapes(s: string): string {
  if (!s.includes("\\")) return s;
  return s.replace(/\\(x[\da-fA-F]{2}|u[\da-fA-F]{4}|U[\da-fA-F]{8}|[0-7]{1,3}|[\s\S])/g, (all, e: string) => {
    const c = e[0]!;
    if (e.length > 1 && (c === "x" || c === "u" || c === "U")) return String.fromCodePoint(Number.parseInt(e.slice(1), 16));
    if (/[0-7]/.test(c)) return String.fromCodePoint(Number.parseInt(e, 8));
    return ESCAPES[c] ?? all;
  });
}

const countLines = (s: string, from: number, to: number): number => {
  let n = 0;
  for (let i = s.indexOf("\n", from); i !== -1 && i < to; i = s.indexOf("\n", i + 1)) n++;
  return n;
};

export function tokenize(input: string): Token[] {
  const lines = input.split(/\r\n|\r|\n/);
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  const src = lines.join("\n");
  const tokens: Token[] = [];
  let pos = 0;
  let line = 1;
  let stripNext = false;
  const pushData = (data: string, dataLine: number, stripEnd: boolean) => {
    let d = stripNext ? data.replace(/^\s+/, "") : data;
    const startLine = dataLine + countLines(data, 0, data.length - d.length);
    if (stripEnd) d = d.replace(/\s+$/, "");
    if (d) tokens.push({ t: "data", v: d, line: startLine });
    stripNext = false;
  };
  while (pos < src.length) {
    let start = src.indexOf("{", pos);
    while (start !== -1) {
      const c = src[start + 1];
      if (c === "{" || c === "%" || c === "#") break;
      start = src.indexOf("{", start + 1);
    }
    if (start === -1) {
      pushData(src.slice(pos), line, false);
      break;
    }
    const kind = src[start + 1]!;
    const minus = src[start + 2] === "-";
    pushData(src.slice(pos, start), line, minus);
    line += countLines(src, pos, start);
    if (kind === "#") {
      const end = src.indexOf("#}", start + 2);
      if (end === -1) throw new SyntaxErr("Missing end of comment tag", line);
      stripNext = src[end - 1] === "-";
      line += countLines(src, start, end);
      pos = end + 2;
      continue;
    }
    if (kind === "%") {
      RAW_BEGIN.lastIndex = start;
      const raw = RAW_BEGIN.exec(src);
      if (raw) {
        RAW_END.lastIndex = RAW_BEGIN.lastIndex;
        const end = RAW_END.exec(src);
        if (!end) throw new SyntaxErr("Missing end of raw directive", line);
        stripNext = raw[2] === "-";
        pushData(src.slice(RAW_BEGIN.lastIndex, end.index), line, end[1] === "-");
        line += countLines(src, start, RAW_END.lastIndex);
        stripNext = end[2] === "-";
        pos = RAW_END.lastIndex;
        continue;
      }
    }
    const isBlock = kind === "%";
    tokens.push({ t: isBlock ? "block_begin" : "var_begin", v: "", line });
    pos = start + (minus || src[start + 2] === "+" ? 3 : 2);
    const endMark = isBlock ? "%}" : "}}";
    const stack: string[] = [];
    for (;;) {
      while (pos < src.length && /\s/.test(src[pos]!)) {
        if (src[pos] === "\n") line++;
        pos++;
      }
      if (pos >= src.length)
        throw new SyntaxErr(
          `unexpected end of template, expected '${isBlock ? "end of statement block" : "end of print statement"}'`,
          line,
        );
      if (stack.length === 0) {
        const ch = src[pos];
        if ((ch === "-" || ch === "+") && src.startsWith(endMark, pos + 1)) {
          stripNext = ch === "-";
          pos += 3;
          break;
        }
        if (src.startsWith(endMark, pos)) {
          pos += 2;
          break;
        }
      }
      const tok = lexToken(src, pos, line, stack);
      tokens.push(tok);
      const len = tok.len ?? tok.v.length;
      if (tok.t === "string") line += countLines(src, pos, pos + len);
      pos += len;
    }
    tokens.push({ t: isBlock ? "block_end" : "var_end", v: "", line });
  }
  tokens.push({ t: "eof", v: "", line });
  return tokens;
}

function lexToken(src: string, pos: number, line: number, stack: string[]): Token {
  const c = src[pos]!;
  if (/[a-zA-Z_]/.test(c)) {
    NAME.lastIndex = pos;
    return { t: "name", v: NAME.exec(src)![0], line };
  }
  if (c === "'" || c === '"') {
    STRING.lastIndex = pos;
    const m = STRING.exec(src);
    if (!m) throw new SyntaxErr(`unexpected char '${c}'`, line);
    const body = (m[1] ?? m[2])!;
    return { t: "string", v: decodeEscapes(body), line, len: m[0].length };
  }
  if (/\d/.test(c)) {
    const prevDot = src[pos - 1] === ".";
    FLOAT.lastIndex = pos;
    const f = prevDot ? null : FLOAT.exec(src);
    if (f) return { t: "float", v: f[0], line };
    INT.lastIndex = pos;
    return { t: "int", v: INT.exec(src)![0], line };
  }
  for (const op of OPS) {
    if (src.startsWith(op, pos)) {
      if (op === "(" || op === "[" || op === "{") stack.push(op);
      else if (op in CLOSE) {
        if (stack.pop() !== CLOSE[op]) throw new SyntaxErr(`unexpected '${op}'`, line);
      }
      return { t: "op", v: op, line };
    }
  }
  throw new SyntaxErr(`unexpected char '${c}'`, line);
}
