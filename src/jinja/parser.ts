/** Jinja2's grammar (parser.py), token stream → AST, with the `do`, loop-control and dbt `test` tags. */
import type { Args, CallExpr, Expr, MacroDef, Node, Param, Target } from "./ast.ts";
import { SyntaxErr, type Token, tokenize } from "./lexer.ts";
import { PyFloat } from "./values.ts";

const COMPARE = new Set(["==", "!=", "<", "<=", ">", ">="]);
const UNSUPPORTED = new Set(["materialization", "snapshot", "docs", "block", "extends", "include", "import", "from", "autoescape"]);
const OP_NAMES: Record<string, string> = { var_end: "end of print statement", block_end: "end of statement block", eof: "end of template" };

const describe = (t: Token): string => (t.t === "op" || t.t === "name" ? t.v : t.t === "string" ? "string" : (OP_NAMES[t.t] ?? t.t));

export function parse(source: string): Node[] {
  return new Parser(tokenize(source)).parseTemplate();
}

class Parser {
  private pos = 0;
  private readonly tokens: Token[];
  private loopDepth = 0;
  private readonly endStack: string[][] = [];
  private readonly tagStack: string[] = [];
  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  private get cur(): Token {
    return this.tokens[this.pos]!;
  }
  private look(n = 1): Token {
    return this.tokens[Math.min(this.pos + n, this.tokens.length - 1)]!;
  }
  private next(): Token {
    const t = this.tokens[this.pos]!;
    if (t.t !== "eof") this.pos++;
    return t;
  }
  private fail(msg: string, line = this.cur.line): never {
    throw new SyntaxErr(msg, line);
  }
  private isOp(v: string): boolean {
    const t = this.cur;
    return t.t === "op" && t.v === v;
  }
  private isName(v: string): boolean {
    const t = this.cur;
    return t.t === "name" && t.v === v;
  }
  private skipOp(v: string): boolean {
    if (!this.isOp(v)) return false;
    this.pos++;
    return true;
  }
  private skipName(v: string): boolean {
    if (!this.isName(v)) return false;
    this.pos++;
    return true;
  }
  private expectOp(v: string): void {
    if (!this.skipOp(v)) this.fail(`expected token '${v}', got '${describe(this.cur)}'`);
  }
  private expect(t: Token["t"]): Token {
    if (this.cur.t !== t) {
      if (this.cur.t === "eof") this.fail(`unexpected end of template, expected '${OP_NAMES[t] ?? t}'.`);
      this.fail(`expected token '${OP_NAMES[t] ?? t}', got '${describe(this.cur)}'`);
    }
    return this.next();
  }
  private expectName(): string {
    if (this.cur.t !== "name") this.fail(`expected token 'name', got '${describe(this.cur)}'`);
    return this.next().v;
  }

  parseTemplate(): Node[] {
    const body = this.subparse(null);
    for (const n of body) markNode(n);
    return body;
  }

  /** Nodes until a block tag whose name is in `ends`; leaves the stream at that name. */
  private subparse(ends: string[] | null): Node[] {
    const body: Node[] = [];
    if (ends) this.endStack.push(ends);
    try {
      for (;;) {
        const t = this.cur;
        if (t.t === "data") {
          this.next();
          body.push({ k: "text", s: t.v, line: t.line, a: false });
        } else if (t.t === "var_begin") {
          this.next();
          body.push({ k: "print", e: this.parseTuple(), line: t.line, a: false });
          this.expect("var_end");
        } else if (t.t === "block_begin") {
          this.next();
          const tag = this.cur;
          if (ends && tag.t === "name" && ends.includes(tag.v)) return body;
          body.push(this.parseStatement());
        } else if (t.t === "eof") {
          if (ends) this.failEnd(null);
          return body;
        } else this.fail(`unexpected '${describe(t)}'`);
      }
    } finally {
      if (ends) this.endStack.pop();
    }
  }

  private failEnd(name: string | null): never {
    let msg = name === null ? "Unexpected end of template." : `Encountered unknown tag '${name}'.`;
    const expected = this.endStack.flat();
    if (expected.length) {
      msg += ` Jinja was looking for the following tags: ${this.endStack[this.endStack.length - 1]!.map((e) => `'${e}'`).join(" or ")}.`;
      msg += ` The innermost block that needs to be closed is '${this.tagStack[this.tagStack.length - 1]}'.`;
    }
    this.fail(msg);
  }

  /** A statement's body up to one of `ends` (Jinja2's parse_statements, which allows a Python-style colon first). */
  private parseBody(ends: string[], drop = false): Node[] {
    this.skipOp(":");
    this.expect("block_end");
    const body = this.subparse(ends);
    if (drop) {
      this.next();
      this.expect("block_end");
    }
    return body;
  }

  private parseStatement(): Node {
    const t = this.cur;
    if (t.t !== "name") this.fail("tag name expected");
    if (UNSUPPORTED.has(t.v)) this.fail(`tag '${t.v}' is not supported`);
    this.tagStack.push(t.v);
    try {
      const line = t.line;
      this.next();
      let node: Node;
      switch (t.v) {
        case "if":
          node = this.parseIf(line);
          break;
        case "for":
          node = this.parseFor(line);
          break;
        case "set":
          node = this.parseSet(line);
          break;
        case "macro":
        case "test": {
          const def = this.parseMacroDef(t.v === "test" ? "test_" : "", t.v === "test" ? "endtest" : "endmacro");
          node = { k: "macro", def, line, a: false };
          break;
        }
        case "call":
          node = this.parseCallBlock(line);
          break;
        case "filter": {
          const filter = this.parseFilter(null, true);
          node = { k: "filterblock", filter, body: this.parseBody(["endfilter"], true), line, a: false };
          return node;
        }
        case "with":
          node = this.parseWith(line);
          return node;
        case "do":
          node = { k: "do", e: this.parseTuple(), line, a: false };
          break;
        case "break":
        case "continue":
          if (this.loopDepth === 0) this.fail(`'${t.v}' outside loop`, line);
          node = { k: t.v, line, a: false };
          break;
        default:
          this.pos--;
          this.failEnd(t.v);
      }
      if (node.k !== "if" && node.k !== "for" && node.k !== "macro" && node.k !== "callblock" && node.k !== "setblock")
        this.expect("block_end");
      return node;
    } finally {
      this.tagStack.pop();
    }
  }

  private parseIf(line: number): Node {
    const test = this.parseTuple(false);
    const body = this.parseBody(["elif", "else", "endif"]);
    const tag = this.next().v;
    let else_: Node[] = [];
    if (tag === "elif") {
      const l = this.cur.line;
      else_ = [this.parseIf(l)];
      return { k: "if", test, body, else_, line, a: false };
    }
    if (tag === "else") {
      else_ = this.parseBody(["endif"], true);
    } else this.expect("block_end");
    return { k: "if", test, body, else_, line, a: false };
  }

  private parseFor(line: number): Node {
    const target = this.parseAssignTarget(["in"], false);
    if (!this.skipName("in")) this.fail(`expected token 'in', got '${describe(this.cur)}'`);
    const iter = this.parseTuple(false, ["recursive"]);
    const filter = this.skipName("if") ? this.parseExpression() : null;
    if (this.isName("recursive")) this.fail("recursive for loops are not supported");
    this.loopDepth++;
    const body = this.parseBody(["endfor", "else"]);
    this.loopDepth--;
    let else_: Node[] = [];
    if (this.next().v === "else") {
      const depth = this.loopDepth;
      this.loopDepth = 0;
      else_ = this.parseBody(["endfor"], true);
      this.loopDepth = depth;
    } else this.expect("block_end");
    return { k: "for", target, iter, filter, body, else_, line, a: false };
  }

  private parseSet(line: number): Node {
    const target = this.parseAssignTarget(null, true);
    if (this.skipOp("=")) return { k: "set", target, value: this.parseTuple(), line, a: false };
    const filter = this.isOp("|") ? this.parseFilter(null) : null;
    return { k: "setblock", target, filter, body: this.parseBody(["endset"], true), line, a: false };
  }

  private parseWith(line: number): Node {
    const targets: [Target, Expr][] = [];
    while (this.cur.t !== "block_end") {
      if (targets.length) this.expectOp(",");
      const target = this.parseAssignTarget(null, false);
      this.expectOp("=");
      targets.push([target, this.parseExpression()]);
    }
    return { k: "with", targets, body: this.parseBody(["endwith"], true), line, a: false };
  }

  private parseSignature(): Param[] {
    const params: Param[] = [];
    this.expectOp("(");
    while (!this.isOp(")")) {
      if (params.length) this.expectOp(",");
      const name = this.expectName();
      const default_ = this.skipOp("=") ? this.parseExpression() : null;
      params.push({ name, default_ });
    }
    this.expectOp(")");
    return params;
  }

  private parseMacroDef(prefix: string, end: string): MacroDef {
    const name = prefix + this.expectName();
    const params = this.parseSignature();
    const depth = this.loopDepth;
    this.loopDepth = 0;
    const body = this.parseBody([end], true);
    this.loopDepth = depth;
    return macroDef(name, params, body);
  }

  private parseCallBlock(line: number): Node {
    const params = this.isOp("(") ? this.parseSignature() : [];
    const call = this.parseExpression();
    if (call.k !== "call") this.fail("expected call", line);
    const body = this.parseBody(["endcall"], true);
    return { k: "callblock", call, def: macroDef("caller", params, body), line, a: true };
  }

  private parseAssignTarget(extraEnd: string[] | null, withNamespace: boolean): Target {
    if (withNamespace && this.cur.t === "name" && this.look().t === "op" && this.look().v === ".") {
      const name = this.next().v;
      this.next();
      return { k: "nsattr", name, attr: this.expectName() };
    }
    const items: Target[] = [];
    let isTuple = false;
    for (;;) {
      if (items.length) this.expectOp(",");
      if (this.isTupleEnd(extraEnd)) break;
      if (this.skipOp("(")) {
        items.push(this.parseAssignTarget(null, false));
        this.expectOp(")");
      } else items.push({ k: "name", name: this.expectName() });
      if (this.isOp(",")) isTuple = true;
      else break;
    }
    if (!isTuple && items.length === 1) return items[0]!;
    if (!items.length) this.fail(`expected token 'name', got '${describe(this.cur)}'`);
    return { k: "tuple", items };
  }

  private isTupleEnd(extraEnd: string[] | null): boolean {
    const t = this.cur;
    if (t.t === "var_end" || t.t === "block_end" || t.t === "eof" || (t.t === "op" && t.v === ")")) return true;
    return extraEnd !== null && t.t === "name" && extraEnd.includes(t.v);
  }

  parseTuple(withCond = true, extraEnd: string[] | null = null, explicitParens = false): Expr {
    const line = this.cur.line;
    const items: Expr[] = [];
    let isTuple = false;
    for (;;) {
      if (items.length) this.expectOp(",");
      if (this.isTupleEnd(extraEnd)) break;
      items.push(withCond ? this.parseExpression() : this.parseOr());
      if (this.isOp(",")) isTuple = true;
      else break;
    }
    if (!isTuple) {
      if (items.length) return items[0]!;
      if (!explicitParens) this.fail(`Expected an expression, got '${describe(this.cur)}'`);
    }
    return { k: "tuple", items, line, a: false };
  }

  private parseExpression(): Expr {
    let e = this.parseOr();
    while (this.isName("if")) {
      const line = this.next().line;
      const test = this.parseOr();
      const else_ = this.skipName("else") ? this.parseExpression() : null;
      e = { k: "cond", test, yes: e, else_, line, a: false };
    }
    return e;
  }

  private parseOr(): Expr {
    let l = this.parseAnd();
    while (this.isName("or")) {
      const line = this.next().line;
      l = { k: "or", l, r: this.parseAnd(), line, a: false };
    }
    return l;
  }

  private parseAnd(): Expr {
    let l = this.parseNot();
    while (this.isName("and")) {
      const line = this.next().line;
      l = { k: "and", l, r: this.parseNot(), line, a: false };
    }
    return l;
  }

  private parseNot(): Expr {
    if (this.isName("not")) {
      const line = this.next().line;
      return { k: "unary", op: "not", v: this.parseNot(), line, a: false };
    }
    return this.parseCompare();
  }

  private parseCompare(): Expr {
    const line = this.cur.line;
    const first = this.parseMath1();
    const ops: [string, Expr][] = [];
    for (;;) {
      const t = this.cur;
      if (t.t === "op" && COMPARE.has(t.v)) {
        this.next();
        ops.push([t.v, this.parseMath1()]);
      } else if (this.skipName("in")) ops.push(["in", this.parseMath1()]);
      else if (this.isName("not") && this.look().t === "name" && this.look().v === "in") {
        this.pos += 2;
        ops.push(["not in", this.parseMath1()]);
      } else break;
    }
    return ops.length ? { k: "compare", first, ops, line, a: false } : first;
  }

  private parseBinary(ops: string[], sub: () => Expr): Expr {
    let l = sub();
    for (;;) {
      const t = this.cur;
      if (t.t !== "op" || !ops.includes(t.v)) return l;
      this.next();
      l = { k: "bin", op: t.v, l, r: sub(), line: t.line, a: false };
    }
  }

  private parseMath1(): Expr {
    return this.parseBinary(["+", "-"], () => this.parseConcat());
  }

  private parseConcat(): Expr {
    const line = this.cur.line;
    const items = [this.parseMath2()];
    while (this.skipOp("~")) items.push(this.parseMath2());
    return items.length === 1 ? items[0]! : { k: "concat", items, line, a: false };
  }

  private parseMath2(): Expr {
    return this.parseBinary(["*", "/", "//", "%"], () => this.parsePow());
  }

  private parsePow(): Expr {
    return this.parseBinary(["**"], () => this.parseUnary());
  }

  private parseUnary(withFilter = true): Expr {
    const t = this.cur;
    let node: Expr;
    if (t.t === "op" && (t.v === "-" || t.v === "+")) {
      this.next();
      node = { k: "unary", op: t.v, v: this.parseUnary(false), line: t.line, a: false };
    } else node = this.parsePrimary();
    node = this.parsePostfix(node);
    return withFilter ? this.parseFilterExpr(node) : node;
  }

  private parsePrimary(): Expr {
    const t = this.cur;
    const line = t.line;
    switch (t.t) {
      case "name": {
        this.next();
        const consts: Record<string, unknown> = { true: true, True: true, false: false, False: false, none: null, None: null };
        if (t.v in consts) return { k: "const", value: consts[t.v], line, a: false };
        return { k: "name", name: t.v, line, a: false };
      }
      case "string": {
        let s = this.next().v;
        while (this.cur.t === "string") s += this.next().v;
        return { k: "const", value: s, line, a: false };
      }
      case "int": {
        this.next();
        const v = t.v.replace(/_/g, "");
        return { k: "const", value: /^0[xXoObB]/.test(v) ? Number(v) : Number.parseInt(v, 10), line, a: false };
      }
      case "float":
        this.next();
        return { k: "const", value: new PyFloat(Number(t.v.replace(/_/g, ""))), line, a: false };
      case "op":
        if (t.v === "(") {
          this.next();
          const e = this.parseTuple(true, null, true);
          this.expectOp(")");
          return e;
        }
        if (t.v === "[") return this.parseList();
        if (t.v === "{") return this.parseDict();
    }
    if (t.t === "eof") this.fail("unexpected end of template");
    return this.fail(`unexpected '${describe(t)}'`);
  }

  private parseList(): Expr {
    const line = this.next().line;
    const items: Expr[] = [];
    while (!this.isOp("]")) {
      if (items.length) this.expectOp(",");
      if (this.isOp("]")) break;
      items.push(this.parseExpression());
    }
    this.expectOp("]");
    return { k: "list", items, line, a: false };
  }

  private parseDict(): Expr {
    const line = this.next().line;
    const pairs: [Expr, Expr][] = [];
    while (!this.isOp("}")) {
      if (pairs.length) this.expectOp(",");
      if (this.isOp("}")) break;
      const key = this.parseExpression();
      this.expectOp(":");
      pairs.push([key, this.parseExpression()]);
    }
    this.expectOp("}");
    return { k: "dict", pairs, line, a: false };
  }

  private parsePostfix(node: Expr): Expr {
    for (;;) {
      if (this.isOp(".") || this.isOp("[")) node = this.parseSubscript(node);
      else if (this.isOp("(")) node = this.parseCall(node);
      else return node;
    }
  }

  private parseFilterExpr(node: Expr): Expr {
    for (;;) {
      if (this.isOp("|")) node = this.parseFilter(node);
      else if (this.isName("is")) node = this.parseTest(node);
      else if (this.isOp("(")) node = this.parseCall(node);
      else return node;
    }
  }

  private parseSubscript(obj: Expr): Expr {
    const t = this.next();
    if (t.v === ".") {
      const a = this.next();
      if (a.t === "name") return { k: "getattr", obj, name: a.v, line: t.line, a: false };
      if (a.t === "int")
        return { k: "getitem", obj, key: { k: "const", value: Number(a.v), line: t.line, a: false }, line: t.line, a: false };
      this.fail("expected name or number", a.line);
    }
    const keys: Expr[] = [];
    while (!this.isOp("]")) {
      if (keys.length) this.expectOp(",");
      keys.push(this.parseSubscribed());
    }
    this.expectOp("]");
    const key: Expr = keys.length === 1 ? keys[0]! : { k: "tuple", items: keys, line: t.line, a: false };
    return { k: "getitem", obj, key, line: t.line, a: false };
  }

  private parseSubscribed(): Expr {
    const line = this.cur.line;
    const parts: (Expr | null)[] = [];
    if (this.skipOp(":")) parts.push(null);
    else {
      const node = this.parseExpression();
      if (!this.skipOp(":")) return node;
      parts.push(node);
    }
    const atEnd = () => this.isOp("]") || this.isOp(",");
    if (this.isOp(":") || atEnd()) parts.push(null);
    else parts.push(this.parseExpression());
    if (this.skipOp(":")) parts.push(atEnd() ? null : this.parseExpression());
    else parts.push(null);
    return { k: "slice", start: parts[0]!, stop: parts[1]!, step: parts[2]!, line, a: false };
  }

  private parseArgs(): Args {
    const args: Args = { args: [], kwargs: [], star: null, starstar: null };
    this.expectOp("(");
    let needComma = false;
    while (!this.isOp(")")) {
      if (needComma) {
        this.expectOp(",");
        if (this.isOp(")")) break;
      }
      if (this.skipOp("*")) args.star = this.parseExpression();
      else if (this.skipOp("**")) args.starstar = this.parseExpression();
      else if (this.cur.t === "name" && this.look().t === "op" && this.look().v === "=") {
        const key = this.next().v;
        this.next();
        args.kwargs.push([key, this.parseExpression()]);
      } else {
        if (args.star || args.starstar || args.kwargs.length) this.fail("Invalid argument syntax");
        args.args.push(this.parseExpression());
      }
      needComma = true;
    }
    this.expectOp(")");
    return args;
  }

  private parseCall(fn: Expr): CallExpr {
    const line = this.cur.line;
    return { k: "call", fn, ...this.parseArgs(), line, a: true };
  }

  private dottedName(): string {
    let name = this.expectName();
    while (this.isOp(".")) {
      this.next();
      name += `.${this.expectName()}`;
    }
    return name;
  }

  private parseFilter(node: Expr | null, startInline = false): Expr {
    let v = node;
    while (this.isOp("|") || startInline) {
      if (!startInline) this.next();
      startInline = false;
      const line = this.cur.line;
      const name = this.dottedName();
      const args = this.isOp("(") ? this.parseArgs() : { args: [], kwargs: [], star: null, starstar: null };
      v = { k: "filter", v, name, ...args, line, a: false };
    }
    return v!;
  }

  private parseTest(v: Expr): Expr {
    const line = this.next().line;
    const negated = this.skipName("not");
    const name = this.dottedName();
    let args: Args = { args: [], kwargs: [], star: null, starstar: null };
    const t = this.cur;
    if (this.isOp("(")) args = this.parseArgs();
    else if (
      (t.t === "name" || t.t === "string" || t.t === "int" || t.t === "float" || (t.t === "op" && (t.v === "[" || t.v === "{"))) &&
      !(t.t === "name" && (t.v === "else" || t.v === "or" || t.v === "and"))
    ) {
      if (t.t === "name" && t.v === "is") this.fail("You cannot chain multiple tests with is");
      args.args.push(this.parsePostfix(this.parsePrimary()));
    }
    return { k: "test", v, name, negated, ...args, line, a: false };
  }
}

function macroDef(name: string, params: Param[], body: Node[]): MacroDef {
  const used = new Set<string>();
  const visit = (x: unknown): void => {
    if (Array.isArray(x)) for (const y of x) visit(y);
    else if (x && typeof x === "object") {
      const o = x as Record<string, unknown>;
      if (o.k === "name" && typeof o.name === "string") used.add(o.name);
      if (o.k !== "const") for (const key in o) visit(o[key]);
    }
  };
  visit(body);
  return { name, params, body, usesCaller: used.has("caller"), usesVarargs: used.has("varargs"), usesKwargs: used.has("kwargs") };
}

function markArgs(x: Args): boolean {
  let a = false;
  for (const e of x.args) a = markExpr(e) || a;
  for (const [, e] of x.kwargs) a = markExpr(e) || a;
  if (x.star) a = markExpr(x.star) || a;
  if (x.starstar) a = markExpr(x.starstar) || a;
  return a;
}

function markExpr(e: Expr | null): boolean {
  if (!e) return false;
  let a = false;
  switch (e.k) {
    case "const":
    case "name":
      return false;
    case "list":
    case "tuple":
    case "concat":
      for (const i of e.items) a = markExpr(i) || a;
      break;
    case "dict":
      for (const [k, v] of e.pairs) a = markExpr(v) || markExpr(k) || a;
      break;
    case "bin":
    case "and":
    case "or":
      a = markExpr(e.l) || a;
      a = markExpr(e.r) || a;
      break;
    case "unary":
      a = markExpr(e.v);
      break;
    case "compare":
      a = markExpr(e.first);
      for (const [, x] of e.ops) a = markExpr(x) || a;
      break;
    case "cond":
      a = markExpr(e.test) || a;
      a = markExpr(e.yes) || a;
      a = markExpr(e.else_) || a;
      break;
    case "getattr":
      a = markExpr(e.obj);
      break;
    case "getitem":
      a = markExpr(e.obj) || a;
      a = markExpr(e.key) || a;
      break;
    case "slice":
      a = markExpr(e.start) || a;
      a = markExpr(e.stop) || a;
      a = markExpr(e.step) || a;
      break;
    case "call":
      markExpr(e.fn);
      markArgs(e);
      a = true;
      break;
    case "filter":
    case "test":
      a = markExpr(e.v) || a;
      a = markArgs(e) || a;
      break;
  }
  e.a = a;
  return a;
}

function markBody(nodes: Node[]): boolean {
  let a = false;
  for (const n of nodes) a = markNode(n) || a;
  return a;
}

function markDef(d: MacroDef): void {
  for (const p of d.params) markExpr(p.default_);
  markBody(d.body);
}

function markNode(n: Node): boolean {
  let a = false;
  switch (n.k) {
    case "text":
    case "break":
    case "continue":
      return false;
    case "print":
    case "do":
      a = markExpr(n.e);
      break;
    case "if":
      a = markExpr(n.test) || a;
      a = markBody(n.body) || a;
      a = markBody(n.else_) || a;
      break;
    case "for":
      a = markExpr(n.iter) || a;
      a = markExpr(n.filter) || a;
      a = markBody(n.body) || a;
      a = markBody(n.else_) || a;
      break;
    case "set":
      a = markExpr(n.value);
      break;
    case "setblock":
    case "filterblock":
      a = markExpr(n.filter) || a;
      a = markBody(n.body) || a;
      break;
    case "macro":
      markDef(n.def);
      return false;
    case "callblock":
      markExpr(n.call);
      markDef(n.def);
      return true;
    case "with":
      for (const [, e] of n.targets) a = markExpr(e) || a;
      a = markBody(n.body) || a;
      break;
  }
  n.a = a;
  return a;
}
