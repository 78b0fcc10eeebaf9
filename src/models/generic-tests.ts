/**
 * dbt's generic tests as SQL: each query returns the failing rows, so a test passes when it
 * returns none. They are Jinja templates over `ref`/`source`, compiled like models. Values from
 * YAML become SQL string literals with quotes doubled; column names are checked identifiers.
 */
import { isIdentifier } from "../lib/sql.ts";

export interface GenericTest {
  name: "unique" | "not_null" | "accepted_values" | "relationships";
  /** `ref('orders')` or `source('stripe', 'charges')`, as Jinja. */
  relation: string;
  column: string;
  args: Record<string, unknown>;
  /** The `where` config: the tested relation becomes a subquery of its matching rows, as in dbt. */
  where?: string | undefined;
}

export const genericTestNames = new Set(["unique", "not_null", "accepted_values", "relationships"]);

export function literal(value: unknown): string {
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "boolean") return value ? "1" : "0";
  return `'${String(value).replaceAll("'", "''")}'`;
}

function column(name: string): string {
  if (!isIdentifier(name)) throw new Error(`"${name}" is not a column name Sluice can test`);
  return `"${name}"`;
}

/** A relation written in YAML as `ref('x')`, `source('a', 'b')`, or a bare model name. */
export function relationTemplate(to: string): string {
  const trimmed = to.trim();
  if (/^(ref|source)\s*\(/.test(trimmed)) return `{{ ${trimmed} }}`;
  return `{{ ref('${trimmed.replaceAll("'", "")}') }}`;
}

export function testSql(test: GenericTest): string {
  const col = column(test.column);
  // The where text goes on a line of its own, so a `--` comment in it cannot swallow the query.
  const tested = test.where === undefined ? `{{ ${test.relation} }}` : `(select * from {{ ${test.relation} }} where ${test.where}\n)`;
  const from = test.where === undefined ? tested : `${tested} as dbt_subquery`;
  switch (test.name) {
    case "unique":
      return `select ${col} as unique_field, count(*) as n_records\nfrom ${from}\nwhere ${col} is not null\ngroup by ${col}\nhaving count(*) > 1`;
    case "not_null":
      return `select *\nfrom ${from}\nwhere ${col} is null`;
    case "accepted_values": {
      const values = test.args.values;
      if (!Array.isArray(values) || values.length === 0) throw new Error("accepted_values needs a non-empty `values` list");
      const quote = test.args.quote !== false;
      const list = values.map((v) => (quote ? literal(String(v)) : literal(v))).join(", ");
      return `select ${col} as value_field, count(*) as n_records\nfrom ${from}\nwhere ${col} is not null and ${col} not in (${list})\ngroup by ${col}`;
    }
    case "relationships": {
      const to = test.args.to;
      const field = test.args.field;
      if (typeof to !== "string" || typeof field !== "string") throw new Error("relationships needs `to` and `field`");
      return `select child.${col} as from_field\nfrom ${tested} as child\nleft join ${relationTemplate(to)} as parent on child.${col} = parent.${column(field)}\nwhere child.${col} is not null and parent.${column(field)} is null`;
    }
  }
}
