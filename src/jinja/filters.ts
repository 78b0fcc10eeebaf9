/** Jinja2's builtin filters (jinja2/filters.py), with their Python signatures. */
import { GROUP, getattr, getitem } from "./access.ts";
import { bindArgs, type ParamSpec, parseParams } from "./builtins.ts";
import { percentFormat, pyRound } from "./format.ts";
import { tojson } from "./json.ts";
import { callMethod, hasMethod } from "./methods.ts";
import { binary, cmp, contains, dictEntries, eq, iterate, len } from "./ops.ts";
import { applyTest } from "./tests.ts";
import {
  asStr,
  float,
  isDict,
  isFloat,
  isNumber,
  isString,
  isUndefined,
  Markup,
  num,
  PyError,
  repr,
  str,
  truthy,
  tuple,
  typeName,
  UndefinedValue,
} from "./values.ts";

type P = Record<string, unknown>;
const given = (v: unknown): boolean => v !== undefined && v !== null;
const lowerIfStr = (v: unknown): unknown => (isString(v) ? asStr(v).toLowerCase() : v);

/** Jinja2's make_attrgetter: "a.b.0" read item-first, with an optional default and postprocess. */
function attrGetter(attribute: unknown, lower: boolean, dflt?: unknown): (x: unknown) => unknown {
  if (!given(attribute)) return lower ? lowerIfStr : (x) => x;
  const parts = isString(attribute)
    ? asStr(attribute)
        .split(".")
        .map((p) => (/^\d+$/.test(p) ? Number(p) : p))
    : [attribute];
  return (x) => {
    let v = x;
    for (const p of parts) v = getitem(v, p);
    if (isUndefined(v) && dflt !== undefined) v = dflt;
    return lower ? lowerIfStr(v) : v;
  };
}

function sortedBy(items: unknown[], key: (x: unknown) => unknown, reverse: boolean): unknown[] {
  const keyed = items.map((x) => [key(x), x] as const);
  keyed.sort((a, b) => cmp(a[0], b[0]));
  if (reverse) keyed.reverse();
  return keyed.map((k) => k[1]);
}

function pyInt(v: unknown, dflt: unknown, base: number): unknown {
  if (isString(v)) {
    const s = asStr(v)
      .trim()
      .replace(/(\d)_(?=\d)/g, "$1");
    const re =
      base === 16 ? /^[+-]?(0x)?[\da-f]+$/i : base === 8 ? /^[+-]?(0o)?[0-7]+$/i : base === 2 ? /^[+-]?(0b)?[01]+$/i : /^[+-]?\d+$/;
    if (re.test(s)) return Number.parseInt(s.replace(/0[xob]/i, ""), base);
    const f = pyFloat(v, null);
    return f === null || !Number.isFinite(num(f)) ? dflt : Math.trunc(num(f));
  }
  if (isNumber(v)) return Math.trunc(num(v));
  return dflt;
}

function pyFloat(v: unknown, dflt: unknown): unknown {
  if (isNumber(v)) return float(num(v));
  if (isString(v)) {
    const s = asStr(v)
      .trim()
      .replace(/(\d)_(?=\d)/g, "$1")
      .toLowerCase();
    if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(s)) return float(Number(s));
    if (/^[+-]?(inf|infinity)$/.test(s)) return float(s.startsWith("-") ? -Infinity : Infinity);
    if (/^[+-]?nan$/.test(s)) return float(Number.NaN);
  }
  return dflt;
}

function urlQuote(v: unknown, forQs: boolean): string {
  const s = encodeURIComponent(str(v)).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return forQs ? s.replace(/%20/g, "+") : s.replace(/%2F/g, "/");
}

function indent(s: string, width: unknown, first: boolean, blank: boolean): string {
  const ind = isString(width) ? asStr(width) : " ".repeat(num(width));
  const text = `${s}\n`;
  const lines = text.split(/\r\n|\r|\n/).slice(0, -1);
  let rv: string;
  if (blank) rv = lines.join(`\n${ind}`);
  else {
    rv = lines.shift() ?? "";
    if (lines.length) rv += `\n${lines.map((l) => (l ? ind + l : l)).join("\n")}`;
  }
  return first ? ind + rv : rv;
}

function escapeHtml(v: unknown): Markup {
  if (v instanceof Markup) return v;
  return new Markup(
    str(v).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&#34;").replace(/'/g, "&#39;"),
  );
}

function selectOrReject(items: unknown[], args: unknown[], kw: P | null, select: boolean, attr: boolean): unknown[] {
  let getter: (x: unknown) => unknown = (x) => x;
  let rest = args;
  if (attr) {
    if (!args.length) throw new PyError("Missing parameter for attribute name");
    getter = attrGetter(args[0], false);
    rest = args.slice(1);
  }
  let test: (x: unknown) => boolean;
  if (rest.length) {
    const name = str(rest[0]);
    const targs = rest.slice(1);
    test = (x) => applyTest(name, x, targs, kw);
  } else test = truthy;
  return items.filter((x) => test(getter(x)) === select);
}

function minMax(v: unknown, p: P, sign: number): unknown {
  const items = iterate(v);
  if (!items.length) return new UndefinedValue("No aggregated item, sequence was empty.");
  const key = attrGetter(p.attribute, !truthy(p.case_sensitive));
  let best = items[0];
  let bestKey = key(best);
  for (const x of items.slice(1)) {
    const k = key(x);
    if (cmp(k, bestKey) * sign > 0) {
      best = x;
      bestKey = k;
    }
  }
  return best;
}

function truncate(s: string, p: P): string {
  const length = given(p.length) ? num(p.length) : 255;
  const end = given(p.end) ? str(p.end) : "...";
  const leeway = given(p.leeway) ? num(p.leeway) : 5;
  if ([...s].length <= length + leeway) return s;
  if (truthy(p.killwords)) return s.slice(0, length - end.length) + end;
  const head = s.slice(0, length - end.length);
  const cut = head.lastIndexOf(" ");
  return (cut < 0 ? head : head.slice(0, cut)) + end;
}

type Filter = [params: string[], fn: (v: unknown, p: P, args: unknown[], kw: P | null) => unknown];

const FILTERS: Record<string, Filter> = {
  abs: [
    [],
    (v) => {
      if (!isNumber(v)) throw new PyError(`bad operand type for abs(): '${typeName(v)}'`);
      return isFloat(v) ? float(Math.abs(num(v))) : Math.abs(num(v));
    },
  ],
  attr: [
    ["name"],
    (v, p) =>
      isDict(v) && !hasMethod(v, str(p.name))
        ? new UndefinedValue(`'dict object' has no attribute ${repr(p.name)}`)
        : getattr(v, str(p.name)),
  ],
  batch: [
    ["linecount", "fill_with?"],
    (v, p) => {
      const n = num(p.linecount);
      const out: unknown[][] = [];
      let tmp: unknown[] = [];
      for (const x of iterate(v)) {
        if (tmp.length === n) {
          out.push(tmp);
          tmp = [];
        }
        tmp.push(x);
      }
      if (tmp.length) {
        if (given(p.fill_with)) while (tmp.length < n) tmp.push(p.fill_with);
        out.push(tmp);
      }
      return out;
    },
  ],
  capitalize: [[], (v) => callMethod(str(v), "capitalize", [], null)],
  center: [["width?"], (v, p) => callMethod(str(v), "center", [given(p.width) ? p.width : 80], null)],
  count: [[], (v) => len(v)],
  length: [[], (v) => len(v)],
  default: [
    ["default_value?", "boolean?"],
    (v, p) => (isUndefined(v) || (truthy(p.boolean) && !truthy(v)) ? ("default_value" in p ? p.default_value : "") : v),
  ],
  dictsort: [
    ["case_sensitive?", "by?", "reverse?"],
    (v, p) => {
      if (!isDict(v)) throw new PyError(`'${typeName(v)}' object has no attribute 'items'`);
      const by = given(p.by) ? str(p.by) : "key";
      if (by !== "key" && by !== "value") throw new PyError('You can only sort by either "key" or "value"');
      const pos = by === "key" ? 0 : 1;
      const lower = !truthy(p.case_sensitive);
      const items = dictEntries(v).map((e) => tuple(e));
      return sortedBy(items, (x) => (lower ? lowerIfStr((x as unknown[])[pos]) : (x as unknown[])[pos]), truthy(p.reverse));
    },
  ],
  escape: [[], escapeHtml],
  forceescape: [[], (v) => escapeHtml(str(v))],
  first: [
    [],
    (v) => {
      const items = iterate(v);
      return items.length ? items[0] : new UndefinedValue("No first item, sequence was empty.");
    },
  ],
  last: [
    [],
    (v) => {
      const items = iterate(v);
      return items.length ? items[items.length - 1] : new UndefinedValue("No last item, sequence was empty.");
    },
  ],
  float: [["default?"], (v, p) => pyFloat(v, p.default ?? float(0))],
  int: [["default?", "base?"], (v, p) => pyInt(v, p.default ?? 0, given(p.base) ? num(p.base) : 10)],
  format: [
    ["*args", "**kwargs"],
    (v, p) => {
      const args = p.args as unknown[];
      const kw = p.kwargs as P;
      if (args.length && Object.keys(kw).length) throw new PyError("can't handle positional and keyword arguments at the same time");
      return percentFormat(str(v), Object.keys(kw).length ? new Map(Object.entries(kw)) : tuple(args));
    },
  ],
  groupby: [
    ["attribute", "default?", "case_sensitive?"],
    (v, p) => {
      const cs = truthy(p.case_sensitive);
      const key = attrGetter(p.attribute, !cs, p.default);
      const raw = attrGetter(p.attribute, false, p.default);
      const groups: unknown[][] = [];
      let lastKey: unknown;
      for (const x of sortedBy(iterate(v), key, false)) {
        const k = key(x);
        const g = groups[groups.length - 1];
        if (g && eq(k, lastKey)) (g[1] as unknown[]).push(x);
        else {
          const t = tuple([raw(x), [x]]);
          (t as unknown as Record<symbol, boolean>)[GROUP] = true;
          groups.push(t);
        }
        lastKey = k;
      }
      return groups;
    },
  ],
  indent: [["width?", "first?", "blank?"], (v, p) => indent(str(v), given(p.width) ? p.width : 4, truthy(p.first), truthy(p.blank))],
  items: [
    [],
    (v) => {
      if (isUndefined(v)) return [];
      if (!isDict(v)) throw new PyError("Can only get item pairs from a mapping.");
      return dictEntries(v).map((e) => tuple(e));
    },
  ],
  join: [
    ["d?", "attribute?"],
    (v, p) => {
      const get = attrGetter(p.attribute, false);
      return iterate(v)
        .map((x) => str(get(x)))
        .join(given(p.d) ? str(p.d) : "");
    },
  ],
  list: [[], (v) => iterate(v).slice()],
  lower: [[], (v) => str(v).toLowerCase()],
  upper: [[], (v) => str(v).toUpperCase()],
  map: [
    ["*args", "**kwargs"],
    (v, p) => {
      const args = p.args as unknown[];
      const kw = p.kwargs as P;
      const items = iterate(v);
      if (!args.length && "attribute" in kw) {
        const get = attrGetter(kw.attribute, false, kw.default);
        return items.map(get);
      }
      if (!args.length) throw new PyError("map requires a filter argument");
      const name = str(args[0]);
      const rest = args.slice(1);
      const hasKw = Object.keys(kw).length > 0;
      return items.map((x) => applyFilter(name, x, rest, hasKw ? kw : null));
    },
  ],
  max: [["case_sensitive?", "attribute?"], (v, p) => minMax(v, p, 1)],
  min: [["case_sensitive?", "attribute?"], (v, p) => minMax(v, p, -1)],
  pprint: [[], (v) => repr(v)],
  reject: [["*args", "**kw"], (v, p) => selectOrReject(iterate(v), p.args as unknown[], null, false, false)],
  select: [["*args", "**kw"], (v, p) => selectOrReject(iterate(v), p.args as unknown[], null, true, false)],
  rejectattr: [["*args", "**kw"], (v, p) => selectOrReject(iterate(v), p.args as unknown[], null, false, true)],
  selectattr: [["*args", "**kw"], (v, p) => selectOrReject(iterate(v), p.args as unknown[], null, true, true)],
  replace: [
    ["old", "new", "count?"],
    (v, p) => callMethod(isString(v) ? asStr(v) : str(v), "replace", [str(p.old), str(p.new), given(p.count) ? p.count : -1], null),
  ],
  reverse: [
    [],
    (v) => {
      if (isString(v)) return [...asStr(v)].reverse().join("");
      return iterate(v).slice().reverse();
    },
  ],
  round: [
    ["precision?", "method?"],
    (v, p) => {
      const method = given(p.method) ? str(p.method) : "common";
      const prec = given(p.precision) ? num(p.precision) : 0;
      if (method !== "common" && method !== "ceil" && method !== "floor") throw new PyError("method must be common, ceil or floor");
      if (!isNumber(v)) throw new PyError(`type ${typeof v === "string" ? "str" : "object"} doesn't define __round__ method`);
      if (method === "common") return isFloat(v) ? float(pyRound(num(v), prec)) : prec >= 0 ? num(v) : pyRound(num(v), prec);
      const f = 10 ** prec;
      return float((method === "ceil" ? Math.ceil(num(v) * f) : Math.floor(num(v) * f)) / f);
    },
  ],
  safe: [[], (v) => (v instanceof Markup ? v : new Markup(str(v)))],
  slice: [
    ["slices", "fill_with?"],
    (v, p) => {
      const seq = iterate(v);
      const slices = num(p.slices);
      const per = Math.floor(seq.length / slices);
      const extra = seq.length % slices;
      let offset = 0;
      const out: unknown[][] = [];
      for (let i = 0; i < slices; i++) {
        const start = offset + i * per;
        if (i < extra) offset++;
        const tmp = seq.slice(start, offset + (i + 1) * per);
        if (given(p.fill_with) && i >= extra) tmp.push(p.fill_with);
        out.push(tmp);
      }
      return out;
    },
  ],
  sort: [
    ["reverse?", "case_sensitive?", "attribute?"],
    (v, p) => {
      const lower = !truthy(p.case_sensitive);
      const attrs = given(p.attribute) && isString(p.attribute) ? asStr(p.attribute).split(",") : [p.attribute];
      const getters = attrs.map((a) => attrGetter(a, lower));
      const key = getters.length === 1 ? getters[0]! : (x: unknown) => getters.map((g) => g(x));
      return sortedBy(iterate(v), key, truthy(p.reverse));
    },
  ],
  string: [[], (v) => (v instanceof Markup ? v : str(v))],
  striptags: [
    [],
    (v) =>
      str(v)
        .replace(/<!--.*?-->|<[^>]*>/gs, "")
        .replace(/\s+/g, " ")
        .trim(),
  ],
  sum: [
    ["attribute?", "start?"],
    (v, p) => {
      const get = attrGetter(p.attribute, false);
      let total: unknown = given(p.start) ? p.start : 0;
      for (const x of iterate(v)) total = binary("+", total, get(x));
      return total;
    },
  ],
  title: [
    [],
    (v) =>
      str(v)
        .split(/([-\s({[<]+)/)
        .filter((x) => x)
        .map((x) => x[0]!.toUpperCase() + x.slice(1).toLowerCase())
        .join(""),
  ],
  tojson: [["indent?"], (v, p) => tojson(v, p.indent)],
  trim: [["chars?"], (v, p) => callMethod(str(v), "strip", [p.chars ?? null], null)],
  truncate: [["length?", "killwords?", "end?", "leeway?"], (v, p) => truncate(str(v), p)],
  unique: [
    ["case_sensitive?", "attribute?"],
    (v, p) => {
      const key = attrGetter(p.attribute, !truthy(p.case_sensitive));
      const seen: unknown[] = [];
      const out: unknown[] = [];
      for (const x of iterate(v)) {
        const k = key(x);
        if (!contains(seen, k)) {
          seen.push(k);
          out.push(x);
        }
      }
      return out;
    },
  ],
  urlencode: [
    [],
    (v) => {
      if (isString(v) || !(Array.isArray(v) || isDict(v))) return urlQuote(v, false);
      const items = isDict(v) ? dictEntries(v) : iterate(v).map((x) => iterate(x));
      return items.map(([k, x]) => `${urlQuote(k, true)}=${urlQuote(x, true)}`).join("&");
    },
  ],
  wordcount: [[], (v) => (str(v).match(/[\p{L}\p{N}_]+/gu) ?? []).length],
};
FILTERS.d = FILTERS.default!;
FILTERS.e = FILTERS.escape!;

const BOUND = new Map<string, { fixed: ParamSpec[]; star: string | undefined; starstar: string | undefined }>();
for (const [name, [params]] of Object.entries(FILTERS)) BOUND.set(name, parseParams(params));

export const hasFilter = (name: string): boolean => Object.hasOwn(FILTERS, name);

export function applyFilter(name: string, v: unknown, args: unknown[], kwargs: P | null): unknown {
  const f = FILTERS[name];
  if (!f || !Object.hasOwn(FILTERS, name)) throw new PyError(`No filter named '${name}'.`);
  const b = BOUND.get(name)!;
  const p =
    b.fixed.length === 0 && !b.star && !b.starstar && !args.length && !kwargs
      ? {}
      : bindArgs(name, b.fixed, b.star, b.starstar, args, kwargs);
  return f[1](v, p, args, kwargs);
}
