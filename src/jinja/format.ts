/** Python's `%`-formatting, str.format() and the number formatting they share. */
import { asStr, float, isDict, isFloat, isNumber, isString, isTuple, num, PyError, repr, str, typeName } from "./values.ts";

/** x.toFixed(p), but exact ties round half to even as Python's formatting does. */
export function toFixedPy(x: number, p: number): string {
  const s = x.toFixed(p);
  if (Math.abs(x) >= 1e21 || p >= 99) return s;
  const longer = x.toFixed(p + 1);
  if (!longer.endsWith("5")) return s;
  const exact = x.toFixed(100);
  const dot = exact.indexOf(".");
  const tail = exact.slice(dot + 1 + p + 1);
  if (!/^0*$/.test(tail)) return s;
  const down = longer.slice(0, -1).replace(/\.$/, "");
  const lastDigit = Number(down.replace(/\D/g, "").slice(-1));
  return lastDigit % 2 === 0 ? down : s;
}

export function pyRound(x: number, p: number): number {
  if (!Number.isFinite(x)) return x;
  if (p >= 0) return Number(toFixedPy(x, p));
  const f = 10 ** -p;
  const q = Number(toFixedPy(x / f, 0));
  return q * f;
}

function expStr(x: number, p: number, upper: boolean): string {
  if (!Number.isFinite(x)) return nonFinite(x, upper);
  const [m, e] = x.toExponential(p).split("e") as [string, string];
  const n = Number(e);
  const s = `${m}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
  return upper ? s.toUpperCase() : s;
}

function nonFinite(x: number, upper: boolean): string {
  const s = Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
  return upper ? s.toUpperCase() : s;
}

function fixedStr(x: number, p: number, upper: boolean): string {
  return Number.isFinite(x) ? toFixedPy(x, p) : nonFinite(x, upper);
}

function generalStr(x: number, p: number, alt: boolean, upper: boolean): string {
  if (!Number.isFinite(x)) return nonFinite(x, upper);
  const prec = p === 0 ? 1 : p;
  if (x === 0) return alt ? `0.${"0".repeat(prec - 1)}` : Object.is(x, -0) ? "-0" : "0";
  const exp = Number(x.toExponential(prec - 1).split("e")[1]);
  let s: string;
  if (exp >= -4 && exp < prec) {
    s = toFixedPy(x, prec - 1 - exp);
    if (!alt && s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  } else {
    s = expStr(x, prec - 1, upper);
    if (!alt) s = s.replace(/\.?0+e/, "e").replace(/\.?0+E/, "E");
  }
  return s;
}

function withSign(body: string, negative: boolean, sign: string): string {
  if (negative) return `-${body}`;
  return sign === "+" ? `+${body}` : sign === " " ? ` ${body}` : body;
}

function intValue(v: unknown, conv: string): number {
  if (typeof v === "boolean") return v ? 1 : 0;
  if (isNumber(v)) {
    if (isFloat(v) && "xXoc".includes(conv)) throw new PyError(`%${conv} format: an integer is required, not float`);
    return Math.trunc(num(v));
  }
  throw new PyError(`%${conv} format: a real number is required, not ${typeName(v)}`);
}

function floatValue(v: unknown, conv: string): number {
  if (isNumber(v)) return num(v);
  throw new PyError(`must be real number, not ${typeName(v)}`.replace("must", conv === "f" ? "must" : "must"));
}

function pad(s: string, width: number, left: boolean, zero: boolean): string {
  if (s.length >= width) return s;
  if (left) return s.padEnd(width);
  if (zero) {
    const m = /^([+\- ]?(?:0[xXo])?)(.*)$/.exec(s)!;
    return m[1] + m[2]!.padStart(width - m[1]!.length, "0");
  }
  return s.padStart(width);
}

const SPEC = /%(?:\(([^)]*)\))?([-+ #0]*)(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([diouxXeEfFgGcrsa%])/g;

/** `fmt % args` as Python computes it. */
export function percentFormat(fmt: string, args: unknown): string {
  const mapping = isDict(args) && fmt.includes("%(") ? args : null;
  const list = mapping ? [] : isTuple(args) ? (args as unknown[]) : [args];
  let i = 0;
  const next = (): unknown => {
    if (i >= list.length) throw new PyError("not enough arguments for format string");
    return list[i++];
  };
  const out = fmt.replace(
    SPEC,
    (_all, name: string | undefined, flags: string, w: string | undefined, p: string | undefined, conv: string) => {
      if (conv === "%") return "%";
      let width = w === "*" ? intValue(next(), "d") : w ? Number(w) : 0;
      const prec = p === "*" ? intValue(next(), "d") : p !== undefined ? Number(p) : undefined;
      let v: unknown;
      if (name !== undefined) {
        if (!mapping) throw new PyError("format requires a mapping");
        const m = mapping as Map<unknown, unknown> | Record<string, unknown>;
        const has = m instanceof Map ? m.has(name) : Object.hasOwn(m, name);
        if (!has) throw new PyError(`KeyError: ${repr(name)}`);
        v = m instanceof Map ? m.get(name) : m[name];
      } else v = next();
      let left = flags.includes("-");
      if (width < 0) {
        left = true;
        width = -width;
      }
      const zero = flags.includes("0") && !left;
      const sign = flags.includes("+") ? "+" : flags.includes(" ") ? " " : "";
      const alt = flags.includes("#");
      let s: string;
      switch (conv) {
        case "s":
          s = str(v);
          if (prec !== undefined) s = s.slice(0, prec);
          return pad(s, width, left, false);
        case "r":
        case "a":
          s = repr(v);
          if (prec !== undefined) s = s.slice(0, prec);
          return pad(s, width, left, false);
        case "c":
          s = isString(v) ? asStr(v) : String.fromCodePoint(intValue(v, "c"));
          return pad(s, width, left, false);
        case "d":
        case "i":
        case "u": {
          const n = intValue(v, conv);
          s = withSign(String(Math.abs(n)).padStart(prec ?? 0, "0"), n < 0, sign);
          return pad(s, width, left, zero);
        }
        case "x":
        case "X":
        case "o": {
          const n = intValue(v, conv);
          let body = Math.abs(n).toString(conv === "o" ? 8 : 16);
          if (conv === "X") body = body.toUpperCase();
          if (alt) body = (conv === "o" ? "0o" : conv === "x" ? "0x" : "0X") + body;
          return pad(withSign(body, n < 0, sign), width, left, zero);
        }
        default: {
          const x = floatValue(v, conv);
          const upper = conv === conv.toUpperCase();
          const pr = prec ?? 6;
          const lower = conv.toLowerCase();
          const body =
            lower === "f"
              ? fixedStr(Math.abs(x), pr, upper)
              : lower === "e"
                ? expStr(Math.abs(x), pr, upper)
                : generalStr(Math.abs(x), pr, alt, upper);
          return pad(withSign(body, x < 0 || Object.is(x, -0), sign), width, left, zero && Number.isFinite(x));
        }
      }
    },
  );
  if (!mapping && i < list.length && !(list.length === 1 && isDict(args))) {
    throw new PyError("not all arguments converted during string formatting");
  }
  return out;
}

const FORMAT_SPEC = /^(?:([\s\S])?([<>=^]))?([+\- ])?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/;

function group(intPart: string, sep: string): string {
  return intPart.replace(/\B(?=(\d{3})+(?!\d))/g, sep);
}

/** format(value, spec) for str.format(). */
export function formatSpec(v: unknown, spec: string): string {
  if (spec === "") return str(v);
  const m = FORMAT_SPEC.exec(spec);
  if (!m) throw new PyError(`Invalid format specifier '${spec}' for object of type '${typeName(v)}'`);
  const [, fillC, alignC, signC, alt, zero, widthS, groupC, precS, typeC] = m;
  const width = widthS ? Number(widthS) : 0;
  const prec = precS !== undefined ? Number(precS) : undefined;
  let fill = fillC ?? " ";
  let align = alignC;
  const sign = signC ?? "-";
  let body: string;
  let negative = false;
  const numeric = isNumber(v) && typeC !== "s";
  if (numeric) {
    if (zero && !alignC) {
      fill = "0";
      align = "=";
    }
    const x = num(v);
    negative = x < 0 || Object.is(x, -0);
    const ax = Math.abs(x);
    const t = typeC ?? (isFloat(v) ? "" : "d");
    switch (t) {
      case "d":
      case "n":
        if (isFloat(v)) throw new PyError(`Unknown format code 'd' for object of type 'float'`);
        body = String(ax);
        break;
      case "b":
      case "o":
      case "x":
      case "X":
        body = ax.toString(t === "b" ? 2 : t === "o" ? 8 : 16);
        if (t === "X") body = body.toUpperCase();
        if (alt) body = `0${t}${body}`;
        break;
      case "c":
        body = String.fromCodePoint(ax);
        break;
      case "f":
      case "F":
        body = fixedStr(ax, prec ?? 6, t === "F");
        break;
      case "e":
      case "E":
        body = expStr(ax, prec ?? 6, t === "E");
        break;
      case "g":
      case "G":
        body = generalStr(ax, prec ?? 6, Boolean(alt), t === "G");
        break;
      case "%":
        body = `${fixedStr(ax * 100, prec ?? 6, false)}%`;
        break;
      default:
        body = prec === undefined ? str(float(ax)) : generalStr(ax, prec, false, false);
    }
    if (groupC) {
      const [ip, ...rest] = body.split(".");
      body = [group(ip!, groupC), ...rest].join(".");
    }
    const signed = negative ? "-" : sign === "+" ? "+" : sign === " " ? " " : "";
    if ((align ?? ">") === "=") return signed + body.padStart(width - signed.length, fill);
    body = signed + body;
    align ??= ">";
  } else {
    if (typeC && typeC !== "s") throw new PyError(`Unknown format code '${typeC}' for object of type '${typeName(v)}'`);
    body = str(v);
    if (prec !== undefined) body = body.slice(0, prec);
    align ??= "<";
  }
  const n = width - [...body].length;
  if (n <= 0) return body;
  if (align === "<") return body + fill.repeat(n);
  if (align === ">") return fill.repeat(n) + body;
  const l = Math.floor(n / 2);
  return fill.repeat(l) + body + fill.repeat(n - l);
}
