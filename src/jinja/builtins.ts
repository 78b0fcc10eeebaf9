/** Jinja2's global functions (range, dict, namespace, cycler, joiner) and pyfunc, Python-style argument binding for JS. */
import { dictEntries, iterate } from "./ops.ts";
import { isDict, Kwargs, Namespace, num, PyError, str, typeName } from "./values.ts";

const PYFUNC = Symbol("pyfunc");

/**
 * Wraps `fn` so that a template's positional and keyword arguments are bound to `params` as Python
 * binds them. "name?" is optional (absent when not passed), "*args" collects extra positionals
 * (as an array), "**kwargs" extra keywords (as a record). Unknown keywords are errors, which
 * name the function `name` (or fn's own name).
 */
export interface ParamSpec {
  name: string;
  optional: boolean;
}

/** Python's binding of positional and keyword arguments to named parameters. */
export function bindArgs(
  label: string,
  fixed: ParamSpec[],
  star: string | undefined,
  starstar: string | undefined,
  args: unknown[],
  kwargs: Record<string, unknown> | null,
): Record<string, unknown> {
  const kw: Record<string, unknown> = kwargs ? { ...kwargs } : {};
  const bound: Record<string, unknown> = {};
  if (args.length > fixed.length && !star) {
    throw new PyError(`${label}() takes ${fixed.length} positional argument${fixed.length === 1 ? "" : "s"} but ${args.length} were given`);
  }
  fixed.forEach((p, i) => {
    if (i < args.length) {
      if (p.name in kw) throw new PyError(`${label}() got multiple values for argument '${p.name}'`);
      bound[p.name] = args[i];
    } else if (p.name in kw) {
      bound[p.name] = kw[p.name];
      delete kw[p.name];
    } else if (!p.optional) throw new PyError(`${label}() missing required argument: '${p.name}'`);
  });
  if (star) bound[star] = args.slice(fixed.length);
  if (starstar) bound[starstar] = kw;
  else for (const k in kw) throw new PyError(`${label}() got an unexpected keyword argument '${k}'`);
  return bound;
}

export function parseParams(params: string[]): { fixed: ParamSpec[]; star: string | undefined; starstar: string | undefined } {
  return {
    fixed: params.filter((p) => !p.startsWith("*")).map((p) => ({ name: p.replace(/\?$/, ""), optional: p.endsWith("?") })),
    star: params.find((p) => p.startsWith("*") && !p.startsWith("**"))?.slice(1),
    starstar: params.find((p) => p.startsWith("**"))?.slice(2),
  };
}

export function pyfunc(params: string[], fn: (args: Record<string, unknown>) => unknown, name?: string): (...args: unknown[]) => unknown {
  const { fixed, star, starstar } = parseParams(params);
  const label = name ?? (fn.name || "function");
  const wrapped = (...raw: unknown[]) => {
    const last = raw[raw.length - 1];
    const kw = last instanceof Kwargs ? last.values : null;
    return fn(bindArgs(label, fixed, star, starstar, kw ? raw.slice(0, -1) : raw, kw));
  };
  Object.defineProperty(wrapped, "name", { value: label });
  (wrapped as unknown as Record<symbol, boolean>)[PYFUNC] = true;
  return wrapped;
}

function range({ a, b, step }: Record<string, unknown>): number[] {
  let start = 0;
  let stop = num(a);
  if (b !== undefined) {
    start = num(a);
    stop = num(b);
  }
  const st = step === undefined ? 1 : num(step);
  if (st === 0) throw new PyError("range() arg 3 must not be zero");
  for (const v of [start, stop, st])
    if (!Number.isInteger(v)) throw new PyError(`'${typeName(v)}' object cannot be interpreted as an integer`);
  const n = Math.max(0, Math.ceil((stop - start) / st));
  if (n > 10_000_000) throw new PyError("range() too big: Sluice renders at most 10,000,000 items");
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = start + i * st;
  return out;
}

function dict({ src, kw }: Record<string, unknown>): Map<unknown, unknown> {
  const m = new Map<unknown, unknown>();
  if (src !== undefined) {
    if (isDict(src)) for (const [k, v] of dictEntries(src)) m.set(k, v);
    else
      for (const pair of iterate(src)) {
        const kv = iterate(pair);
        if (kv.length !== 2) throw new PyError(`dictionary update sequence element has length ${kv.length}; 2 is required`);
        m.set(kv[0], kv[1]);
      }
  }
  for (const [k, v] of Object.entries(kw as Record<string, unknown>)) m.set(k, v);
  return m;
}

function namespace({ src, kw }: Record<string, unknown>): Namespace {
  const ns = new Namespace();
  if (src !== undefined) for (const [k, v] of dict({ src, kw: {} })) ns.attrs.set(str(k), v);
  for (const [k, v] of Object.entries(kw as Record<string, unknown>)) ns.attrs.set(k, v);
  return ns;
}

class Cycler {
  readonly items: unknown[];
  pos = 0;
  constructor(items: unknown[]) {
    this.items = items;
  }
  get current(): unknown {
    return this.items[this.pos];
  }
  next(): unknown {
    const v = this.items[this.pos];
    this.pos = (this.pos + 1) % this.items.length;
    return v;
  }
  reset(): null {
    this.pos = 0;
    return null;
  }
}

function joiner({ sep }: Record<string, unknown>): () => string {
  let used = false;
  return () => {
    if (!used) {
      used = true;
      return "";
    }
    return sep === undefined ? ", " : str(sep);
  };
}

export const BUILTINS: Record<string, unknown> = {
  range: pyfunc(["a", "b?", "step?"], range, "range"),
  dict: pyfunc(["src?", "**kw"], dict, "dict"),
  namespace: pyfunc(["src?", "**kw"], namespace, "namespace"),
  cycler: pyfunc(["*items"], ({ items }) => new Cycler(items as unknown[])),
  joiner: pyfunc(["sep?"], joiner),
};
Object.setPrototypeOf(BUILTINS, null);
