/** Python's str, list and dict methods, called from templates as `value.method(...)`. */
import { getattr, getitem } from "./access.ts";
import { formatSpec } from "./format.ts";
import { cmp, dictDelete, dictEntries, dictGet, dictHas, dictKeys, dictSet, eq, iterate } from "./ops.ts";
import {
  asStr,
  isDict,
  isString,
  isTuple,
  isUndefined,
  Markup,
  objectTypeRepr,
  PyError,
  repr,
  str,
  truthy,
  tuple,
  typeName,
} from "./values.ts";

type Kw = Record<string, unknown> | null;
type Method = (self: never, args: unknown[], kw: Kw) => unknown;

/** Positional or keyword argument i (named `name`), or `dflt` when absent. */
function arg(args: unknown[], kw: Kw, i: number, name: string, dflt: unknown): unknown {
  if (i < args.length) return args[i];
  if (kw && name in kw) return kw[name];
  return dflt;
}

const none = (v: unknown): boolean => v === null || isUndefined(v);
const WS = /\s+/;

function strip(s: string, chars: unknown, left: boolean, right: boolean): string {
  if (none(chars)) {
    if (left && right) return s.trim();
    return left ? s.trimStart() : s.trimEnd();
  }
  const set = new Set(asStr(chars as string));
  let a = 0;
  let b = s.length;
  if (left) while (a < b && set.has(s[a]!)) a++;
  if (right) while (b > a && set.has(s[b - 1]!)) b--;
  return s.slice(a, b);
}

function split(s: string, sep: unknown, maxsplit: number, fromRight: boolean): string[] {
  let parts: string[];
  if (none(sep)) {
    const t = s.trim();
    if (!t) return [];
    parts = t.split(WS);
    if (maxsplit < 0 || parts.length <= maxsplit) return parts;
    if (!fromRight) {
      const head = parts.slice(0, maxsplit);
      let rest = s.trimStart();
      for (const h of head) rest = rest.slice(h.length).trimStart();
      return [...head, rest];
    }
    const tail = parts.slice(parts.length - maxsplit);
    let rest = s.trimEnd();
    for (const h of [...tail].reverse()) rest = rest.slice(0, rest.length - h.length).trimEnd();
    return [rest, ...tail];
  }
  const sp = asStr(sep as string);
  if (!sp) throw new PyError("empty separator");
  parts = s.split(sp);
  if (maxsplit < 0 || parts.length <= maxsplit + 1) return parts;
  if (!fromRight) return [...parts.slice(0, maxsplit), parts.slice(maxsplit).join(sp)];
  return [parts.slice(0, parts.length - maxsplit).join(sp), ...parts.slice(parts.length - maxsplit)];
}

// Python's line boundaries: \n \r \r\n \v \f \x1c \x1d \x1e \x85 \u2028 \u2029.
const LINE_BREAKS = new Set([10, 13, 11, 12, 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029]);
function splitlines(s: string, keep: boolean): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!LINE_BREAKS.has(c)) continue;
    const end = c === 13 && s.charCodeAt(i + 1) === 10 ? i + 2 : i + 1;
    out.push(s.slice(start, keep ? end : i));
    start = end;
    i = end - 1;
  }
  if (start < s.length) out.push(s.slice(start));
  return out;
}

const isCased = (c: string) => c.toLowerCase() !== c.toUpperCase();

function title(s: string): string {
  let prevCased = false;
  let out = "";
  for (const c of s) {
    out += prevCased ? c.toLowerCase() : c.toUpperCase();
    prevCased = isCased(c);
  }
  return out;
}

function justify(s: string, width: unknown, fill: unknown, how: "l" | "r" | "c"): string {
  const w = Number(width);
  const f = none(fill) ? " " : asStr(fill as string);
  const n = w - [...s].length;
  if (n <= 0) return s;
  if (how === "l") return s + f.repeat(n);
  if (how === "r") return f.repeat(n) + s;
  const left = Math.floor(n / 2) + (n & w & 1);
  return f.repeat(left) + s + f.repeat(n - left);
}

function prefixTest(s: string, prefix: unknown, start: unknown, end: unknown, atEnd: boolean): boolean {
  const sub = s.slice(none(start) ? 0 : Number(start), none(end) ? undefined : Number(end));
  const candidates = Array.isArray(prefix) ? prefix : [prefix];
  return candidates.some((p) => {
    if (!isString(p)) throw new PyError(`${atEnd ? "endswith" : "startswith"} first arg must be str or a tuple of str, not ${typeName(p)}`);
    return atEnd ? sub.endsWith(asStr(p)) : sub.startsWith(asStr(p));
  });
}

/** str.format(): positional/keyword fields with .attr and [key] lookups, !r/!s, format specs. */
export function strFormat(fmt: string, args: unknown[], kw: Kw): string {
  let auto = 0;
  return fmt.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (all, field: string | undefined) => {
    if (all === "{{") return "{";
    if (all === "}}") return "}";
    const m = /^([^.[!:]*)((?:\.[^.[!:]+|\[[^\]]*\])*)(?:!([rsa]))?(?::(.*))?$/s.exec(field!);
    if (!m) throw new PyError(`bad format field '${field}'`);
    const [, head, chain, conv, spec] = m;
    let v: unknown;
    if (head === "") {
      if (auto >= args.length) throw new PyError(`Replacement index ${auto} out of range for positional args tuple`);
      v = args[auto++];
    } else if (/^\d+$/.test(head!)) {
      const i = Number(head);
      if (i >= args.length) throw new PyError(`Replacement index ${i} out of range for positional args tuple`);
      v = args[i];
    } else {
      if (!kw || !(head! in kw)) throw new PyError(`KeyError: '${head}'`);
      v = kw[head!];
    }
    for (const part of chain!.match(/\.[^.[]+|\[[^\]]*\]/g) ?? []) {
      if (part.startsWith(".")) v = getattr(v, part.slice(1));
      else {
        const k = part.slice(1, -1);
        v = getitem(v, /^\d+$/.test(k) ? Number(k) : k);
      }
    }
    if (conv === "r" || conv === "a") v = repr(v);
    else if (conv === "s") v = str(v);
    return formatSpec(v, spec ?? "");
  });
}

const STR: Record<string, (s: string, a: unknown[], kw: Kw) => unknown> = {
  upper: (s) => s.toUpperCase(),
  lower: (s) => s.toLowerCase(),
  casefold: (s) => s.toLowerCase(),
  swapcase: (s) => [...s].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join(""),
  strip: (s, a, kw) => strip(s, arg(a, kw, 0, "chars", null), true, true),
  lstrip: (s, a, kw) => strip(s, arg(a, kw, 0, "chars", null), true, false),
  rstrip: (s, a, kw) => strip(s, arg(a, kw, 0, "chars", null), false, true),
  split: (s, a, kw) => split(s, arg(a, kw, 0, "sep", null), Number(arg(a, kw, 1, "maxsplit", -1)), false),
  rsplit: (s, a, kw) => split(s, arg(a, kw, 0, "sep", null), Number(arg(a, kw, 1, "maxsplit", -1)), true),
  splitlines: (s, a, kw) => splitlines(s, truthy(arg(a, kw, 0, "keepends", false))),
  replace: (s, a, kw) => {
    const old = asStr(arg(a, kw, 0, "old", "") as string);
    const neu = asStr(arg(a, kw, 1, "new", "") as string);
    const count = Number(arg(a, kw, 2, "count", -1));
    if (old === "") {
      // Python puts `new` before every character and at the end, up to `count` times.
      const chars = [...s];
      let out = "";
      for (let i = 0; i <= chars.length; i++) {
        if (count < 0 || i < count) out += neu;
        if (i < chars.length) out += chars[i];
      }
      return out;
    }
    const parts = s.split(old);
    if (count < 0 || parts.length - 1 <= count) return parts.join(neu);
    return parts.slice(0, count + 1).join(neu) + old + parts.slice(count + 1).join(old);
  },
  startswith: (s, a, kw) => prefixTest(s, arg(a, kw, 0, "prefix", ""), arg(a, kw, 1, "start", null), arg(a, kw, 2, "end", null), false),
  endswith: (s, a, kw) => prefixTest(s, arg(a, kw, 0, "suffix", ""), arg(a, kw, 1, "start", null), arg(a, kw, 2, "end", null), true),
  format: (s, a, kw) => strFormat(s, a, kw),
  join: (s, a) =>
    iterate(a[0])
      .map((x, i) => {
        if (!isString(x)) throw new PyError(`sequence item ${i}: expected str instance, ${typeName(x)} found`);
        return asStr(x);
      })
      .join(s),
  find: (s, a) => s.indexOf(asStr(a[0] as string), none(a[1]) ? 0 : Number(a[1])),
  rfind: (s, a) => s.lastIndexOf(asStr(a[0] as string)),
  index: (s, a) => {
    const i = s.indexOf(asStr(a[0] as string), none(a[1]) ? 0 : Number(a[1]));
    if (i < 0) throw new PyError("substring not found");
    return i;
  },
  rindex: (s, a) => {
    const i = s.lastIndexOf(asStr(a[0] as string));
    if (i < 0) throw new PyError("substring not found");
    return i;
  },
  count: (s, a) => {
    const sub = asStr(a[0] as string);
    return sub ? s.split(sub).length - 1 : [...s].length + 1;
  },
  title: (s) => title(s),
  capitalize: (s) => (s ? s[0]!.toUpperCase() + s.slice(1).toLowerCase() : s),
  isdigit: (s) => /^\d+$/u.test(s),
  isnumeric: (s) => /^\p{N}+$/u.test(s),
  isdecimal: (s) => /^\d+$/u.test(s),
  isalpha: (s) => /^\p{L}+$/u.test(s),
  isalnum: (s) => /^[\p{L}\p{N}]+$/u.test(s),
  isupper: (s) => [...s].some(isCased) && s === s.toUpperCase(),
  islower: (s) => [...s].some(isCased) && s === s.toLowerCase(),
  isspace: (s) => /^\s+$/.test(s),
  istitle: (s) => [...s].some(isCased) && s === title(s),
  isidentifier: (s) => /^[\p{L}_][\p{L}\p{N}_]*$/u.test(s),
  zfill: (s, a) => {
    const w = Number(a[0]);
    const sign = s[0] === "-" || s[0] === "+" ? s[0] : "";
    return sign + s.slice(sign.length).padStart(w - sign.length, "0");
  },
  partition: (s, a) => {
    const sep = asStr(a[0] as string);
    const i = s.indexOf(sep);
    return i < 0 ? tuple([s, "", ""]) : tuple([s.slice(0, i), sep, s.slice(i + sep.length)]);
  },
  rpartition: (s, a) => {
    const sep = asStr(a[0] as string);
    const i = s.lastIndexOf(sep);
    return i < 0 ? tuple(["", "", s]) : tuple([s.slice(0, i), sep, s.slice(i + sep.length)]);
  },
  ljust: (s, a) => justify(s, a[0], a[1], "l"),
  rjust: (s, a) => justify(s, a[0], a[1], "r"),
  center: (s, a) => justify(s, a[0], a[1], "c"),
  removeprefix: (s, a) => (s.startsWith(asStr(a[0] as string)) ? s.slice(asStr(a[0] as string).length) : s),
  removesuffix: (s, a) => {
    const x = asStr(a[0] as string);
    return x && s.endsWith(x) ? s.slice(0, -x.length) : s;
  },
  encode: (s) => s,
};

function listIndex(l: unknown[], x: unknown): number {
  for (let i = 0; i < l.length; i++) if (eq(l[i], x)) return i;
  throw new PyError(`${repr(x)} is not in list`);
}

function sortKey(kw: Kw): ((x: unknown) => unknown) | null {
  const key = kw?.key;
  if (none(key)) return null;
  if (typeof key !== "function") throw new PyError(`'${typeName(key)}' object is not callable`);
  return (x) => key(x);
}

const TUPLE_METHODS = new Set(["index", "count"]);
const LIST: Record<string, (l: unknown[], a: unknown[], kw: Kw) => unknown> = {
  append: (l, a) => {
    l.push(a[0]);
    return null;
  },
  extend: (l, a) => {
    l.push(...iterate(a[0]));
    return null;
  },
  insert: (l, a) => {
    let i = Number(a[0]);
    if (i < 0) i = Math.max(0, l.length + i);
    l.splice(i, 0, a[1]);
    return null;
  },
  pop: (l, a) => {
    if (!l.length) throw new PyError("pop from empty list");
    let i = a.length ? Number(a[0]) : -1;
    if (i < 0) i += l.length;
    if (i < 0 || i >= l.length) throw new PyError("pop index out of range");
    return l.splice(i, 1)[0];
  },
  remove: (l, a) => {
    const i = l.findIndex((x) => eq(x, a[0]));
    if (i < 0) throw new PyError("list.remove(x): x not in list");
    l.splice(i, 1);
    return null;
  },
  index: (l, a) => listIndex(l, a[0]),
  count: (l, a) => l.filter((x) => eq(x, a[0])).length,
  reverse: (l) => {
    l.reverse();
    return null;
  },
  sort: (l, _a, kw) => {
    const key = sortKey(kw);
    const keyed = l.map((x) => [key ? key(x) : x, x] as const);
    keyed.sort((x, y) => cmp(x[0], y[0]));
    if (truthy(kw?.reverse)) keyed.reverse();
    keyed.forEach((k, i) => {
      l[i] = k[1];
    });
    return null;
  },
  copy: (l) => l.slice(),
  clear: (l) => {
    l.length = 0;
    return null;
  },
};

type Dict = Map<unknown, unknown> | Record<string, unknown>;
const DICT: Record<string, (d: Dict, a: unknown[], kw: Kw) => unknown> = {
  get: (d, a, kw) => (dictHas(d, a[0]) ? dictGet(d, a[0]) : arg(a, kw, 1, "default", null)),
  items: (d) => dictEntries(d).map((e) => tuple(e)),
  keys: (d) => dictKeys(d),
  values: (d) => dictEntries(d).map((e) => e[1]),
  update: (d, a, kw) => {
    const other = a[0];
    if (other !== undefined) {
      if (isDict(other)) for (const [k, v] of dictEntries(other)) dictSet(d, k, v);
      else for (const pair of iterate(other)) dictSet(d, getitem(pair, 0), getitem(pair, 1));
    }
    if (kw) for (const k in kw) dictSet(d, k, kw[k]);
    return null;
  },
  pop: (d, a) => {
    if (dictHas(d, a[0])) {
      const v = dictGet(d, a[0]);
      dictDelete(d, a[0]);
      return v;
    }
    if (a.length > 1) return a[1];
    throw new PyError(`KeyError: ${repr(a[0])}`);
  },
  setdefault: (d, a) => {
    if (!dictHas(d, a[0])) dictSet(d, a[0], a.length > 1 ? a[1] : null);
    return dictGet(d, a[0]);
  },
  copy: (d) => new Map(dictEntries(d)),
  clear: (d) => {
    for (const k of dictKeys(d)) dictDelete(d, k);
    return null;
  },
  popitem: (d) => {
    const entries = dictEntries(d);
    if (!entries.length) throw new PyError("popitem(): dictionary is empty");
    const last = entries[entries.length - 1]!;
    dictDelete(d, last[0]);
    return tuple(last);
  },
};

function table(obj: unknown): Record<string, Method> | null {
  if (typeof obj === "string" || obj instanceof Markup) return STR as Record<string, Method>;
  if (Array.isArray(obj)) return LIST as Record<string, Method>;
  if (isDict(obj)) return DICT as Record<string, Method>;
  return null;
}

export function hasMethod(obj: unknown, name: string): boolean {
  const t = table(obj);
  if (!t || !Object.hasOwn(t, name)) return false;
  return !isTuple(obj) || TUPLE_METHODS.has(name);
}

export function callMethod(obj: unknown, name: string, args: unknown[], kw: Kw): unknown {
  if (!hasMethod(obj, name)) throw new PyError(`${objectTypeRepr(obj)} has no attribute '${name}'`);
  const self = obj instanceof Markup ? obj.s : obj;
  return table(obj)![name]!(self as never, args, kw);
}
