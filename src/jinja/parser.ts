/** Jinja2's statements (parser.py), token stream → AST, with the `do`, loop-control and dbt `test` tags. */
import type { Expr, MacroDef, Node, Param, Target } from "./ast.ts";
import { tokenize } from "./lexer.ts";
import { macroDef, markNode } from "./mark.ts";
import { describe, ExprParser } from "./parse-expr.ts";

const UNSUPPORTED = new Set(["materialization", "snapshot", "docs", "block", "extends", "include", "import", "from", "autoescape"]);

export function parse(source: string): Node[] {
  return new Parser(tokenize(source)).parseTemplate();
}

class Parser extends ExprParser {
  private loopDepth = 0;
  private readonly endStack: string[][] = [];
  private readonly tagStack: string[] = [];

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
}
