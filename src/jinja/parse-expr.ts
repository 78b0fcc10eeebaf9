/** Jinja2's expression grammar (parser.py: parse_tuple down to parse_primary) over a token stream. */
import type { Args, CallExpr, Expr, Target } from "./ast.ts";
import { SyntaxErr, type Token } from "./lexer.ts";
import { PyFloat } from "./values.ts";

const COMPARE = new Set(["==", "!=", "<", "<=", ">", ">="]);
const OP_NAMES: Record<string, string> = { var_end: "end of print statement", block_end: "end of statement block", eof: "end of template" };

export const describe = (t: Token): string => (t.t === "op" || t.t === "name" ? t.v : t.t === "string" ? "string" : (OP_NAMES[t.t] ?? t.t));

export class ExprParser {
  protected pos = 0;
  protected readonly tokens: Token[];
  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  protected get cur(): Token {
    return this.tokens[this.pos]!;
  }
  protected look(n = 1): Token {
    return this.tokens[Math.min(this.pos + n, this.tokens.length - 1)]!;
  }
  protected next(): Token {
    const t = this.tokens[this.pos]!;
    if (t.t !== "eof") this.pos++;
    return t;
  }
  protected fail(msg: string, line = this.cur.line): never {
    throw new SyntaxErr(msg, line);
  }
  protected isOp(v: string): boolean {
    const t = this.cur;
    return t.t === "op" && t.v === v;
  }
  protected isName(v: string): boolean {
    const t = this.cur;
    return t.t === "name" && t.v === v;
  }
  protected skipOp(v: string): boolean {
    if (!this.isOp(v)) return false;
    this.pos++;
    return true;
  }
  protected skipName(v: string): boolean {
    if (!this.isName(v)) return false;
    this.pos++;
    return true;
  }
  protected expectOp(v: string): void {
    if (!this.skipOp(v)) this.fail(`expected token '${v}', got '${describe(this.cur)}'`);
  }
  protected expect(t: Token["t"]): Token {
    if (this.cur.t !== t) {
      if (this.cur.t === "eof") this.fail(`unexpected end of template, expected '${OP_NAMES[t] ?? t}'.`);
      this.fail(`expected token '${OP_NAMES[t] ?? t}', got '${describe(this.cur)}'`);
    }
    return this.next();
  }
  protected expectName(): string {
    if (this.cur.t !== "name") this.fail(`expected token 'name', got '${describe(this.cur)}'`);
    return this.next().v;
  }

  protected parseAssignTarget(extraEnd: string[] | null, withNamespace: boolean): Target {
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

  protected isTupleEnd(extraEnd: string[] | null): boolean {
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

  protected parseExpression(): Expr {
    let e = this.parseOr();
    while (this.isName("if")) {
      const line = this.next().line;
      const test = this.parseOr();
      const else_ = this.skipName("else") ? this.parseExpression() : null;
      e = { k: "cond", test, yes: e, else_, line, a: false };
    }
    return e;
  }

  protected parseOr(): Expr {
    let l = this.parseAnd();
    while (this.isName("or")) {
      const line = this.next().line;
      l = { k: "or", l, r: this.parseAnd(), line, a: false };
    }
    return l;
  }

  protected parseAnd(): Expr {
    let l = this.parseNot();
    while (this.isName("and")) {
      const line = this.next().line;
      l = { k: "and", l, r: this.parseNot(), line, a: false };
    }
    return l;
  }

  protected parseNot(): Expr {
    if (this.isName("not")) {
      const line = this.next().line;
      return { k: "unary", op: "not", v: this.parseNot(), line, a: false };
    }
    return this.parseCompare();
  }

  protected parseCompare(): Expr {
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

  protected parseBinary(ops: string[], sub: () => Expr): Expr {
    let l = sub();
    for (;;) {
      const t = this.cur;
      if (t.t !== "op" || !ops.includes(t.v)) return l;
      this.next();
      l = { k: "bin", op: t.v, l, r: sub(), line: t.line, a: false };
    }
  }

  protected parseMath1(): Expr {
    return this.parseBinary(["+", "-"], () => this.parseConcat());
  }

  protected parseConcat(): Expr {
    const line = this.cur.line;
    const items = [this.parseMath2()];
    while (this.skipOp("~")) items.push(this.parseMath2());
    return items.length === 1 ? items[0]! : { k: "concat", items, line, a: false };
  }

  protected parseMath2(): Expr {
    return this.parseBinary(["*", "/", "//", "%"], () => this.parsePow());
  }

  protected parsePow(): Expr {
    return this.parseBinary(["**"], () => this.parseUnary());
  }

  protected parseUnary(withFilter = true): Expr {
    const t = this.cur;
    let node: Expr;
    if (t.t === "op" && (t.v === "-" || t.v === "+")) {
      this.next();
      node = { k: "unary", op: t.v, v: this.parseUnary(false), line: t.line, a: false };
    } else node = this.parsePrimary();
    node = this.parsePostfix(node);
    return withFilter ? this.parseFilterExpr(node) : node;
  }

  protected parsePrimary(): Expr {
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

  protected parseList(): Expr {
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

  protected parseDict(): Expr {
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

  protected parsePostfix(node: Expr): Expr {
    for (;;) {
      if (this.isOp(".") || this.isOp("[")) node = this.parseSubscript(node);
      else if (this.isOp("(")) node = this.parseCall(node);
      else return node;
    }
  }

  protected parseFilterExpr(node: Expr): Expr {
    for (;;) {
      if (this.isOp("|")) node = this.parseFilter(node);
      else if (this.isName("is")) node = this.parseTest(node);
      else if (this.isOp("(")) node = this.parseCall(node);
      else return node;
    }
  }

  protected parseSubscript(obj: Expr): Expr {
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

  protected parseSubscribed(): Expr {
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

  protected parseArgs(): Args {
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

  protected parseCall(fn: Expr): CallExpr {
    const line = this.cur.line;
    return { k: "call", fn, ...this.parseArgs(), line, a: true };
  }

  protected dottedName(): string {
    let name = this.expectName();
    while (this.isOp(".")) {
      this.next();
      name += `.${this.expectName()}`;
    }
    return name;
  }

  protected parseFilter(node: Expr | null, startInline = false): Expr {
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

  protected parseTest(v: Expr): Expr {
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
