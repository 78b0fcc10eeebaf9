/**
 * Relations as dbt's Jinja sees them (`this`, `ref()`, `source()`, `api.Relation.create`), and
 * the one rule that names them in D1. D1 is one database with one schema, `main`, which is the
 * target's schema: a relation in it is named by its identifier alone; a relation in any other
 * schema `S` is named `S__identifier`. Rendering quotes that name, so `{{ ref('orders') }}` and
 * `{{ this }}` drop into SQL as they do on any adapter.
 */
import { quoteIdent } from "../../lib/sql.ts";

export const targetSchema = "main";
export const targetDatabase = "main";

/** The D1 table or view for a relation in `schema` named `identifier`. */
export function relationName(schema: string | null | undefined, identifier: string): string {
  return !schema || schema === targetSchema ? identifier : `${schema}__${identifier}`;
}

export type RelationType = "table" | "view" | "cte" | "ephemeral" | null;

export class Relation {
  readonly database: string;
  readonly schema: string;
  readonly identifier: string;
  readonly type: RelationType;
  /** What it renders as when that is not its quoted name: an ephemeral model's CTE, a batch's rows. */
  readonly #rendered: string | undefined;

  constructor(schema: string, identifier: string, type: RelationType = null, rendered?: string) {
    this.database = targetDatabase;
    this.schema = schema;
    this.identifier = identifier;
    this.type = type;
    this.#rendered = rendered;
  }

  /**
   * A relation that `ref()` or `source()` reads: it renders qualified by D1's schema
   * (`main."orders"`), so a CTE of the same name does not shadow it, as in jaffle-shop's
   * `orders as (select * from {{ ref('orders') }})`. (`{{ this }}` stays unqualified: SQLite
   * refuses a qualified table in `create index … on`.)
   */
  static read(schema: string, identifier: string, type: RelationType = null): Relation {
    return new Relation(schema, identifier, type, `${targetSchema}.${quoteIdent(relationName(schema, identifier))}`);
  }

  static cte(name: string): Relation {
    return new Relation(targetSchema, name, "cte", name);
  }

  /** This relation, rendering as `sql` (a subquery over it) wherever the template names it. */
  renderedAs(sql: string): Relation {
    return new Relation(this.schema, this.identifier, this.type, sql);
  }

  /** The relation's name in D1. */
  get name(): string {
    return this.identifier;
  }

  get table(): string {
    return this.identifier;
  }

  get d1Name(): string {
    return this.type === "cte" ? this.identifier : relationName(this.schema, this.identifier);
  }

  get is_table(): boolean {
    return this.type === "table";
  }

  get is_view(): boolean {
    return this.type === "view";
  }

  get is_cte(): boolean {
    return this.type === "cte";
  }

  render(): string {
    return this.#rendered ?? quoteIdent(this.d1Name);
  }

  /** dbt's `include(database=…, schema=…, identifier=…)`: D1 has one name per relation, so it renders the same. */
  include(): Relation {
    return this;
  }

  incorporate(): Relation {
    return this;
  }

  quote(): Relation {
    return this;
  }

  __str__(): string {
    return this.render();
  }

  __repr__(): string {
    return `<SQLiteRelation ${this.render()}>`;
  }

  toString(): string {
    return this.render();
  }
}
