/**
 * Python's values as the interpreter holds them: str → string, int → integral number, float →
 * PyFloat (or a non-integral number from JS), bool → boolean, None → null, list → Array, tuple →
 * Array marked with TUPLE, dict → Map (plain JS objects are read as dicts too), Undefined → an
 * UndefinedValue (JS undefined counts as one). str()/repr()/truthiness follow Python's.
 */

/**
 * A parse or render error. Its message is "<template name>:<line>: <what>" once located; errors
 * raised inside the interpreter (or by JS functions a template calls) are located by the
 * renderer that catches them, which keeps the original error as `cause`.
 */
export class TemplateError extends Error {
  templateName?: string;
  line?: number;
  /** The message without its location. */
  detail?: string;
}

/** A Python exception raised while evaluating, not yet located. */
export class PyError extends TemplateError {}

export function locate(err: unknown, name: string, line: number): TemplateError {
  if (err instanceof TemplateError && err.templateName !== undefined) return err;
  const detail = err instanceof Error ? err.message : String(err);
  const located = new TemplateError(`${name}:${line}: ${detail}`, { cause: err });
  located.templateName = name;
  located.line = line;
  located.detail = detail;
  return located;
}

export class PyFloat {
  readonly v: number;
  constructor(v: number) {
    this.v = v;
  }
}

export class UndefinedValue {
  readonly hint: string;
  constructor(hint: string) {
    this.hint = hint;
  }
  fail(): never {
    throw new PyError(this.hint);
  }
}
export const Undefined = new UndefinedValue("value is undefined");
export const isUndefined = (v: unknown): boolean => v === undefined || v instanceof UndefinedValue;
export const undefinedName = (name: string): UndefinedValue => new UndefinedValue(`'${name}' is undefined`);

/** Keyword arguments passed to a JS function, as its trailing argument. */
export class Kwargs {
  readonly values: Record<string, unknown>;
  constructor(values: Record<string, unknown>) {
    this.values = values;
  }
}

/** Jinja2's Markup: a string marked safe (|safe, |escape, |tojson). */
export class Markup {
  readonly s: string;
  constructor(s: string) {
    this.s = s;
  }
}

export class Namespace {
  readonly attrs = new Map<string, unknown>();
}

/** Marks template values callable from templates that are not JS functions (macros). */
export const CALLABLE = Symbol("callable");

export const TUPLE = Symbol("tuple");
export type Tuple = unknown[] & { [TUPLE]?: true };
export function tuple(items: unknown[]): unknown[] {
  (items as Tuple)[TUPLE] = true;
  return items;
}
export const isTuple = (v: unknown): boolean => Array.isArray(v) && (v as Tuple)[TUPLE] === true;

export const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};
export const isDict = (v: unknown): v is Map<unknown, unknown> | Record<string, unknown> => v instanceof Map || isPlainObject(v);
export const isInt = (v: unknown): boolean => (typeof v === "number" && Number.isInteger(v)) || typeof v === "bigint";
export const isFloat = (v: unknown): boolean => v instanceof PyFloat || (typeof v === "number" && !Number.isInteger(v));
export const isNumber = (v: unknown): boolean =>
  typeof v === "number" || typeof v === "boolean" || typeof v === "bigint" || v instanceof PyFloat;
export const isString = (v: unknown): v is string | Markup => typeof v === "string" || v instanceof Markup;
export const num = (v: unknown): number =>
  v instanceof PyFloat ? v.v : typeof v === "boolean" ? (v ? 1 : 0) : typeof v === "bigint" ? Number(v) : (v as number);
export const float = (n: number): PyFloat => new PyFloat(n);
export const asStr = (v: string | Markup): string => (typeof v === "string" ? v : v.s);

export function typeName(v: unknown): string {
  if (v === null) return "NoneType";
  if (isUndefined(v)) return "Undefined";
  switch (typeof v) {
    case "string":
      return "str";
    case "boolean":
      return "bool";
    case "bigint":
      return "int";
    case "number":
      return Number.isInteger(v) ? "int" : "float";
    case "function":
      return "function";
  }
  if (v instanceof PyFloat) return "float";
  if (Array.isArray(v)) return isTuple(v) ? "tuple" : "list";
  if (isDict(v)) return "dict";
  if (v instanceof Markup) return "Markup";
  if (v instanceof Namespace) return "Namespace";
  return (v as object).constructor?.name ?? "object";
}

/** Jinja2's object_type_repr, used in "has no attribute" messages. */
export function objectTypeRepr(v: unknown): string {
  if (v === null) return "'None'";
  if (isUndefined(v)) return "'Undefined'";
  return `'${typeName(v)} object'`;
}

export function floatRepr(n: number): string {
  if (Number.isNaN(n)) return "nan";
  if (!Number.isFinite(n)) return n > 0 ? "inf" : "-inf";
  if (n === 0) return Object.is(n, -0) ? "-0.0" : "0.0";
  const [mant, expStr] = n.toExponential().split("e") as [string, string];
  const exp = Number(expStr);
  if (exp < -4 || exp >= 16) return `${mant}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  const s = String(n);
  return s.includes(".") ? s : `${s}.0`;
}

function strRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === quote || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else if (c >= 0x80 && c < 0xa0) out += `\\x${c.toString(16)}`;
    else out += ch;
  }
  return out + quote;
}

function dictEntries(d: Map<unknown, unknown> | Record<string, unknown>): [unknown, unknown][] {
  return d instanceof Map ? [...d.entries()] : Object.entries(d);
}

export function repr(v: unknown): string {
  if (typeof v === "string") return strRepr(v);
  if (v instanceof Markup) return `Markup(${strRepr(v.s)})`;
  if (Array.isArray(v)) {
    const inner = v.map(repr).join(", ");
    if (!isTuple(v)) return `[${inner}]`;
    return v.length === 1 ? `(${inner},)` : `(${inner})`;
  }
  if (isDict(v))
    return `{${dictEntries(v)
      .map(([k, x]) => `${repr(k)}: ${repr(x)}`)
      .join(", ")}}`;
  if (typeof v === "object" && v !== null && typeof (v as { __repr__?: unknown }).__repr__ === "function") {
    return String((v as { __repr__: () => unknown }).__repr__());
  }
  return str(v);
}

export function str(v: unknown): string {
  switch (typeof v) {
    case "string":
      return v;
    case "number":
      return Number.isInteger(v) ? (Math.abs(v) < 1e21 ? String(v) : BigInt(v).toString()) : floatRepr(v);
    case "boolean":
      return v ? "True" : "False";
    case "undefined":
      return "";
    case "bigint":
      return v.toString();
    case "function":
      return `<function ${v.name || "<lambda>"}>`;
  }
  if (v === null) return "None";
  if (v instanceof PyFloat) return floatRepr(v.v);
  if (v instanceof UndefinedValue) return "";
  if (v instanceof Markup) return v.s;
  if (Array.isArray(v) || isDict(v)) return repr(v);
  if (v instanceof Namespace) return `<Namespace ${repr(v.attrs)}>`;
  const o = v as { __str__?: () => unknown; __repr__?: () => unknown };
  if (typeof o.__str__ === "function") return String(o.__str__());
  if (typeof o.__repr__ === "function") return String(o.__repr__());
  return String(v);
}

export function truthy(v: unknown): boolean {
  switch (typeof v) {
    case "string":
      return v.length > 0;
    case "number":
      return v !== 0 && !Number.isNaN(v);
    case "boolean":
      return v;
    case "undefined":
      return false;
    case "function":
      return true;
  }
  if (v === null || v instanceof UndefinedValue) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Map) return v.size > 0;
  if (v instanceof PyFloat) return v.v !== 0 && !Number.isNaN(v.v);
  if (v instanceof Markup) return v.s.length > 0;
  if (isPlainObject(v)) {
    for (const _ in v) return true;
    return false;
  }
  const b = (v as { __bool__?: () => unknown }).__bool__;
  return typeof b === "function" ? Boolean(b.call(v)) : true;
}

/** Template value → plain JS: dicts → objects, tuples → arrays, floats → numbers. */
export function toJs(v: unknown): unknown {
  if (v instanceof PyFloat) return v.v;
  if (v instanceof UndefinedValue) return undefined;
  if (v instanceof Markup) return v.s;
  if (Array.isArray(v)) return v.map(toJs);
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) o[str(k)] = toJs(x);
    return o;
  }
  if (v instanceof Namespace) return toJs(v.attrs);
  if (isPlainObject(v)) {
    const o: Record<string, unknown> = {};
    for (const k in v) o[k] = toJs(v[k]);
    return o;
  }
  return v;
}

/** Plain JS → template values: objects → dicts, non-integral numbers stay floats. */
export function fromJs(v: unknown): unknown {
  if (v === undefined) return Undefined;
  if (Array.isArray(v)) return v.map(fromJs);
  if (isPlainObject(v)) {
    const m = new Map<unknown, unknown>();
    for (const k in v) m.set(k, fromJs(v[k]));
    return m;
  }
  return v;
}
