/** Jinja2's builtin tests (jinja2/tests.py): `x is defined`, `x is divisibleby 3`, ... */
import { isCallable } from "./access.ts";
import { hasFilter } from "./filters.ts";
import { binary, compare, contains } from "./ops.ts";
import { isDict, isFloat, isInt, isNumber, isString, isUndefined, Markup, num, PyError, str, truthy } from "./values.ts";

type Test = (v: unknown, a: unknown[]) => boolean;

const isIterable = (v: unknown): boolean =>
  isString(v) ||
  Array.isArray(v) ||
  isDict(v) ||
  isUndefined(v) ||
  (v !== null && typeof v === "object" && typeof (v as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function");

const cmpTest =
  (op: string): Test =>
  (v, a) =>
    compare(op, v, a[0]);

const TESTS: Record<string, Test> = {
  odd: (v) => num(binary("%", v, 2)) === 1,
  even: (v) => num(binary("%", v, 2)) === 0,
  divisibleby: (v, a) => num(binary("%", v, a[0])) === 0,
  defined: (v) => !isUndefined(v),
  undefined: (v) => isUndefined(v),
  filter: (v) => typeof v === "string" && hasFilter(v),
  test: (v) => typeof v === "string" && hasTest(v),
  none: (v) => v === null,
  boolean: (v) => typeof v === "boolean",
  false: (v) => v === false,
  true: (v) => v === true,
  integer: (v) => isInt(v),
  float: (v) => isFloat(v),
  lower: (v) => {
    const s = str(v);
    return /\p{L}/u.test(s) && s === s.toLowerCase() && s !== s.toUpperCase();
  },
  upper: (v) => {
    const s = str(v);
    return /\p{L}/u.test(s) && s === s.toUpperCase() && s !== s.toLowerCase();
  },
  string: (v) => isString(v),
  mapping: (v) => isDict(v),
  number: (v) => isNumber(v),
  sequence: (v) => isString(v) || Array.isArray(v) || isDict(v) || isUndefined(v),
  iterable: isIterable,
  callable: (v) => typeof v === "function" || isCallable(v) || isUndefined(v),
  sameas: (v, a) => v === a[0] || (isUndefined(v) && isUndefined(a[0]) && v === a[0]),
  escaped: (v) => v instanceof Markup,
  in: (v, a) => contains(a[0], v),
  "==": cmpTest("=="),
  eq: cmpTest("=="),
  equalto: cmpTest("=="),
  "!=": cmpTest("!="),
  ne: cmpTest("!="),
  ">": cmpTest(">"),
  gt: cmpTest(">"),
  greaterthan: cmpTest(">"),
  ">=": cmpTest(">="),
  ge: cmpTest(">="),
  "<": cmpTest("<"),
  lt: cmpTest("<"),
  lessthan: cmpTest("<"),
  "<=": cmpTest("<="),
  le: cmpTest("<="),
};

export const hasTest = (name: string): boolean => Object.hasOwn(TESTS, name);

export function applyTest(name: string, v: unknown, args: unknown[], _kwargs: Record<string, unknown> | null): boolean {
  const t = Object.hasOwn(TESTS, name) ? TESTS[name] : undefined;
  if (!t) throw new PyError(`No test named '${name}'.`);
  return truthy(t(v, args));
}
