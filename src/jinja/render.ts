/** Statement execution and macros. Bodies without calls render synchronously. */
import type { Expr, MacroDef, Node, Target } from "./ast.ts";
import { Ctx, ev, evalAsync, evalCall, evalSync, ReturnSignal, Scope } from "./evaluate.ts";
import { applyFilter } from "./filters.ts";
import { iterate } from "./ops.ts";
import { CALLABLE, Kwargs, locate, Namespace, PyError, str, truthy, tuple, UndefinedValue } from "./values.ts";

export interface Out {
  s: string;
}

/** 0: carry on; 1: break; 2: continue. */
type Signal = 0 | 1 | 2;

export class LoopContext {
  readonly items: unknown[];
  i = 0;
  private lastChanged: unknown[] | undefined;
  constructor(items: unknown[]) {
    this.items = items;
  }
  get index(): number {
    return this.i + 1;
  }
  get index0(): number {
    return this.i;
  }
  get length(): number {
    return this.items.length;
  }
  get first(): boolean {
    return this.i === 0;
  }
  get last(): boolean {
    return this.i === this.items.length - 1;
  }
  get revindex(): number {
    return this.items.length - this.i;
  }
  get revindex0(): number {
    return this.items.length - this.i - 1;
  }
  get depth(): number {
    return 1;
  }
  get depth0(): number {
    return 0;
  }
  get previtem(): unknown {
    return this.i > 0 ? this.items[this.i - 1] : new UndefinedValue("there is no previous item");
  }
  get nextitem(): unknown {
    return this.i < this.items.length - 1 ? this.items[this.i + 1] : new UndefinedValue("there is no next item");
  }
  cycle(...args: unknown[]): unknown {
    if (!args.length) throw new PyError("no items for cycling given");
    return args[this.i % args.length];
  }
  changed(...args: unknown[]): boolean {
    const same = this.lastChanged && this.lastChanged.length === args.length && this.lastChanged.every((x, i) => x === args[i]);
    this.lastChanged = args;
    return !same;
  }
  __str__(): string {
    return `<LoopContext ${this.index}/${this.length}>`;
  }
}

function unpack(target: Target, value: unknown, s: Scope): void {
  if (target.k === "name") {
    s.set(target.name, value);
    return;
  }
  if (target.k === "nsattr") {
    const ns = s.lookup(target.name);
    if (!(ns instanceof Namespace)) throw new PyError("cannot assign attribute on non-namespace object");
    ns.attrs.set(target.attr, value);
    return;
  }
  const items = iterate(value);
  const n = target.items.length;
  if (items.length > n) throw new PyError(`too many values to unpack (expected ${n})`);
  if (items.length < n) throw new PyError(`not enough values to unpack (expected ${n}, got ${items.length})`);
  for (let i = 0; i < n; i++) unpack(target.items[i]!, items[i], s);
}

/** Applies a filter chain whose innermost filter (v = null) takes `value`. */
function applyChain(f: Expr, value: unknown, s: Scope, c: Ctx): unknown {
  if (f.k !== "filter") return value;
  const inner = f.v ? applyChain(f.v, value, s, c) : value;
  const args = f.args.map((a) => evalSync(a, s, c));
  const kwargs: Record<string, unknown> | null = f.kwargs.length
    ? Object.fromEntries(f.kwargs.map(([k, v]) => [k, evalSync(v, s, c)]))
    : null;
  c.line = f.line;
  return applyFilter(f.name, inner, args, kwargs);
}

export function renderSync(nodes: Node[], s: Scope, c: Ctx, out: Out): Signal {
  for (const n of nodes) {
    const sig = execSync(n, s, c, out);
    if (sig) return sig;
  }
  return 0;
}

export async function renderAsync(nodes: Node[], s: Scope, c: Ctx, out: Out): Promise<Signal> {
  for (const n of nodes) {
    const sig = n.a ? await execAsync(n, s, c, out) : execSync(n, s, c, out);
    if (sig) return sig;
  }
  return 0;
}

/** The scope of a for loop's next iteration: the target unpacked, and `loop`. */
function iterationScope(n: Extract<Node, { k: "for" }>, loop: LoopContext, s: Scope, c: Ctx): Scope {
  const ls = s.child();
  loop.i++;
  c.line = n.line;
  unpack(n.target, loop.items[loop.i], ls);
  ls.set("loop", loop);
  return ls;
}

/** A block set assigns its rendered body; a filter block outputs it, filtered. */
function captured(n: Extract<Node, { k: "setblock" | "filterblock" }>, text: string, s: Scope, c: Ctx, out: Out): void {
  if (n.k === "setblock") unpack(n.target, n.filter ? applyChain(n.filter, text, s, c) : text, s);
  else out.s += str(applyChain(n.filter, text, s, c));
}

function loopItems(n: Extract<Node, { k: "for" }>, iterable: unknown, s: Scope, c: Ctx): unknown[] {
  c.line = n.line;
  const items = iterate(iterable);
  if (!n.filter) return items;
  const kept: unknown[] = [];
  for (const item of items) {
    const fs = s.child();
    unpack(n.target, item, fs);
    if (truthy(evalSync(n.filter, fs, c))) kept.push(item);
  }
  return kept;
}

function execSync(n: Node, s: Scope, c: Ctx, out: Out): Signal {
  switch (n.k) {
    case "text":
      out.s += n.s;
      return 0;
    case "print":
      c.line = n.line;
      out.s += str(evalSync(n.e, s, c));
      return 0;
    case "if":
      c.line = n.line;
      return renderSync(truthy(evalSync(n.test, s, c)) ? n.body : n.else_, s, c, out);
    case "for": {
      const items = loopItems(n, evalSync(n.iter, s, c), s, c);
      if (!items.length) return renderSync(n.else_, s.child(), c, out);
      const loop = new LoopContext(items);
      loop.i = -1;
      for (let i = 0; i < items.length; i++) {
        if (renderSync(n.body, iterationScope(n, loop, s, c), c, out) === 1) break;
      }
      return 0;
    }
    case "set":
      c.line = n.line;
      unpack(n.target, evalSync(n.value, s, c), s);
      return 0;
    case "setblock":
    case "filterblock": {
      const body: Out = { s: "" };
      renderSync(n.body, s.child(), c, body);
      captured(n, body.s, s, c, out);
      return 0;
    }
    case "macro":
      s.set(n.def.name, new Macro(n.def, s, c.name));
      return 0;
    case "with": {
      const ws = s.child();
      for (const [t, e] of n.targets) unpack(t, evalSync(e, s, c), ws);
      return renderSync(n.body, ws, c, out);
    }
    case "do":
      c.line = n.line;
      evalSync(n.e, s, c);
      return 0;
    case "break":
      return 1;
    case "continue":
      return 2;
    case "callblock":
      throw new PyError("internal: call block rendered synchronously");
  }
}

async function execAsync(n: Node, s: Scope, c: Ctx, out: Out): Promise<Signal> {
  switch (n.k) {
    case "print": {
      const v = n.e.a ? await evalAsync(n.e, s, c) : evalSync(n.e, s, c);
      out.s += str(v);
      return 0;
    }
    case "if": {
      c.line = n.line;
      const t = truthy(await ev(n.test, s, c));
      const body = t ? n.body : n.else_;
      return renderAsync(body, s, c, out);
    }
    case "for": {
      c.line = n.line;
      const iterable = await ev(n.iter, s, c);
      let items: unknown[];
      if (n.filter?.a) {
        items = [];
        for (const item of iterate(iterable)) {
          const fs = s.child();
          unpack(n.target, item, fs);
          if (truthy(await evalAsync(n.filter, fs, c))) items.push(item);
        }
      } else items = loopItems(n, iterable, s, c);
      if (!items.length) return renderAsync(n.else_, s.child(), c, out);
      const loop = new LoopContext(items);
      loop.i = -1;
      for (let i = 0; i < items.length; i++) {
        if ((await renderAsync(n.body, iterationScope(n, loop, s, c), c, out)) === 1) break;
      }
      return 0;
    }
    case "set": {
      const v = await ev(n.value, s, c);
      c.line = n.line;
      unpack(n.target, v, s);
      return 0;
    }
    case "setblock":
    case "filterblock": {
      const body: Out = { s: "" };
      await renderAsync(n.body, s.child(), c, body);
      captured(n, body.s, s, c, out);
      return 0;
    }
    case "with": {
      const ws = s.child();
      for (const [t, e] of n.targets) unpack(t, await ev(e, s, c), ws);
      return renderAsync(n.body, ws, c, out);
    }
    case "do":
      await ev(n.e, s, c);
      return 0;
    case "callblock": {
      const caller = new Macro(n.def, s, c.name);
      out.s += str(await evalCall(n.call, s, c, { caller }));
      return 0;
    }
    default:
      return execSync(n, s, c, out);
  }
}

/** A {% macro %} (or dbt {% test %}, or a call block's caller) bound to the scope it was defined in. */
export class Macro {
  readonly [CALLABLE] = true as const;
  readonly name: string;
  readonly params: readonly string[];
  readonly def: MacroDef;
  private readonly scope: Scope;
  readonly templateName: string;
  constructor(def: MacroDef, scope: Scope, templateName: string) {
    this.def = def;
    this.name = def.name;
    this.params = def.params.map((p) => p.name);
    this.scope = scope;
    this.templateName = templateName;
  }

  /** Calls the macro from JS: resolves to its return() value, or its rendered text. */
  call(args: unknown[], kwargs?: Record<string, unknown>): Promise<unknown> {
    return this.invoke(args, kwargs ?? null);
  }

  /** The macro as a plain JS function (positional args, then an optional Kwargs). */
  toFunction(): (...args: unknown[]) => Promise<unknown> {
    return (...args: unknown[]) => {
      const last = args[args.length - 1];
      return last instanceof Kwargs ? this.invoke(args.slice(0, -1), last.values) : this.invoke(args, null);
    };
  }

  get arguments(): unknown[] {
    return tuple([...this.params]);
  }

  __repr__(): string {
    return `<Macro '${this.name}'>`;
  }

  async invoke(args: unknown[], kwargs: Record<string, unknown> | null): Promise<unknown> {
    const def = this.def;
    const params = def.params;
    // Binding errors are the caller's: they are located at the call site.
    if (args.length > params.length && !def.usesVarargs) {
      throw new PyError(`macro '${def.name}' takes not more than ${params.length} argument(s)`);
    }
    const kw = kwargs ? { ...kwargs } : {};
    if (!def.usesKwargs) {
      // As Jinja2: a keyword naming a parameter already given positionally is an unknown keyword.
      const known = new Set(this.params.slice(args.length));
      if (def.usesCaller) known.add("caller");
      for (const k in kw) {
        if (known.has(k)) continue;
        if (k === "caller")
          throw new PyError(`macro '${def.name}' was invoked with two values for the special caller argument. This is most likely a bug.`);
        throw new PyError(`macro '${def.name}' takes no keyword argument '${k}'`);
      }
    }
    const s = this.scope.child();
    const c = new Ctx(this.templateName, true);
    try {
      for (let i = 0; i < params.length; i++) {
        const p = params[i]!;
        let v: unknown;
        if (i < args.length) v = args[i];
        else if (p.name in kw) {
          v = kw[p.name];
          delete kw[p.name];
        } else if (p.default_) {
          c.line = p.default_.line;
          v = await ev(p.default_, s, c);
        } else v = new UndefinedValue(`parameter '${p.name}' was not provided`);
        s.set(p.name, v);
      }
      if (def.usesCaller) {
        s.set("caller", "caller" in kw ? kw.caller : new UndefinedValue("No caller defined"));
        delete kw.caller;
      }
      if (def.usesVarargs) s.set("varargs", tuple(args.slice(params.length)));
      if (def.usesKwargs) s.set("kwargs", new Map(Object.entries(kw)));
      const out: Out = { s: "" };
      await renderAsync(def.body, s, c, out);
      return out.s;
    } catch (err) {
      if (err instanceof ReturnSignal) return err.value;
      throw locate(err, c.name, c.line);
    }
  }
}

export async function renderTemplate(nodes: Node[], globals: Record<string, unknown>, name: string): Promise<string> {
  const c = new Ctx(name, false);
  const out: Out = { s: "" };
  try {
    await renderAsync(nodes, new Scope(null, globals), c, out);
  } catch (err) {
    if (err instanceof ReturnSignal) throw locate(new PyError("return() is only allowed inside a macro"), name, c.line);
    throw locate(err, name, c.line);
  }
  return out.s;
}
