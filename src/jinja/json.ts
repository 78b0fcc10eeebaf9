/** Python's json.dumps(sort_keys=True), as Jinja2's tojson filter (htmlsafe_json_dumps) calls it. */
import { dictEntries } from "./ops.ts";
import { asStr, floatRepr, isDict, isString, isUndefined, Markup, Namespace, num, PyError, PyFloat, typeName } from "./values.ts";

function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const c = s.charCodeAt(i);
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

function keyString(k: unknown): string {
  if (isString(k)) return asStr(k);
  if (k === null) return "null";
  if (typeof k === "boolean") return k ? "true" : "false";
  if (typeof k === "number" || k instanceof PyFloat) return k instanceof PyFloat || !Number.isInteger(k) ? floatRepr(num(k)) : String(k);
  throw new PyError(`keys must be str, int, float, bool or None, not ${typeName(k)}`);
}

export function dumps(v: unknown, indent: number | null, level = 0): string {
  if (v === null) return "null";
  if (v === true) return "true";
  if (v === false) return "false";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : jsonFloat(v);
  if (typeof v === "bigint") return v.toString();
  if (v instanceof PyFloat) return jsonFloat(v.v);
  if (isString(v)) return quote(asStr(v));
  const nl = indent === null ? "" : `\n${" ".repeat(indent * (level + 1))}`;
  const close = indent === null ? "" : `\n${" ".repeat(indent * level)}`;
  const sep = indent === null ? ", " : ",";
  if (Array.isArray(v)) {
    if (!v.length) return "[]";
    return `[${nl}${v.map((x) => dumps(x, indent, level + 1)).join(sep + nl)}${close}]`;
  }
  if (isDict(v) || v instanceof Namespace) {
    const entries = dictEntries(v instanceof Namespace ? v.attrs : v).map(([k, x]) => [keyString(k), x] as const);
    if (!entries.length) return "{}";
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return `{${nl}${entries.map(([k, x]) => `${quote(k)}: ${dumps(x, indent, level + 1)}`).join(sep + nl)}${close}}`;
  }
  if (isUndefined(v)) throw new PyError("Object of type Undefined is not JSON serializable");
  throw new PyError(`Object of type ${typeName(v)} is not JSON serializable`);
}

function jsonFloat(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (!Number.isFinite(n)) return n > 0 ? "Infinity" : "-Infinity";
  return floatRepr(n);
}

export function tojson(v: unknown, indent: unknown): Markup {
  const s = dumps(v, indent === null || indent === undefined || isUndefined(indent) ? null : num(indent));
  return new Markup(s.replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026").replace(/'/g, "\\u0027"));
}
