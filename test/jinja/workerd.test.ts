/**
 * The interpreter inside workerd (where eval and new Function are refused): a macro-heavy
 * template whose run_query awaits the real local D1 in the middle of rendering.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { fromJs, parseTemplate } from "../../src/jinja/index.ts";

const macros = `
{% macro get_column_values(table, column) -%}
  {%- set result = run_query('select distinct ' ~ column ~ ' as v from ' ~ table ~ ' order by 1') -%}
  {{- return(result.rows | map(attribute='v') | list) -}}
{%- endmacro %}
{% macro pivot(column, values, agg='sum') -%}
  {%- for v in values %}
  {{ agg }}(case when {{ column }} = '{{ v }}' then 1 else 0 end) as "{{ column }}_{{ v }}"{{ ',' if not loop.last }}
  {%- endfor %}
{%- endmacro %}
`;

describe("Jinja in workerd", () => {
  it("renders macros that await D1 mid-render, without eval", async () => {
    await env.DB.exec("CREATE TABLE IF NOT EXISTS jinja_probe (status TEXT)");
    await env.DB.exec("DELETE FROM jinja_probe");
    await env.DB.exec("INSERT INTO jinja_probe (status) VALUES ('paid'), ('open'), ('paid')");
    const globals: Record<string, unknown> = {
      run_query: async (sql: string) => fromJs({ rows: (await env.DB.prepare(sql).all()).results }),
    };
    Object.assign(globals, Object.fromEntries(parseTemplate(macros, "macros/pivot.sql").macros(globals)));
    const model =
      "{% set statuses = get_column_values('jinja_probe', 'status') %}-- {{ statuses }}\nselect{{ pivot('status', statuses) }}\nfrom jinja_probe";
    const sql = await parseTemplate(model, "models/pivoted.sql").render(globals);
    expect(sql).toBe(
      [
        "-- ['open', 'paid']",
        "select",
        `  sum(case when status = 'open' then 1 else 0 end) as "status_open",`,
        `  sum(case when status = 'paid' then 1 else 0 end) as "status_paid"`,
        "from jinja_probe",
      ].join("\n"),
    );
    const rows = await env.DB.prepare(sql).all();
    expect(rows.results).toEqual([{ status_open: 1, status_paid: 2 }]);
  });
});
