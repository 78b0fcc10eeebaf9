/**
 * What dbt's Jinja reaches D1 through: the `adapter` object (`dispatch`, `quote`,
 * `get_columns_in_relation`, `get_relation`, …) and the tables `run_query` and
 * `load_result` return, shaped like dbt's agate tables (`rows`, `columns[i].values()`,
 * `column_names`), so introspecting macros (dbt_utils' `star`, `get_column_values`) work.
 * Without a database (compiling), introspection finds nothing and queries return none.
 */
import { type Macro, pyfunc, TemplateError } from "../../jinja/index.ts";
import { quoteIdent } from "../../lib/sql.ts";
import type { BoundMacros, MacroLibrary } from "./macros.ts";
import { Relation, relationName, targetSchema } from "./relation.ts";

/** The part of D1's API that macros reach (D1Database has it). */
export interface Database {
  prepare(query: string): {
    bind(...values: unknown[]): { all<T>(): Promise<{ results: T[] }>; first<T>(column: string): Promise<T | null> };
    raw<T>(options: { columnNames: true }): Promise<[string[], ...T[]]>;
  };
}

/** One row: a tuple that can also be read by column name. */
export class Row extends Array<unknown> {
  #names: readonly string[] = [];

  static make(names: readonly string[], values: readonly unknown[]): Row {
    const row = new Row();
    row.push(...values);
    row.#names = names;
    return row;
  }

  /** `row.table_name`, as agate rows read. */
  __getattr__(name: string): unknown {
    return this.__getitem__(name);
  }

  __getitem__(key: unknown): unknown {
    if (typeof key === "string") {
      const at = this.#names.indexOf(key);
      if (at < 0) throw new TemplateError(`row has no column '${key}'`);
      return this[at];
    }
    const index = Number(key);
    return this[index < 0 ? this.length + index : index];
  }
}

class Column {
  readonly name: string;
  readonly #values: unknown[];

  constructor(name: string, values: unknown[]) {
    this.name = name;
    this.#values = values;
  }

  values(): unknown[] {
    return [...this.#values];
  }
}

/** A query's result as dbt's agate table: iterable rows, plus `rows`, `columns` and `column_names`. */
export class Query extends Array<Row> {
  column_names: string[] = [];
  rowsAffected = 0;

  static make(names: string[], rows: unknown[][], rowsAffected = 0): Query {
    const table = new Query();
    table.push(...rows.map((values) => Row.make(names, values)));
    table.column_names = names;
    table.rowsAffected = rowsAffected;
    return table;
  }

  get rows(): Row[] {
    return [...this];
  }

  get columns(): { __getitem__(key: unknown): Column; __len__(): number } & Column[] {
    const columns = this.column_names.map(
      (name, i) =>
        new Column(
          name,
          this.map((row) => row[i]),
        ),
    );
    return Object.assign(columns, {
      __getitem__: (key: unknown) => {
        const column = typeof key === "string" ? columns.find((c) => c.name === key) : columns.at(Number(key));
        if (!column) throw new TemplateError(`query result has no column ${JSON.stringify(key)}`);
        return column;
      },
      __len__: () => columns.length,
    });
  }

  print_table(): string {
    return "";
  }
}

/** A column as `adapter.get_columns_in_relation` returns it. */
export class RelationColumn {
  readonly name: string;
  readonly column: string;
  readonly data_type: string;
  readonly dtype: string;

  constructor(name: string, type: string) {
    this.name = name;
    this.column = name;
    this.data_type = type || "text";
    this.dtype = this.data_type;
  }

  get quoted(): string {
    return `"${this.name.replaceAll('"', '""')}"`;
  }

  is_string(): boolean {
    return /char|text|clob|string/i.test(this.data_type);
  }

  is_number(): boolean {
    return this.is_integer() || this.is_float() || this.is_numeric();
  }

  is_integer(): boolean {
    return /int/i.test(this.data_type);
  }

  is_float(): boolean {
    return /real|floa|doub/i.test(this.data_type);
  }

  is_numeric(): boolean {
    return /numeric|decimal/i.test(this.data_type);
  }

  string_size(): number {
    return 255;
  }

  __repr__(): string {
    return `<Column ${this.name} (${this.data_type})>`;
  }
}

export interface DatabaseAdapter {
  runQuery(sql: string): Promise<Query>;
  [member: string]: unknown;
}

export function databaseAdapter(db: Database | undefined, library: MacroLibrary, macros: () => BoundMacros): DatabaseAdapter {
  const relationOf = (value: unknown): string => (value instanceof Relation ? value.d1Name : String(value));
  const columnsOf = async (name: string): Promise<RelationColumn[]> => {
    if (!db) return [];
    const { results } = await db
      .prepare("SELECT name, type FROM pragma_table_info(?1) ORDER BY cid")
      .bind(name)
      .all<{ name: string; type: string }>();
    return results.map((c) => new RelationColumn(c.name, c.type));
  };
  const exists = async (name: string): Promise<"table" | "view" | null> => {
    if (!db) return null;
    const type = await db
      .prepare("SELECT type FROM sqlite_master WHERE name = ?1 AND type IN ('table', 'view')")
      .bind(name)
      .first<string>("type");
    return type === "table" || type === "view" ? type : null;
  };
  const runQuery = async (sql: string): Promise<Query> => {
    if (!db) return Query.make([], []);
    const statement = sql.trim().replace(/;\s*$/, "");
    if (statement === "") return Query.make([], []);
    const [names, ...rows] = await db.prepare(statement).raw<unknown[]>({ columnNames: true });
    return Query.make((names as string[] | undefined) ?? [], rows as unknown[][]);
  };
  return {
    runQuery,
    type: () => "sqlite",
    quote: (name: unknown) => quoteIdent(String(name)),
    quote_as_configured: (name: unknown) => String(name),
    quote_seed_column: (name: unknown) => quoteIdent(String(name)),
    dispatch: pyfunc(["macro_name", "macro_namespace?", "packages?"], ({ macro_name, macro_namespace }) => {
      const name = String(macro_name);
      const namespace = macro_namespace === undefined || macro_namespace === null ? undefined : String(macro_namespace);
      const found = library.dispatchTarget(name, namespace);
      if ("searched" in found) {
        throw new TemplateError(
          `In dispatch: No macro named '${name}' found within namespace: '${namespace ?? library.root}'\n    Searched for: ${found.searched.map((s) => `'${s}'`).join(", ")}`,
        );
      }
      return macros().get(found.pkg, found.name) as Macro;
    }),
    get_columns_in_relation: async (relation: unknown) => columnsOf(relationOf(relation)),
    get_relation: pyfunc(["database?", "schema?", "identifier?"], async ({ schema, identifier }) => {
      const name = relationName(typeof schema === "string" ? schema : targetSchema, String(identifier));
      const type = await exists(name);
      return type ? new Relation(typeof schema === "string" ? schema : targetSchema, String(identifier), type) : null;
    }),
    load_relation: async (relation: unknown) => (relation instanceof Relation && (await exists(relation.d1Name)) ? relation : null),
    get_missing_columns: async (from: unknown, to: unknown) => {
      const target = new Set((await columnsOf(relationOf(to))).map((c) => c.name.toLowerCase()));
      return (await columnsOf(relationOf(from))).filter((c) => !target.has(c.name.toLowerCase()));
    },
    already_exists: pyfunc(
      ["schema", "name"],
      async ({ schema, name }) => (await exists(relationName(String(schema), String(name)))) !== null,
    ),
    check_schema_exists: () => true,
    expand_target_column_types: () => "",
  };
}
