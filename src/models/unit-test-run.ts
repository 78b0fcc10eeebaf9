/**
 * Running a dbt unit test on D1: one query, no tables. In: the unit test node (its given rows,
 * expected rows and overrides) and its model. Out: `pass`, or `fail` with a diff of the rows.
 * Each of the model's inputs becomes a CTE: the given rows, or no rows when none are given (a
 * seed not given is read as the seed's own rows, as in dbt). An input's columns are those of its
 * relation in D1 when it exists, then the columns the rows name; a column no row names is NULL.
 * Values are typed by the input column's declared type (`'3'` in an INTEGER column is 3) and
 * written as escaped SQL literals, never pasted in as text.
 */
import { sqlTypes } from "../db/column-types.ts";
import { isIdentifier, quoteIdent } from "../lib/sql.ts";
import { compileNode } from "./compile-node.ts";
import { toSqlite } from "./dialect/index.ts";
import type { Fixture, Manifest, ManifestNode } from "./manifest-schema.ts";
import { declaredType, parseSeed } from "./seeds.ts";
import { compareRows, type Table, type UnitTestOutcome } from "./unit-test-diff.ts";

interface Column {
  name: string;
  /** The declared SQL type; empty for a view's computed columns. */
  type: string;
}

/** What stands behind each of a model's inputs: its relation in D1, a seed's rows, and the columns known without D1. */
interface Input {
  relation: string;
  seed?: ManifestNode["seed"];
  columns: Column[];
  /** The model behind a ref, whose columns its query gives when it is not built. */
  node?: ManifestNode;
}

export async function runUnitTest(
  db: D1Database,
  manifest: Manifest,
  node: ManifestNode,
  vars: Record<string, unknown>,
): Promise<UnitTestOutcome> {
  const spec = node.unitTest!;
  const byId = new Map(manifest.nodes.map((n) => [n.uniqueId, n]));
  const model = byId.get(spec.model)!;
  const given = new Map(spec.given.map((g) => [g.key, g.fixture]));
  const inputs = new Map<string, string>();
  for (const [key, input] of inputsOf(manifest, model, byId, given)) {
    const found = await columnsOf(db, input.relation);
    const columns =
      found.length > 0 ? found : input.columns.length > 0 ? input.columns : await unbuiltColumns(db, manifest, input.node, vars);
    const fixture = given.get(key);
    if (fixture) inputs.set(key, fixtureSql(node, fixture, columns));
    else if (input.seed) inputs.set(key, rowsSql(columnNames(input.seed.columns), input.seed.rows));
    else inputs.set(key, rowsSql(columnNames(columns), []));
  }
  const sql = await compileNode(manifest, model, { db, vars, unitTest: { inputs, overrides: spec.overrides } });
  let actual: Table;
  try {
    actual = await query(db, sql);
  } catch (error) {
    const message = (error as Error).message;
    if (!/no such column/.test(message)) throw error;
    throw new Error(
      `${message} (an input's columns are those of its relation in D1, else those its given rows name: build the model's parents first, or name the column in the rows)`,
    );
  }
  const expected = "sql" in spec.expect ? await query(db, toSqlite(node, spec.expect.sql)) : fixtureTable(spec.expect, []);
  return compareRows(expected, actual);
}

/**
 * The model's refs and sources by unit-test key, and `this` for an incremental model. An
 * ephemeral parent that is not given is inlined as usual, so its own inputs are the test's too.
 */
function inputsOf(
  manifest: Manifest,
  model: ManifestNode,
  byId: ReadonlyMap<string, ManifestNode>,
  given: ReadonlyMap<string, Fixture>,
): Map<string, Input> {
  const found = new Map<string, Input>();
  if (model.config.materialized === "incremental") found.set("this", { relation: model.relation, columns: knownColumns(model) });
  const visit = (node: ManifestNode) => {
    for (const id of node.dependsOn.nodes) {
      const parent = byId.get(id);
      if (!parent || found.has(`ref:${id}`)) continue;
      if (parent.config.materialized === "ephemeral" && !given.has(`ref:${id}`)) visit(parent);
      else
        found.set(`ref:${id}`, {
          relation: parent.relation,
          columns: knownColumns(parent),
          node: parent,
          ...(parent.seed ? { seed: parent.seed } : {}),
        });
    }
    for (const { source, table } of node.dependsOn.sources) {
      const relation = manifest.sources.find((s) => s.source === source && s.table === table)?.relation ?? `raw_${source}__${table}`;
      found.set(`source:${source}.${table}`, { relation, columns: [] });
    }
  };
  visit(model);
  return found;
}

/** A seed's columns, or those of a model's enforced contract: known before anything is built. */
function knownColumns(node: ManifestNode): Column[] {
  if (node.seed) return node.seed.columns.map((c) => ({ name: c.name, type: sqlTypes[c.type] }));
  return (node.contract?.columns ?? []).map((c) => ({ name: c.name, type: c.dataType }));
}

/** The columns of a model that is not built, from its query over what is (none when that fails too). */
async function unbuiltColumns(
  db: D1Database,
  manifest: Manifest,
  node: ManifestNode | undefined,
  vars: Record<string, unknown>,
): Promise<Column[]> {
  if (node?.resourceType !== "model") return [];
  try {
    const sql = await compileNode(manifest, node, { db, vars });
    const { columns } = await query(db, `select * from (\n${sql}\n) limit 0`);
    return columns.filter(isIdentifier).map((name) => ({ name, type: "" }));
  } catch {
    return [];
  }
}

/** The relation's columns in D1, or none when it has not been built. */
async function columnsOf(db: D1Database, relation: string): Promise<Column[]> {
  const { results } = await db.prepare("SELECT name, type FROM pragma_table_info(?1)").bind(relation).all<Column>();
  return results.filter((column) => isIdentifier(column.name));
}

const columnNames = (columns: readonly { name: string }[]) => columns.map((c) => c.name);

/** A given input's query: its rows typed by the input's columns, each column of the input included. */
function fixtureSql(node: ManifestNode, fixture: Fixture, columns: readonly Column[]): string {
  if ("sql" in fixture) return toSqlite(node, fixture.sql);
  const table = fixtureTable(fixture, columns);
  const names = [...columnNames(columns)];
  for (const name of table.columns) if (!names.some((n) => n.toLowerCase() === name.toLowerCase())) names.push(name);
  const at = names.map((name) => table.columns.findIndex((c) => c.toLowerCase() === name.toLowerCase()));
  const typeOf = new Map(columns.map((c) => [c.name.toLowerCase(), c.type]));
  const rows = table.rows.map((row) => names.map((name, i) => typed(at[i]! < 0 ? null : row[at[i]!], typeOf.get(name.toLowerCase()))));
  return rowsSql(names, rows);
}

/** Dict or CSV rows as a table; CSV cells are typed by `columns` where declared, else as a seed's. */
export function fixtureTable(fixture: Exclude<Fixture, { sql: string }>, columns: readonly Column[]): Table {
  if ("csv" in fixture) {
    const declared = Object.fromEntries(columns.filter((c) => c.type !== "").map((c) => [c.name, c.type]));
    const seed = parseSeed(fixture.csv, declared);
    return { columns: columnNames(seed.columns), rows: seed.rows };
  }
  const names: string[] = [];
  for (const row of fixture.rows) for (const name of Object.keys(row)) if (!names.includes(name)) names.push(name);
  return { columns: names, rows: fixture.rows.map((row) => names.map((name) => row[name] ?? null)) };
}

/** A value as the input column's declared type would hold it. */
function typed(value: unknown, declared: string | undefined): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "object") return JSON.stringify(value);
  const type = declared ? declaredType(declared.toLowerCase()) : undefined;
  if ((type === "integer" || type === "real") && typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value)))
    return Number(value);
  if (type === "bool" && typeof value === "string" && /^(true|false)$/i.test(value)) return value.toLowerCase() === "true" ? 1 : 0;
  if (type === "text" && typeof value === "number") return String(value);
  return value;
}

/** `select column1 as "a", … from (values (…), …)`, or no rows with those columns. */
export function rowsSql(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const names = columns.length > 0 ? columns : ["_sluice_no_columns"];
  if (rows.length === 0) return `select ${names.map((name) => `null as ${quoteIdent(name)}`).join(", ")} where 0`;
  const values = rows.map((row) => `(${names.map((_, i) => literal(row[i])).join(", ")})`).join(",\n");
  return `select ${names.map((name, i) => `column${i + 1} as ${quoteIdent(name)}`).join(", ")} from (values\n${values}\n)`;
}

/** An SQL literal: numbers as numbers, text quoted with its quotes doubled, booleans as 1 and 0. */
function literal(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "null";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return `'${text.replaceAll("'", "''")}'`;
}

async function query(db: D1Database, sql: string): Promise<Table> {
  const [columns = [], ...rows] = await db.prepare(sql).raw<unknown[]>({ columnNames: true });
  return { columns: columns.map(String), rows };
}
