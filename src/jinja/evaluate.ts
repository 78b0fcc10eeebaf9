/**
 * Expression evaluation. Nodes without calls (`a` false) are evaluated synchronously; the async
 * path is taken only where a call may return a Promise (a JS function reaching D1, a macro).
 */
import { callAttr, callValue, getattr, getitem, slice } from "./access.ts";
import type { Args, CallExpr, Expr } from "./ast.ts";
import { BUILTINS } from "./builtins.ts";
import { applyFilter } from "./filters.ts";
import { binary, compare, dictEntries, dictKey, iterate, negate, plus } from "./ops.ts";
import { applyTest } from "./tests.ts";
import { isDict, isUndefined, PyError, str, truthy, tuple, UndefinedValue, undefinedName } from "./values.ts";

/** One render or macro invocation: where errors are reported, and whether return() is allowed. */
export class Ctx {
  readonly name: string;
  readonly inMacro: boolean;
  line = 0;
  constructor(name: string, inMacro: boolean) {
    this.name = name;
    this.inMacro = inMacro;
  }
}

/** Jinja2's scoping: for bodies, macros, call/filter/with blocks get a child scope; `if` does not. */
export class Scope {
  readonly parent: Scope | null;
  readonly globals: Record<string, unknown>;
  vars: Map<string, unknown> | null = null;
  constructor(parent: Scope | null, globals: Record<string, unknown>) {
    this.parent = parent;
    this.globals = globals;
  }
  child(): Scope {
    return new Scope(this, this.globals);
  }
  set(name: string, v: unknown): void {
    if (!this.vars) this.vars = new Map();
    this.vars.set(name, v);
  }
  has(name: string): boolean {
    for (let s: Scope | null = this; s; s = s.parent) if (s.vars?.has(name)) return true;
    return name in this.globals;
  }
  lookup(name: string): unknown {
    for (let s: Scope | null = this; s; s = s.parent) {
      const vars = s.vars;
      if (vars?.has(name)) return vars.get(name);
    }
    const g = this.globals;
    if (name in g) {
      const v = g[name];
      return v === undefined ? undefinedName(name) : v;
    }
    const b = BUILTINS[name];
    return b ?? undefinedName(name);
  }
}

/** Thrown by dbt's return(): carries the macro's value out of its body. */
export class ReturnSignal {
  readonly value: unknown;
  constructor(value: unknown) {
    this.value = value;
  }
}

export type Ev = (e: Expr, s: Scope, c: Ctx) => unknown;

function condUndefined(e: Expr): UndefinedValue {
  return new UndefinedValue(`the inline if-expression on line ${e.line} evaluated to false and no else section was defined.`);
}

function evalCompare(first: unknown, ops: [string, Expr][], s: Scope, c: Ctx): boolean {
  let left = first;
  for (const [op, e] of ops) {
    const right = evalSync(e, s, c);
    if (!compare(op, left, right)) return false;
    left = right;
  }
  return true;
}

export function evalSync(e: Expr, s: Scope, c: Ctx): unknown {
  switch (e.k) {
    case "const":
      return e.value;
    case "name":
      return s.lookup(e.name);
    case "getattr":
      c.line = e.line;
      return getattr(evalSync(e.obj, s, c), e.name);
    case "getitem": {
      c.line = e.line;
      const obj = evalSync(e.obj, s, c);
      const key = e.key;
      if (key.k === "slice") return slice(obj, ev0(key.start, s, c), ev0(key.stop, s, c), ev0(key.step, s, c));
      return getitem(obj, evalSync(key, s, c));
    }
    case "filter": {
      c.line = e.line;
      const v = e.v ? evalSync(e.v, s, c) : undefined;
      const [args, kwargs] = argsSync(e, s, c);
      return applyFilter(e.name, v, args, kwargs);
    }
    case "test": {
      c.line = e.line;
      const v = evalSync(e.v, s, c);
      const [args, kwargs] = argsSync(e, s, c);
      const r = applyTest(e.name, v, args, kwargs);
      return e.negated ? !r : r;
    }
    case "bin":
      c.line = e.line;
      return binary(e.op, evalSync(e.l, s, c), evalSync(e.r, s, c));
    case "concat": {
      let out = "";
      for (const i of e.items) out += str(evalSync(i, s, c));
      return out;
    }
    case "compare":
      c.line = e.line;
      return evalCompare(evalSync(e.first, s, c), e.ops, s, c);
    case "and": {
      const l = evalSync(e.l, s, c);
      return truthy(l) ? evalSync(e.r, s, c) : l;
    }
    case "or": {
      const l = evalSync(e.l, s, c);
      return truthy(l) ? l : evalSync(e.r, s, c);
    }
    case "unary": {
      const v = evalSync(e.v, s, c);
      c.line = e.line;
      return e.op === "not" ? !truthy(v) : e.op === "-" ? negate(v) : plus(v);
    }
    case "cond":
      if (truthy(evalSync(e.test, s, c))) return evalSync(e.yes, s, c);
      return e.else_ ? evalSync(e.else_, s, c) : condUndefined(e);
    case "list":
      return e.items.map((i) => evalSync(i, s, c));
    case "tuple":
      return tuple(e.items.map((i) => evalSync(i, s, c)));
    case "dict": {
      const m = new Map<unknown, unknown>();
      for (const [k, v] of e.pairs) m.set(dictKey(evalSync(k, s, c)), evalSync(v, s, c));
      return m;
    }
    case "slice":
      throw new PyError("slice outside of a subscript");
    case "call":
      throw new PyError("internal: call evaluated synchronously");
  }
}

const ev0 = (e: Expr | null, s: Scope, c: Ctx): unknown => (e ? evalSync(e, s, c) : null);

function collectArgs(
  args: unknown[],
  kwargs: Record<string, unknown> | null,
  star: unknown,
  starstar: unknown,
): [unknown[], Record<string, unknown> | null] {
  if (star !== undefined) args.push(...iterate(star));
  if (starstar !== undefined) {
    if (!isDict(starstar)) throw new PyError(`argument after ** must be a mapping, not ${str(starstar)}`);
    kwargs ??= {};
    for (const [k, v] of dictEntries(starstar)) kwargs[str(k)] = v;
  }
  return [args, kwargs];
}

function argsSync(x: Args, s: Scope, c: Ctx): [unknown[], Record<string, unknown> | null] {
  const args: unknown[] = [];
  for (const a of x.args) args.push(evalSync(a, s, c));
  let kwargs: Record<string, unknown> | null = null;
  if (x.kwargs.length) {
    kwargs = {};
    for (const [k, v] of x.kwargs) kwargs[k] = evalSync(v, s, c);
  }
  if (!x.star && !x.starstar) return [args, kwargs];
  return collectArgs(args, kwargs, x.star ? evalSync(x.star, s, c) : undefined, x.starstar ? evalSync(x.starstar, s, c) : undefined);
}

async function argsAsync(x: Args, s: Scope, c: Ctx): Promise<[unknown[], Record<string, unknown> | null]> {
  const args: unknown[] = [];
  for (const a of x.args) args.push(a.a ? await evalAsync(a, s, c) : evalSync(a, s, c));
  let kwargs: Record<string, unknown> | null = null;
  if (x.kwargs.length) {
    kwargs = {};
    for (const [k, v] of x.kwargs) kwargs[k] = v.a ? await evalAsync(v, s, c) : evalSync(v, s, c);
  }
  if (!x.star && !x.starstar) return [args, kwargs];
  const star = x.star ? await ev(x.star, s, c) : undefined;
  const starstar = x.starstar ? await ev(x.starstar, s, c) : undefined;
  return collectArgs(args, kwargs, star, starstar);
}

export const ev = (e: Expr, s: Scope, c: Ctx): unknown => (e.a ? evalAsync(e, s, c) : evalSync(e, s, c));

/** Evaluates a call; `extra` adds keyword arguments (the `caller` of a call block). */
export async function evalCall(e: CallExpr, s: Scope, c: Ctx, extra?: Record<string, unknown>): Promise<unknown> {
  const fn = e.fn;
  if (fn.k === "name" && fn.name === "return" && !s.has("return")) {
    const [args] = await argsAsync(e, s, c);
    c.line = e.line;
    if (!c.inMacro) throw new PyError("return() is only allowed inside a macro");
    throw new ReturnSignal(args.length ? args[0] : null);
  }
  let self: unknown;
  let callee: unknown;
  if (fn.k === "getattr") self = fn.obj.a ? await evalAsync(fn.obj, s, c) : evalSync(fn.obj, s, c);
  else callee = fn.a ? await evalAsync(fn, s, c) : evalSync(fn, s, c);
  const [args, kw] = await argsAsync(e, s, c);
  const kwargs = extra ? { ...kw, ...extra } : kw;
  c.line = e.line;
  if (fn.k === "name" && isUndefined(callee)) throw new PyError(`'${fn.name}' is undefined`);
  const r = fn.k === "getattr" ? callAttr(self, fn.name, args, kwargs) : callValue(callee, args, kwargs);
  return r instanceof Promise ? await r : r;
}

export async function evalAsync(e: Expr, s: Scope, c: Ctx): Promise<unknown> {
  switch (e.k) {
    case "call":
      return evalCall(e, s, c);
    case "getattr": {
      const obj = await evalAsync(e.obj, s, c);
      c.line = e.line;
      return getattr(obj, e.name);
    }
    case "getitem": {
      const obj = await ev(e.obj, s, c);
      const key = e.key;
      if (key.k === "slice") {
        const [a, b, st] = [
          key.start && (await ev(key.start, s, c)),
          key.stop && (await ev(key.stop, s, c)),
          key.step && (await ev(key.step, s, c)),
        ];
        c.line = e.line;
        return slice(obj, a, b, st);
      }
      const k = await ev(key, s, c);
      c.line = e.line;
      return getitem(obj, k);
    }
    case "filter": {
      const v = e.v ? await ev(e.v, s, c) : undefined;
      const [args, kwargs] = await argsAsync(e, s, c);
      c.line = e.line;
      return applyFilter(e.name, v, args, kwargs);
    }
    case "test": {
      const v = await ev(e.v, s, c);
      const [args, kwargs] = await argsAsync(e, s, c);
      c.line = e.line;
      const r = applyTest(e.name, v, args, kwargs);
      return e.negated ? !r : r;
    }
    case "bin": {
      const l = await ev(e.l, s, c);
      const r = await ev(e.r, s, c);
      c.line = e.line;
      return binary(e.op, l, r);
    }
    case "concat": {
      let out = "";
      for (const i of e.items) out += str(await ev(i, s, c));
      return out;
    }
    case "compare": {
      let left = await ev(e.first, s, c);
      for (const [op, x] of e.ops) {
        const right = await ev(x, s, c);
        c.line = e.line;
        if (!compare(op, left, right)) return false;
        left = right;
      }
      return true;
    }
    case "and": {
      const l = await ev(e.l, s, c);
      return truthy(l) ? ev(e.r, s, c) : l;
    }
    case "or": {
      const l = await ev(e.l, s, c);
      return truthy(l) ? l : ev(e.r, s, c);
    }
    case "unary": {
      const v = await ev(e.v, s, c);
      c.line = e.line;
      return e.op === "not" ? !truthy(v) : e.op === "-" ? negate(v) : plus(v);
    }
    case "cond":
      if (truthy(await ev(e.test, s, c))) return ev(e.yes, s, c);
      return e.else_ ? ev(e.else_, s, c) : condUndefined(e);
    case "list": {
      const out: unknown[] = [];
      for (const i of e.items) out.push(await ev(i, s, c));
      return out;
    }
    case "tuple": {
      const out: unknown[] = [];
      for (const i of e.items) out.push(await ev(i, s, c));
      return tuple(out);
    }
    case "dict": {
      const m = new Map<unknown, unknown>();
      for (const [k, v] of e.pairs) {
        const key = await ev(k, s, c);
        m.set(dictKey(key), await ev(v, s, c));
      }
      return m;
    }
    default:
      return evalSync(e, s, c);
  }
}
