/**
 * dbt's cross-database macros (`dbt.dateadd`, `dbt.date_trunc`, `dbt.hash`, …) for the `sqlite`
 * adapter, in Sluice's words. Each public macro dispatches, so a project (or a package in the
 * project's `dispatch:` search order) can still override it; the `sqlite__` versions below are
 * what D1 runs.
 *
 * Timestamps come out in the form Sluice stores them, ISO 8601 in UTC with milliseconds
 * (`2024-01-05T00:00:00.000Z`), so they compare correctly with loaded timestamps. D1 has no `md5`
 * and no user-defined functions: `hash` is the lower-case hex of the text, which is deterministic
 * and distinct for distinct inputs (longer than an md5, never colliding).
 */
import type { MacroFile } from "../macros.ts";

/** `{% macro name(params) %}{{ return(adapter.dispatch('name', 'dbt')(args)) }}{% endmacro %}` for each public macro. */
const dispatched: [name: string, params: string, args: string][] = [
  ["type_string", "", ""],
  ["type_timestamp", "", ""],
  ["type_int", "", ""],
  ["type_bigint", "", ""],
  ["type_float", "", ""],
  ["type_numeric", "", ""],
  ["type_boolean", "", ""],
  ["cast", "field, type", "field, type"],
  ["safe_cast", "field, type", "field, type"],
  ["date_trunc", "datepart, date", "datepart, date"],
  ["dateadd", "datepart, interval, from_date_or_timestamp", "datepart, interval, from_date_or_timestamp"],
  ["datediff", "first_date, second_date, datepart", "first_date, second_date, datepart"],
  ["last_day", "date, datepart", "date, datepart"],
  ["date", "year, month, day", "year, month, day"],
  ["current_timestamp", "", ""],
  ["current_timestamp_backcompat", "", ""],
  ["current_timestamp_in_utc_backcompat", "", ""],
  ["snapshot_get_time", "", ""],
  ["hash", "field", "field"],
  ["concat", "fields", "fields"],
  ["split_part", "string_text, delimiter_text, part_number", "string_text, delimiter_text, part_number"],
  [
    "listagg",
    "measure, delimiter_text=\"','\", order_by_clause=none, limit_num=none",
    "measure, delimiter_text, order_by_clause, limit_num",
  ],
  ["any_value", "expression", "expression"],
  ["bool_or", "expression", "expression"],
  ["replace", "field, old_chars, new_chars", "field, old_chars, new_chars"],
  ["length", "expression", "expression"],
  ["position", "substring_text, string_text", "substring_text, string_text"],
  ["right", "string_text, length_expression", "string_text, length_expression"],
  ["escape_single_quotes", "expression", "expression"],
  ["string_literal", "value", "value"],
  ["cast_bool_to_text", "field", "field"],
  ["except", "", ""],
  ["intersect", "", ""],
  ["generate_series", "upper_bound", "upper_bound"],
  ["get_intervals_between", "start_date, end_date, datepart", "start_date, end_date, datepart"],
  ["date_spine", "datepart, start_date, end_date", "datepart, start_date, end_date"],
  ["array_construct", "inputs=[], data_type=none", "inputs, data_type"],
  ["array_append", "array, new_element", "array, new_element"],
  ["array_concat", "array_1, array_2", "array_1, array_2"],
  ["array_size", "array", "array"],
];

const dispatchers = dispatched
  .map(
    ([name, params, args]) =>
      `{% macro ${name}(${params}) -%}\n  {{ return(adapter.dispatch('${name}', 'dbt')(${args})) }}\n{%- endmacro %}\n`,
  )
  .join("\n");

const sqlite = String.raw`
{% macro sqlite__type_string() %}text{% endmacro %}
{% macro sqlite__type_timestamp() %}timestamp{% endmacro %}
{% macro sqlite__type_int() %}integer{% endmacro %}
{% macro sqlite__type_bigint() %}integer{% endmacro %}
{% macro sqlite__type_float() %}real{% endmacro %}
{% macro sqlite__type_numeric() %}numeric{% endmacro %}
{% macro sqlite__type_boolean() %}boolean{% endmacro %}

{% macro sqlite__cast(field, type) %}cast({{ field }} as {{ type }}){% endmacro %}
{% macro sqlite__safe_cast(field, type) %}cast({{ field }} as {{ type }}){% endmacro %}

{#- The ISO 8601 UTC form Sluice stores timestamps in. -#}
{% macro sluice_timestamp(expression, modifiers=[]) -%}
  strftime('%Y-%m-%dT%H:%M:%fZ', {{ expression }}{% for m in modifiers %}, {{ m }}{% endfor %})
{%- endmacro %}

{% macro sqlite__date_trunc(datepart, date) -%}
  {%- set part = datepart | lower | trim -%}
  {%- if part == 'year' -%} strftime('%Y-01-01T00:00:00.000Z', {{ date }})
  {%- elif part == 'quarter' -%} printf('%04d-%02d-01T00:00:00.000Z', cast(strftime('%Y', {{ date }}) as integer), cast((cast(strftime('%m', {{ date }}) as integer) - 1) / 3 as integer) * 3 + 1)
  {%- elif part == 'month' -%} strftime('%Y-%m-01T00:00:00.000Z', {{ date }})
  {%- elif part == 'week' -%} strftime('%Y-%m-%dT00:00:00.000Z', {{ date }}, 'weekday 0', '-6 days')
  {%- elif part == 'day' -%} strftime('%Y-%m-%dT00:00:00.000Z', {{ date }})
  {%- elif part == 'hour' -%} strftime('%Y-%m-%dT%H:00:00.000Z', {{ date }})
  {%- elif part == 'minute' -%} strftime('%Y-%m-%dT%H:%M:00.000Z', {{ date }})
  {%- elif part == 'second' -%} strftime('%Y-%m-%dT%H:%M:%S.000Z', {{ date }})
  {%- else -%} {{ exceptions.raise_compiler_error("date_trunc: Sluice truncates to year, quarter, month, week, day, hour, minute or second, not '" ~ datepart ~ "'") }}
  {%- endif -%}
{%- endmacro %}

{#- A SQLite date modifier for an interval of a datepart: '3 days', '-2 months'. -#}
{% macro sluice_interval(datepart, interval) -%}
  {%- set part = datepart | lower | trim -%}
  {%- if part == 'week' -%} (({{ interval }}) * 7) || ' days'
  {%- elif part == 'quarter' -%} (({{ interval }}) * 3) || ' months'
  {%- elif part in ['year', 'month', 'day', 'hour', 'minute', 'second'] -%} ({{ interval }}) || ' {{ part }}s'
  {%- elif part == 'millisecond' -%} (({{ interval }}) / 1000.0) || ' seconds'
  {%- else -%} {{ exceptions.raise_compiler_error("dateadd: Sluice adds years, quarters, months, weeks, days, hours, minutes, seconds or milliseconds, not '" ~ datepart ~ "'") }}
  {%- endif -%}
{%- endmacro %}

{% macro sqlite__dateadd(datepart, interval, from_date_or_timestamp) -%}
  {{ sluice_timestamp(from_date_or_timestamp, [sluice_interval(datepart, interval)]) }}
{%- endmacro %}

{#- Whole datepart boundaries crossed from the first to the second, as Snowflake and dbt count them. -#}
{% macro sqlite__datediff(first_date, second_date, datepart) -%}
  {%- set part = datepart | lower | trim -%}
  {%- if part == 'year' -%}
    (cast(strftime('%Y', {{ second_date }}) as integer) - cast(strftime('%Y', {{ first_date }}) as integer))
  {%- elif part == 'quarter' -%}
    ((cast(strftime('%Y', {{ second_date }}) as integer) * 4 + cast((cast(strftime('%m', {{ second_date }}) as integer) - 1) / 3 as integer)) - (cast(strftime('%Y', {{ first_date }}) as integer) * 4 + cast((cast(strftime('%m', {{ first_date }}) as integer) - 1) / 3 as integer)))
  {%- elif part == 'month' -%}
    ((cast(strftime('%Y', {{ second_date }}) as integer) * 12 + cast(strftime('%m', {{ second_date }}) as integer)) - (cast(strftime('%Y', {{ first_date }}) as integer) * 12 + cast(strftime('%m', {{ first_date }}) as integer)))
  {%- elif part == 'week' -%}
    cast(round((julianday(date({{ second_date }}, 'weekday 0', '-6 days')) - julianday(date({{ first_date }}, 'weekday 0', '-6 days'))) / 7) as integer)
  {%- elif part == 'day' -%}
    cast(round(julianday(date({{ second_date }})) - julianday(date({{ first_date }}))) as integer)
  {%- elif part in ['hour', 'minute', 'second'] -%}
    {%- set seconds = {'hour': 3600, 'minute': 60, 'second': 1}[part] -%}
    cast((unixepoch({{ sqlite__date_trunc(part, second_date) }}) - unixepoch({{ sqlite__date_trunc(part, first_date) }})) / {{ seconds }} as integer)
  {%- else -%} {{ exceptions.raise_compiler_error("datediff: Sluice counts years, quarters, months, weeks, days, hours, minutes or seconds, not '" ~ datepart ~ "'") }}
  {%- endif -%}
{%- endmacro %}

{% macro sqlite__last_day(date, datepart) -%}
  date({{ sqlite__dateadd(datepart, 1, sqlite__date_trunc(datepart, date)) }}, '-1 day')
{%- endmacro %}

{% macro sqlite__date(year, month, day) -%}
  date('{{ "%04d-%02d-%02d" % (year | int, month | int, day | int) }}')
{%- endmacro %}

{% macro sqlite__current_timestamp() %}strftime('%Y-%m-%dT%H:%M:%fZ', 'now'){% endmacro %}
{% macro sqlite__current_timestamp_backcompat() %}strftime('%Y-%m-%dT%H:%M:%fZ', 'now'){% endmacro %}
{% macro sqlite__current_timestamp_in_utc_backcompat() %}strftime('%Y-%m-%dT%H:%M:%fZ', 'now'){% endmacro %}
{% macro sqlite__snapshot_get_time() %}strftime('%Y-%m-%dT%H:%M:%fZ', 'now'){% endmacro %}

{% macro sqlite__hash(field) %}lower(hex(cast({{ field }} as text))){% endmacro %}

{% macro sqlite__concat(fields) %}({{ fields | join(' || ') }}){% endmacro %}

{#- The string split into a JSON array, then indexed: part 1 is the first, -1 the last, as in Postgres. -#}
{% macro sqlite__split_part(string_text, delimiter_text, part_number) -%}
  {%- set n = part_number | int -%}
  {%- if n == 0 -%}{{ exceptions.raise_compiler_error("split_part: part_number counts from 1 (or from -1 at the end), not 0") }}{%- endif -%}
  coalesce(json_extract('[' || replace(json_quote(cast({{ string_text }} as text)), substr(json_quote({{ delimiter_text }}), 2, length(json_quote({{ delimiter_text }})) - 2), '","') || ']', '{{ "$[%d]" % (n - 1) if n > 0 else "$[#%d]" % n }}'), '')
{%- endmacro %}

{% macro sqlite__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
  {%- if limit_num -%}{{ exceptions.raise_compiler_error("listagg: SQLite cannot limit group_concat; Sluice does not support limit_num") }}{%- endif -%}
  group_concat({{ measure }}, {{ delimiter_text }}{% if order_by_clause %} {{ order_by_clause }}{% endif %})
{%- endmacro %}

{% macro sqlite__any_value(expression) %}min({{ expression }}){% endmacro %}
{% macro sqlite__bool_or(expression) %}max(case when {{ expression }} then 1 when not ({{ expression }}) then 0 end){% endmacro %}
{% macro sqlite__replace(field, old_chars, new_chars) %}replace({{ field }}, {{ old_chars }}, {{ new_chars }}){% endmacro %}
{% macro sqlite__length(expression) %}length({{ expression }}){% endmacro %}
{% macro sqlite__position(substring_text, string_text) %}instr({{ string_text }}, {{ substring_text }}){% endmacro %}
{% macro sqlite__right(string_text, length_expression) -%}
  case when ({{ length_expression }}) = 0 then '' else substr({{ string_text }}, -({{ length_expression }})) end
{%- endmacro %}
{% macro sqlite__escape_single_quotes(expression) %}{{ expression | replace("'", "''") }}{% endmacro %}
{% macro sqlite__string_literal(value) %}'{{ value | replace("'", "''") }}'{% endmacro %}
{% macro sqlite__cast_bool_to_text(field) -%}
  case when {{ field }} then 'true' when not ({{ field }}) then 'false' end
{%- endmacro %}
{% macro sqlite__except() %}except{% endmacro %}
{% macro sqlite__intersect() %}intersect{% endmacro %}

{#- 1 … upper_bound as generated_number. -#}
{% macro sqlite__generate_series(upper_bound) -%}
  with recursive sluice_series(generated_number) as (
    select 1 where 1 <= ({{ upper_bound }})
    union all
    select generated_number + 1 from sluice_series where generated_number < ({{ upper_bound }})
  )
  select generated_number from sluice_series
{%- endmacro %}

{% macro sqlite__get_intervals_between(start_date, end_date, datepart) -%}
  {%- if execute -%}
    {%- set result = run_query("select " ~ sqlite__datediff(start_date, end_date, datepart)) -%}
    {{ return(result.rows[0][0] | int if result and result.rows else 0) }}
  {%- else -%}
    {{ return(1) }}
  {%- endif -%}
{%- endmacro %}

{#- Every datepart from start_date up to, not including, end_date, as date_<datepart>. -#}
{% macro sqlite__date_spine(datepart, start_date, end_date) -%}
  with recursive sluice_spine(date_{{ datepart }}) as (
    select {{ sqlite__dateadd(datepart, 0, start_date) }}
    where {{ sqlite__dateadd(datepart, 0, start_date) }} < {{ sqlite__dateadd(datepart, 0, end_date) }}
    union all
    select {{ sqlite__dateadd(datepart, 1, "date_" ~ datepart) }} from sluice_spine
    where {{ sqlite__dateadd(datepart, 1, "date_" ~ datepart) }} < {{ sqlite__dateadd(datepart, 0, end_date) }}
  )
  select date_{{ datepart }} from sluice_spine
{%- endmacro %}

{#- Arrays are JSON arrays. -#}
{% macro sqlite__array_construct(inputs, data_type) -%}
  json_array({{ inputs | join(', ') }})
{%- endmacro %}
{% macro sqlite__array_append(array, new_element) %}json_insert({{ array }}, '$[#]', {{ new_element }}){% endmacro %}
{% macro sqlite__array_concat(array_1, array_2) -%}
  (select json_group_array(value) from (select value from json_each({{ array_1 }}) union all select value from json_each({{ array_2 }})))
{%- endmacro %}
{% macro sqlite__array_size(array) %}json_array_length({{ array }}){% endmacro %}
`;

export const crossDatabaseMacros: MacroFile[] = [{ package: "dbt", path: "sluice/cross_database.sql", sql: `${dispatchers}\n${sqlite}` }];
