/**
 * Report rows as CSV (RFC 4180, CRLF). In: column names, rows, and whether to escape formulas.
 * Out: the text, header first.
 *
 * A cell a spreadsheet would run as a formula (OWASP's CSV injection list: it starts with =, +,
 * -, @, tab or carriage return) gets a leading `'` and is quoted, so a pulled issue titled
 * `=HYPERLINK(…)` opens as text. Only text values are escaped: numbers D1 returns as numbers
 * (-5) stay numbers. Papaparse's own `escapeFormulae: true` pattern requires the rest of the
 * cell to hold no line break, so `=1+1\n…` would slip through; this pattern looks only at the
 * first character.
 */
import Papa from "papaparse";

const formulaStart = /^[=+\-@\t\r]/;

export function toCsv(fields: readonly string[], rows: readonly Record<string, unknown>[], options: { escapeFormulas: boolean }): string {
  const data = rows.map((row) => fields.map((field) => row[field]));
  return `${Papa.unparse({ fields: [...fields], data }, { newline: "\r\n", escapeFormulae: options.escapeFormulas ? formulaStart : false })}\r\n`;
}
