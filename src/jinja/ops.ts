/** Python's operators on template values: arithmetic, comparison, `in`, iteration and len(). */
import { percentFormat } from "./format.ts";
import {
  asStr,
  float,
  isDict,
  isFloat,
  isNumber,
  isString,
  isTuple,
  isUndefined,
  Markup,
  Namespace,
  num,
  PyError,
  PyFloat,
  str,
  tuple,
  typeName,
  UndefinedValue,
} from "./values.ts";

const failUndefined = (v: unknown): never => {
  if (v instanceof UndefinedValue) v.fail();
  throw new PyError("value is undefined");
};

const escapeIfPlain = (v: string | Markup): string =>
  v instanceof Markup
    ? v.s
    : v.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&#34;").replace(/'/g, "&#39;");

function operandError(op: string, a: unknown, b: unknown): never {
  if (isUndefined(a)) failUndefined(a);
  if (isUndefined(b)) failUndefined(b);
  if (op === "+" && (typeof a === "string" || Array.isArray(a))) {
    const t = typeName(a);
    throw new PyError(`can only concatenate ${t} (not "${typeName(b)}") to ${t}`);
  }
  throw new PyError(`unsupported operand type(s) for ${op}: '${typeName(a)}' and '${typeName(b)}'`);
}

const numResult = (n: number, asFloat: boolean): unknown => (asFloat ? float(n) : n);

const bigOf = (v: unknown): bigint => (typeof v === "bigint" ? v : BigInt(num(v)));

/** Python ints are unbounded: an int result past 2**53 is computed again with BigInt. */
function bigIntOp(op: string, a: unknown, b: unknown): unknown {
  const x = bigOf(a);
  const y = bigOf(b);
  let r: bigint;
  switch (op) {
    case "+":
      r = x + y;
      break;
    case "-":
      r = x - y;
      break;
    case "*":
      r = x * y;
      break;
    case "**":
      r = x ** y;
      break;
    default:
      return undefined;
  }
  return r >= BigInt(Number.MIN_SAFE_INTEGER) && r <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(r) : r;
}

const isIntLike = (v: unknown): boolean =>
  typeof v === "bigint" || typeof v === "boolean" || (typeof v === "number" && Number.isInteger(v));

export function binary(op: string, a: unknown, b: unknown): unknown {
  if ((typeof a === "bigint" || typeof b === "bigint") && isIntLike(a) && isIntLike(b) && op !== "/" && !(op === "**" && num(b) < 0)) {
    const r = bigIntOp(op, a, b);
    if (r !== undefined) return r;
  }
  if (isNumber(a) && isNumber(b)) {
    const x = num(a);
    const y = num(b);
    const f = isFloat(a) || isFloat(b);
    switch (op) {
      case "+":
      case "-":
      case "*": {
        const r = op === "+" ? x + y : op === "-" ? x - y : x * y;
        return !f && !Number.isSafeInteger(r) ? bigIntOp(op, a, b) : numResult(r, f);
      }
      case "/":
        if (y === 0) throw new PyError("division by zero");
        return float(x / y);
      case "//":
        if (y === 0) throw new PyError(f ? "float floor division by zero" : "integer division or modulo by zero");
        return numResult(Math.floor(x / y), f);
      case "%": {
        if (y === 0) throw new PyError(f ? "float modulo" : "integer division or modulo by zero");
        const m = x % y;
        return numResult(m !== 0 && m < 0 !== y < 0 ? m + y : m, f);
      }
      case "**":
        if (!f && y < 0) return float(x ** y);
        if (!f && !Number.isSafeInteger(x ** y)) return bigIntOp(op, a, b);
        return numResult(x ** y, f);
    }
  }
  if (op === "+") {
    if (a instanceof Markup || b instanceof Markup) {
      if (isString(a) && isString(b)) return new Markup(escapeIfPlain(a) + escapeIfPlain(b));
    }
    if (isString(a) && isString(b)) return asStr(a) + asStr(b);
    if (Array.isArray(a) && Array.isArray(b) && isTuple(a) === isTuple(b)) {
      const r = a.concat(b);
      return isTuple(a) ? tuple(r) : r;
    }
  } else if (op === "*") {
    if (isString(a) && typeof b === "number" && Number.isInteger(b)) return asStr(a).repeat(Math.max(0, b));
    if (isString(b) && typeof a === "number" && Number.isInteger(a)) return asStr(b).repeat(Math.max(0, a));
    if (Array.isArray(a) && typeof b === "number" && Number.isInteger(b)) {
      const r: unknown[] = [];
      for (let i = 0; i < b; i++) r.push(...a);
      return isTuple(a) ? tuple(r) : r;
    }
  } else if (op === "%" && isString(a)) {
    return percentFormat(asStr(a), b);
  }
  return operandError(op, a, b);
}

export function negate(v: unknown): unknown {
  if (!isNumber(v)) {
    if (isUndefined(v)) failUndefined(v);
    throw new PyError(`bad operand type for unary -: '${typeName(v)}'`);
  }
  return isFloat(v) ? float(-num(v)) : -num(v);
}

export function plus(v: unknown): unknown {
  if (!isNumber(v)) {
    if (isUndefined(v)) failUndefined(v);
    throw new PyError(`bad operand type for unary +: '${typeName(v)}'`);
  }
  return typeof v === "boolean" ? num(v) : v;
}

export function eq(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === "string" || typeof b === "string") {
    return isString(a) && isString(b) && asStr(a) === asStr(b);
  }
  if (isNumber(a) && isNumber(b)) return num(a) === num(b);
  if (a instanceof Markup || b instanceof Markup) return isString(a) && isString(b) && asStr(a) === asStr(b);
  if (isUndefined(a) || isUndefined(b)) return isUndefined(a) && isUndefined(b);
  if (Array.isArray(a) && Array.isArray(b)) {
    if (isTuple(a) !== isTuple(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!eq(a[i], b[i])) return false;
    return true;
  }
  if (isDict(a) && isDict(b)) {
    const ka = dictKeys(a);
    if (ka.length !== dictKeys(b).length) return false;
    for (const k of ka) {
      if (!dictHas(b, k) || !eq(dictGet(a, k), dictGet(b, k))) return false;
    }
    return true;
  }
  if (a instanceof Namespace && b instanceof Namespace) return eq(a.attrs, b.attrs);
  return false;
}

/** -1, 0 or 1 as Python orders a and b; TypeError across types. */
export function cmp(a: unknown, b: unknown, op = "<"): number {
  if (isNumber(a) && isNumber(b)) {
    const x = num(a);
    const y = num(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (isString(a) && isString(b)) {
    const x = asStr(a);
    const y = asStr(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (Array.isArray(a) && Array.isArray(b) && isTuple(a) === isTuple(b)) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      if (!eq(a[i], b[i])) return cmp(a[i], b[i], op);
    }
    return a.length - b.length < 0 ? -1 : a.length > b.length ? 1 : 0;
  }
  if (isUndefined(a)) failUndefined(a);
  if (isUndefined(b)) failUndefined(b);
  throw new PyError(`'${op}' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`);
}

export function compare(op: string, a: unknown, b: unknown): boolean {
  switch (op) {
    case "==":
      return eq(a, b);
    case "!=":
      return !eq(a, b);
    case "<":
      return cmp(a, b, op) < 0;
    case "<=":
      return cmp(a, b, op) <= 0;
    case ">":
      return cmp(a, b, op) > 0;
    case ">=":
      return cmp(a, b, op) >= 0;
    case "in":
      return contains(b, a);
    case "not in":
      return !contains(b, a);
  }
  throw new PyError(`unknown operator ${op}`);
}

export function contains(container: unknown, item: unknown): boolean {
  if (isString(container)) {
    if (!isString(item)) throw new PyError(`'in <string>' requires string as left operand, not ${typeName(item)}`);
    return asStr(container).includes(asStr(item));
  }
  if (Array.isArray(container)) {
    for (const x of container) if (eq(x, item)) return true;
    return false;
  }
  if (isDict(container)) return dictHas(container, item);
  if (isUndefined(container)) return false;
  if (container instanceof Namespace) return container.attrs.has(str(item));
  throw new PyError(`argument of type '${typeName(container)}' is not iterable`);
}

// Dicts are Maps or plain objects; these read both.
type Dict = Map<unknown, unknown> | Record<string, unknown>;
export const dictKey = (k: unknown): unknown => (k instanceof PyFloat && Number.isInteger(k.v) ? k.v : k instanceof Markup ? k.s : k);
export function dictHas(d: Dict, k: unknown): boolean {
  if (d instanceof Map) return d.has(dictKey(k));
  return typeof k === "string" && Object.hasOwn(d, k);
}
export function dictGet(d: Dict, k: unknown): unknown {
  if (d instanceof Map) return d.get(dictKey(k));
  return typeof k === "string" && Object.hasOwn(d, k) ? d[k] : undefined;
}
export function dictSet(d: Dict, k: unknown, v: unknown): void {
  if (d instanceof Map) d.set(dictKey(k), v);
  else d[str(k)] = v;
}
export function dictDelete(d: Dict, k: unknown): void {
  if (d instanceof Map) d.delete(dictKey(k));
  else if (typeof k === "string") delete d[k];
}
export function dictKeys(d: Dict): unknown[] {
  return d instanceof Map ? [...d.keys()] : Object.keys(d);
}
export function dictEntries(d: Dict): [unknown, unknown][] {
  return d instanceof Map ? [...d.entries()] : Object.entries(d);
}

/** Python's iter(): a list of the items (strings → characters, dicts → keys). */
export function iterate(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (isString(v)) return [...asStr(v)];
  if (isDict(v)) return dictKeys(v);
  if (isUndefined(v)) return [];
  if (v instanceof Namespace) return [...v.attrs.keys()];
  if (v !== null && typeof v === "object") {
    const it = (v as { [Symbol.iterator]?: () => Iterator<unknown> })[Symbol.iterator];
    if (typeof it === "function") return [...(v as Iterable<unknown>)];
  }
  throw new PyError(`'${typeName(v)}' object is not iterable`);
}

export function len(v: unknown): number {
  if (Array.isArray(v)) return v.length;
  if (typeof v === "string") return [...v].length;
  if (v instanceof Markup) return [...v.s].length;
  if (v instanceof Map) return v.size;
  if (isDict(v)) return Object.keys(v).length;
  if (isUndefined(v)) return 0;
  throw new PyError(`object of type '${typeName(v)}' has no len()`);
}
