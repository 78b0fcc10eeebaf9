/**
 * Model contracts at run time. In: a model's rows, staged in a table, and its contract. Out: the
 * model fails, listing each mismatch in dbt's table form, unless the staged columns are exactly
 * the contract's, with compatible types; the table is then created with the declared types and
 * constraints, which SQLite enforces as the rows go in.
 *
 * SQLite types values, not columns: a staged column carries the affinity of the expression that
 * made it (INT, REAL, TEXT, NUM, or none for a literal or a function). Where that says nothing
 * (NUM or none), the storage classes of the column's values decide; a column with no non-null
 * value matches any type.
 */
import { quoteIdent } from "../lib/sql.ts";
import type { ManifestNode } from "./manifest-schema.ts";

type Contract = NonNullable<ManifestNode["contract"]>;
type TypeClass = "integer" | "real" | "numeric" | "text" | "blob";

/** The class of values a declared type holds, by SQLite's affinity rules, with dbt's names for text and booleans. */
export function typeClass(declared: string): TypeClass {
  const type = declared.toUpperCase();
  if (type.includes("INT") || type.startsWith("BOOL")) return "integer";
  if (/CHAR|CLOB|TEXT|STRING|DATE|TIME|JSON|UUID/.test(type)) return "text";
  if (type.includes("BLOB") || type.includes("BINARY") || type === "BYTES") return "blob";
  if (/REAL|FLOA|DOUB/.test(type)) return "real";
  return "numeric";
}

const classNames: Record<TypeClass, string> = { integer: "INTEGER", real: "REAL", numeric: "NUMERIC", text: "TEXT", blob: "BLOB" };

interface Mismatch {
  column: string;
  definition: string;
  contract: string;
  reason: "data type mismatch" | "missing in definition" | "missing in contract";
}

/** The staged columns' types: their affinity where it is telling, else their values' storage classes. */
async function definitionTypes(db: D1Database, staged: string): Promise<Map<string, TypeClass | null>> {
  const columns = (await db.prepare("SELECT name, type FROM pragma_table_info(?1)").bind(staged).all<{ name: string; type: string }>())
    .results;
  const types = new Map<string, TypeClass | null>();
  const probe: string[] = [];
  for (const { name, type } of columns) {
    if (type === "INT" || type === "REAL" || type === "TEXT") types.set(name, typeClass(type));
    else probe.push(name);
  }
  if (probe.length === 0) return types;
  const found = await db.batch(
    probe.map((name) =>
      db.prepare(
        `SELECT DISTINCT typeof(${quoteIdent(name)}) AS t FROM ${quoteIdent(staged)} WHERE ${quoteIdent(name)} IS NOT NULL LIMIT 4`,
      ),
    ),
  );
  probe.forEach((name, i) => {
    const seen = new Set((found[i]!.results as { t: string }[]).map((r) => r.t));
    if (seen.size === 0) types.set(name, null);
    else if (seen.size === 1) types.set(name, typeClass([...seen][0]!));
    else if ([...seen].every((t) => t === "integer" || t === "real")) types.set(name, "numeric");
    else types.set(name, "blob");
  });
  return types;
}

function compatible(contract: TypeClass, definition: TypeClass | null): boolean {
  if (definition === null || contract === definition) return true;
  return contract === "numeric" && (definition === "integer" || definition === "real");
}

/** Throws dbt's contract error when the staged rows' columns do not match the contract. */
export async function assertContract(db: D1Database, staged: string, contract: Contract): Promise<void> {
  const definition = await definitionTypes(db, staged);
  const byLower = new Map([...definition.keys()].map((name) => [name.toLowerCase(), name]));
  const mismatches: Mismatch[] = [];
  const declared = new Set(contract.columns.map((c) => c.name.toLowerCase()));
  for (const column of contract.columns) {
    const name = byLower.get(column.name.toLowerCase());
    if (name === undefined) {
      mismatches.push({ column: column.name, definition: "", contract: column.dataType, reason: "missing in definition" });
      continue;
    }
    const type = definition.get(name)!;
    if (!compatible(typeClass(column.dataType), type))
      mismatches.push({ column: column.name, definition: classNames[type!], contract: column.dataType, reason: "data type mismatch" });
  }
  for (const [name, type] of definition)
    if (!declared.has(name.toLowerCase()))
      mismatches.push({ column: name, definition: type ? classNames[type] : "", contract: "", reason: "missing in contract" });
  if (mismatches.length > 0) throw new Error(contractMessage(mismatches));
}

function contractMessage(mismatches: Mismatch[]): string {
  const header = ["column_name", "definition_type", "contract_type", "mismatch_reason"];
  const rows = mismatches.map((m) => [m.column, m.definition, m.contract, m.reason]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [
    "This model has an enforced contract that failed.",
    "Please ensure the name, data_type, and number of columns in your contract match the columns in your model's definition.",
    "",
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
  ].join("\n");
}

/** `CREATE TABLE` for a contracted model: its columns in the contract's order, declared types and constraints. */
export function contractTableSql(table: string, contract: Contract): string {
  const columns = contract.columns.map((c) => [quoteIdent(c.name), c.dataType, ...c.constraints].join(" "));
  return `CREATE TABLE ${quoteIdent(table)} (${[...columns, ...contract.constraints].join(", ")})`;
}
