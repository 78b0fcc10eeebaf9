/** Post-parse analysis: which names a macro body uses (caller, varargs, kwargs) and which nodes may await. */
import type { Args, Expr, MacroDef, Node, Param } from "./ast.ts";

export function macroDef(name: string, params: Param[], body: Node[]): MacroDef {
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

export function markNode(n: Node): boolean {
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
