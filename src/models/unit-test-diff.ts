/**
 * A unit test's verdict. In: the expected rows and the model's rows. Out: `pass` when, on the
 * expected columns only (as dbt compares), the two hold the same rows as a multiset, in any
 * order; else `fail` with a diff table in dbt's style: `---` for an expected row the model did
 * not return, `+++` for a row it returned that was not expected. Values compare as SQLite holds
 * them: NULL equals NULL; numbers, and text that reads as a number, compare as numbers (to 12
 * significant digits); true and false are 1 and 0; dates and timestamps in any ISO 8601 form
 * compare as instants; any other text compares exactly.
 */

export interface Table {
  columns: string[];
  rows: unknown[][];
}

export interface UnitTestOutcome {
  status: "pass" | "fail";
  /** Expected rows missing, plus rows not expected. */
  failures: number;
  message: string | null;
}

/** Rows shown in a failure's diff, each way; the count covers them all. */
const shownRows = 20;
const numeric = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

export function compareRows(expected: Table, actual: Table): UnitTestOutcome {
  const positions = expected.columns.map((name) => actual.columns.findIndex((c) => c.toLowerCase() === name.toLowerCase()));
  const absent = expected.columns.filter((_, i) => positions[i]! < 0);
  if (absent.length > 0)
    throw new Error(
      `the model returns no column ${absent.map((c) => JSON.stringify(c)).join(", ")} (it returns ${actual.columns.join(", ") || "no columns"})`,
    );
  const projected = actual.rows.map((row) => positions.map((i) => row[i]));
  const unmatched = new Map<string, unknown[][]>();
  for (const row of projected) {
    const key = rowKey(row);
    unmatched.set(key, [...(unmatched.get(key) ?? []), row]);
  }
  const missing: unknown[][] = [];
  for (const row of expected.rows) {
    const matches = unmatched.get(rowKey(row));
    if (matches?.length) matches.pop();
    else missing.push(row);
  }
  const extra = [...unmatched.values()].flat();
  const failures = missing.length + extra.length;
  if (failures === 0) return { status: "pass", failures: 0, message: null };
  const counts = [
    missing.length ? `${missing.length} expected row${missing.length === 1 ? "" : "s"} missing` : "",
    extra.length ? `${extra.length} row${extra.length === 1 ? "" : "s"} not expected` : "",
  ].filter(Boolean);
  return {
    status: "fail",
    failures,
    message: `actual differs from expected: ${counts.join(", ")}\n\n${diffTable(expected.columns, missing, extra)}`,
  };
}

function canonical(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return value ? "n:1" : "n:0";
  if (typeof value === "number" || (typeof value === "string" && numeric.test(value))) {
    const n = Number(value);
    return `n:${Number.isInteger(n) ? n : Number(n.toPrecision(12))}`;
  }
  if (typeof value === "string") {
    const instant = isoInstant(value);
    return instant === undefined ? `s:${value}` : `t:${instant}`;
  }
  return `s:${JSON.stringify(value)}`;
}

const isoDateTime = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * A date or timestamp written in any ISO 8601 form, as one instant (milliseconds, UTC when no
 * offset is given): `2016-09-01`, `2016-09-01 00:00:00` and Sluice's `2016-09-01T00:00:00.000Z`
 * are equal, as a warehouse casting the expected value to the column's type finds them.
 */
function isoInstant(text: string): number | undefined {
  const m = isoDateTime.exec(text.trim());
  if (!m) return undefined;
  const [, day, hh = "00", mm = "00", ss = "00", fraction = "", zone = "Z"] = m;
  const millis = `${fraction}000`.slice(0, 3);
  const offset = zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  const ms = Date.parse(`${day}T${hh}:${mm}:${ss}.${millis}${offset}`);
  return Number.isNaN(ms) ? undefined : ms;
}

const rowKey = (row: readonly unknown[]) => JSON.stringify(row.map(canonical));

const shown = (value: unknown) =>
  value === null || value === undefined ? "null" : typeof value === "string" ? value : JSON.stringify(value);

/** `@@  | a | b` then a line per differing row, columns padded to line up. */
function diffTable(columns: readonly string[], missing: readonly unknown[][], extra: readonly unknown[][]): string {
  const lines: string[][] = [
    ["@@", ...columns],
    ...missing.slice(0, shownRows).map((row) => ["---", ...row.map(shown)]),
    ...extra.slice(0, shownRows).map((row) => ["+++", ...row.map(shown)]),
  ];
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((line) => line[i]!.length)));
  const table = lines.map((line) =>
    line
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join(" | ")
      .trimEnd(),
  );
  const hidden = Math.max(0, missing.length - shownRows) + Math.max(0, extra.length - shownRows);
  return [...table, ...(hidden > 0 ? [`… and ${hidden} more`] : [])].join("\n");
}
