/**
 * dbt's `warn_if` and `error_if` test configs: conditions on a test's failure count, such as
 * `!=0` (the default) or `>10`. Shared by the compile, which refuses one it cannot read, and the
 * runner, which applies them.
 */
const comparisons = {
  "!=": (a: number, b: number) => a !== b,
  "<>": (a: number, b: number) => a !== b,
  "==": (a: number, b: number) => a === b,
  "=": (a: number, b: number) => a === b,
  ">=": (a: number, b: number) => a >= b,
  "<=": (a: number, b: number) => a <= b,
  ">": (a: number, b: number) => a > b,
  "<": (a: number, b: number) => a < b,
} as const;

const THRESHOLD = /^\s*(!=|<>|==|>=|<=|=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$/;

/**
 * A `warn_if`/`error_if` condition as a predicate on the failure count. dbt pastes the text after
 * `count(*)` in SQL; Sluice takes what projects write there, a comparison with a number.
 */
export function parseThreshold(condition: string): ((failures: number) => boolean) | undefined {
  const match = THRESHOLD.exec(condition);
  if (!match) return undefined;
  const compare = comparisons[match[1] as keyof typeof comparisons];
  const bound = Number(match[2]);
  return (failures) => compare(failures, bound);
}

export const defaultThreshold = "!=0";
