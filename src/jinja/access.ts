/** Attribute, item and slice access as Jinja2's environment.getattr/getitem, and calls. */
import { callMethod, hasMethod } from "./methods.ts";
import { dictGet, dictHas } from "./ops.ts";
import {
  asStr,
  CALLABLE,
  isDict,
  isPlainObject,
  isString,
  isTuple,
  isUndefined,
  Kwargs,
  Markup,
  Namespace,
  num,
  objectTypeRepr,
  PyError,
  PyFloat,
  repr,
  tuple,
  typeName,
  UndefinedValue,
} from "./values.ts";

/** Marks the (grouper, list) tuples of the groupby filter. */
export const GROUP = Symbol("groupby tuple");

/** A template-callable that is not a JS function: Macro (render.ts), marked with CALLABLE. */
export interface Callable {
  [CALLABLE]: true;
  invoke(args: unknown[], kwargs: Record<string, unknown> | null): unknown;
}
export const isCallable = (v: unknown): v is Callable => typeof v === "object" && v !== null && (v as Partial<Callable>)[CALLABLE] === true;

const missing = (obj: unknown, name: unknown): UndefinedValue =>
  new UndefinedValue(
    typeof name === "string"
      ? `${objectTypeRepr(obj)} has no attribute ${repr(name)}`
      : `${objectTypeRepr(obj)} has no element ${repr(name)}`,
  );

function failOn(obj: unknown): void {
  if (obj instanceof UndefinedValue) obj.fail();
  if (obj === undefined) throw new PyError("value is undefined");
}

/** A method or property read without calling it: bound so a later call reaches obj. */
function boundMethod(obj: unknown, name: string): (...a: unknown[]) => unknown {
  const f = (...a: unknown[]) => {
    const last = a[a.length - 1];
    return last instanceof Kwargs ? callMethod(obj, name, a.slice(0, -1), last.values) : callMethod(obj, name, a, null);
  };
  Object.defineProperty(f, "name", { value: name });
  return f;
}

function objectAttr(obj: object, name: string): unknown {
  if (name in obj) {
    const v = (obj as Record<string, unknown>)[name];
    return typeof v === "function" ? v.bind(obj) : v;
  }
  const hook = (obj as { __getattr__?: (n: string) => unknown }).__getattr__;
  if (typeof hook === "function") return hook.call(obj, name);
  return missing(obj, name);
}

export function getattr(obj: unknown, name: string): unknown {
  if (obj === null) return missing(obj, name);
  if (obj === undefined || obj instanceof UndefinedValue) failOn(obj);
  if (isPlainObject(obj)) {
    const own = Object.hasOwn(obj, name) ? obj[name] : undefined;
    if (typeof own === "function") return own.bind(obj);
    if (hasMethod(obj, name)) return boundMethod(obj, name);
    return own !== undefined || Object.hasOwn(obj, name) ? own : missing(obj, name);
  }
  if (obj instanceof Map) {
    if (hasMethod(obj, name)) return boundMethod(obj, name);
    return obj.has(name) ? obj.get(name) : missing(obj, name);
  }
  if (obj instanceof Namespace) return obj.attrs.has(name) ? obj.attrs.get(name) : missing(obj, name);
  if (typeof obj === "object" && !Array.isArray(obj) && !(obj instanceof Markup) && !(obj instanceof PyFloat)) return objectAttr(obj, name);
  if (Array.isArray(obj)) {
    const special = (obj as unknown as Record<symbol, unknown>)[GROUP];
    if (special && (name === "grouper" || name === "list")) return name === "grouper" ? obj[0] : obj[1];
    if (hasMethod(obj, name)) return boundMethod(obj, name);
    // A list with attributes of its own (a query result's `columns`, `rows`, `column_names`).
    if (Object.getPrototypeOf(obj) !== Array.prototype && name in obj && !(name in Array.prototype)) return objectAttr(obj, name);
  }
  if (hasMethod(obj, name)) return boundMethod(obj, name);
  // A list with attributes of its own (a query result's row, read by column name).
  const hook = Array.isArray(obj) ? (obj as { __getattr__?: (n: string) => unknown }).__getattr__ : undefined;
  if (typeof hook === "function") return hook.call(obj, name);
  if (typeof obj === "function" && name in obj) return (obj as unknown as Record<string, unknown>)[name];
  return missing(obj, name);
}

function index(obj: unknown[] | string, key: unknown): number | null {
  // A float or other non-integer index finds nothing (Jinja2 turns Python's TypeError into Undefined).
  if ((typeof key !== "number" && typeof key !== "boolean") || !Number.isInteger(key)) return null;
  const n = num(key);
  const i = n < 0 ? obj.length + n : n;
  return i >= 0 && i < obj.length ? i : -1;
}

export function getitem(obj: unknown, key: unknown): unknown {
  if (Array.isArray(obj)) {
    // A list that reads its own items (a query result's row, by column name).
    const hook = (obj as { __getitem__?: (k: unknown) => unknown }).__getitem__;
    if (typeof hook === "function" && typeof key === "string") return hook.call(obj, key);
    const i = index(obj, key);
    if (i === null) return typeof key === "string" ? getattr(obj, key) : missing(obj, key);
    return i < 0 ? missing(obj, key) : obj[i];
  }
  if (obj instanceof Map || isPlainObject(obj)) {
    if (dictHas(obj, key)) return dictGet(obj, key);
    return typeof key === "string" ? getattr(obj, key) : missing(obj, key);
  }
  if (isString(obj)) {
    const s = asStr(obj);
    const chars: string | string[] = /[\uD800-\uDFFF]/.test(s) ? [...s] : s;
    const i = index(chars, key);
    if (i === null) return typeof key === "string" ? getattr(obj, key) : missing(obj, key);
    return i < 0 ? missing(obj, key) : chars[i];
  }
  if (obj === null) return missing(obj, key);
  failOn(obj);
  if (typeof obj === "object") {
    const hook = (obj as { __getitem__?: (k: unknown) => unknown }).__getitem__;
    if (typeof hook === "function") return hook.call(obj, key);
    if (typeof key === "string") return getattr(obj, key);
  }
  return missing(obj, key);
}

function sliceIndices(n: number, start: unknown, stop: unknown, step: unknown): [number, number, number] {
  const st = step === null || isUndefined(step) ? 1 : num(step);
  if (st === 0) throw new PyError("slice step cannot be zero");
  const norm = (v: unknown, dflt: number, lo: number, hi: number): number => {
    if (v === null || isUndefined(v)) return dflt;
    let i = num(v);
    if (i < 0) i += n;
    return Math.min(Math.max(i, lo), hi);
  };
  return st > 0 ? [norm(start, 0, 0, n), norm(stop, n, 0, n), st] : [norm(start, n - 1, -1, n - 1), norm(stop, -1, -1, n - 1), st];
}

export function slice(obj: unknown, start: unknown, stop: unknown, step: unknown): unknown {
  const str = isString(obj);
  const items: unknown[] = str ? [...asStr(obj as string)] : Array.isArray(obj) ? obj : null!;
  if (!items) {
    failOn(obj);
    throw new PyError(`'${typeName(obj)}' object is not subscriptable`);
  }
  const [a, b, st] = sliceIndices(items.length, start, stop, step);
  let out: unknown[];
  if (st === 1) out = items.slice(a, Math.max(a, b));
  else {
    out = [];
    if (st > 0) for (let i = a; i < b; i += st) out.push(items[i]);
    else for (let i = a; i > b; i += st) out.push(items[i]);
  }
  if (str) return out.join("");
  return isTuple(obj) ? tuple(out) : out;
}

export function notCallable(fn: unknown): never {
  failOn(fn);
  throw new PyError(`'${typeName(fn)}' object is not callable`);
}

/** Calls a template value: a Macro, or a JS function given (args..., Kwargs?). */
export function callValue(fn: unknown, args: unknown[], kwargs: Record<string, unknown> | null, self?: unknown): unknown {
  if (typeof fn === "function") {
    if (kwargs) {
      const caller = kwargs.caller as { toFunction?: () => unknown } | undefined;
      if (caller && typeof caller.toFunction === "function") kwargs = { ...kwargs, caller: caller.toFunction() };
      args.push(new Kwargs(kwargs));
    }
    return fn.apply(self, args);
  }
  if (isCallable(fn)) return fn.invoke(args, kwargs);
  return notCallable(fn);
}

/** obj.name(args): Python's methods on str/list/dict, or a JS method called on obj. */
export function callAttr(obj: unknown, name: string, args: unknown[], kwargs: Record<string, unknown> | null): unknown {
  if (isPlainObject(obj)) {
    const own = Object.hasOwn(obj, name) ? obj[name] : undefined;
    if (typeof own === "function") return callValue(own, args, kwargs, obj);
    if (hasMethod(obj, name)) return callMethod(obj, name, args, kwargs);
  } else if (isDict(obj) || isString(obj) || Array.isArray(obj)) {
    if (hasMethod(obj, name)) return callMethod(obj, name, args, kwargs);
  } else if (obj !== null && typeof obj === "object" && !(obj instanceof Namespace) && name in obj) {
    const f = (obj as Record<string, unknown>)[name];
    if (typeof f === "function") return callValue(f, args, kwargs, obj);
  }
  return callValue(getattr(obj, name), args, kwargs);
}
