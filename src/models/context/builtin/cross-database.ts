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
  ["equals", "expr1, expr2", "expr1, expr2"],
  ["get_powers_of_two", "upper_bound", "upper_bound"],
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

const sqlite = `
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
  {%- elif part == 'quarter' -%} strftime('%Y-%m-01T00:00:00.000Z', {{ date }}, 'start of month', '-' || ((strftime('%m', {{ date }}) - 1) % 3) || ' months')
  {%- elif part == 'month' -%} strftime('%Y-%m-01T00:00:00.000Z', {{ date }})
  {%- elif part == 'week' -%} strftime('%Y-%m-%dT00:00:00.000Z', {{ date }}, 'weekday 0', '-6 days')
  {%- elif part == 'day' -%} strftime('%Y-%m-%dT00:00:00.000Z', {{ date }})
  {%- elif part == 'hour' -%} strftime('%Y-%m-%dT%H:00:00.000Z', {{ date }})
  {%- elif part == 'minute' -%} strftime('%Y-%m-%dT%H:%M:00.000Z', {{ date }})
  {%- elif part == 'second' -%} strftime('%Y-%m-%dT%H:%M:%S.000Z', {{ date }})
  {%- else -%} {{ exceptions.raise_compiler_error("date_trunc: Sluice truncates to year, quarter, month, week, day, hour, minute or second, not '" ~ datepart ~ "'") }}
  {%- endif -%}
{%- endmacro %}

{#-
  A datepart's interval as SQLite date modifiers. Months, quarters and years end on the last day of
  the month when the day does not exist there, as in Postgres and Snowflake (2024-01-31 + 1 month is
  2024-02-29): SQLite's own '+1 months' overflows into March, and the overflow is taken back.
-#}
{% macro sluice_interval(datepart, interval, from_date_or_timestamp) -%}
  {%- set part = datepart | lower | trim -%}
  {%- set months = {'year': 12, 'quarter': 3, 'month': 1} -%}
  {%- if part in months -%}
    {%- set shift = "((" ~ interval ~ ") * " ~ months[part] ~ ") || ' months'" -%}
    {%- set day = "strftime('%d', " ~ from_date_or_timestamp ~ ", " ~ shift ~ ")" -%}
    {{ shift }}, case when {{ day }} = strftime('%d', {{ from_date_or_timestamp }}) then '+0 days' else '-' || {{ day }} || ' days' end
  {%- elif part == 'week' -%} (({{ interval }}) * 7) || ' days'
  {%- elif part in ['day', 'hour', 'minute', 'second'] -%} ({{ interval }}) || ' {{ part }}s'
  {%- elif part == 'millisecond' -%} (({{ interval }}) / 1000.0) || ' seconds'
  {%- else -%} {{ exceptions.raise_compiler_error("dateadd: Sluice adds years, quarters, months, weeks, days, hours, minutes, seconds or milliseconds, not '" ~ datepart ~ "'") }}
  {%- endif -%}
{%- endmacro %}

{% macro sqlite__dateadd(datepart, interval, from_date_or_timestamp) -%}
  {{ sluice_timestamp(from_date_or_timestamp, [sluice_interval(datepart, interval, from_date_or_timestamp)]) }}
{%- endmacro %}

{#- Whole datepart boundaries crossed from the first to the second, as Snowflake and dbt count them; weeks start on Monday. -#}
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
  {%- elif part == 'millisecond' -%}
    cast(round((julianday({{ second_date }}) - julianday({{ first_date }})) * 86400000) as integer)
  {%- else -%} {{ exceptions.raise_compiler_error("datediff: Sluice counts years, quarters, months, weeks, days, hours, minutes, seconds or milliseconds, not '" ~ datepart ~ "'") }}
  {%- endif -%}
{%- endmacro %}

{#- The last day of the datepart (month, quarter, year, week) the date falls in, as a date. -#}
{% macro sqlite__last_day(date, datepart) -%}
  date({{ sqlite__dateadd(datepart, 1, sqlite__date_trunc(datepart, date)) }}, '-1 day')
{%- endmacro %}
{% macro default_last_day(date, datepart) %}{{ return(sqlite__last_day(date, datepart)) }}{% endmacro %}

{#- A date from its year, month and day, which must exist (dbt's Python date refuses 2023-02-29 too). -#}
{% macro sqlite__date(year, month, day) -%}
  {%- set text = "%04d-%02d-%02d" % (year | int, month | int, day | int) -%}
  {%- if modules.datetime.date(year | int, month | int, day | int).strftime('%Y-%m-%d') != text -%}
    {{ exceptions.raise_compiler_error("date: " ~ text ~ " is not a date") }}
  {%- endif -%}
  date('{{ text }}')
{%- endmacro %}

{% macro sqlite__current_timestamp() %}strftime('%Y-%m-%dT%H:%M:%fZ', 'now'){% endmacro %}
{% macro sqlite__current_timestamp_backcompat() %}strftime('%Y-%m-%dT%H:%M:%fZ', 'now'){% endmacro %}
{% macro sqlite__current_timestamp_in_utc_backcompat() %}strftime('%Y-%m-%dT%H:%M:%fZ', 'now'){% endmacro %}
{% macro sqlite__snapshot_get_time() %}strftime('%Y-%m-%dT%H:%M:%fZ', 'now'){% endmacro %}

{#- The text's UTF-8 bytes in lower-case hex: an encoding, so distinct texts never share a hash; none stays null. -#}
{% macro sqlite__hash(field) -%}
  case when ({{ field }}) is not null then lower(hex(cast({{ field }} as text))) end
{%- endmacro %}

{% macro sqlite__concat(fields) %}({{ fields | join(' || ') }}){% endmacro %}

{#-
  Postgres' split_part: part 1 is the first, -1 the last; a part past the end is ''; a null string
  stays null. The string is cut at each delimiter by a recursive query, so any delimiter works,
  whatever the string holds.
-#}
{% macro sqlite__split_part(string_text, delimiter_text, part_number) -%}
  {%- if part_number is number and part_number == 0 -%}{{ exceptions.raise_compiler_error("split_part: part_number counts from 1 (or from -1 at the end), not 0") }}{%- endif -%}
  {%- set cut = "case when " ~ delimiter_text ~ " = '' then length(rest) + 1 else instr(rest, " ~ delimiter_text ~ ") end" -%}
  (with recursive sluice_split(n, part, rest) as (
    select 0, null, cast({{ string_text }} as text) || {{ delimiter_text }}
    union all
    select n + 1, substr(rest, 1, {{ cut }} - 1), substr(rest, {{ cut }} + length({{ delimiter_text }})) from sluice_split where rest <> ''
  )
  select case when max(n) > 0 then coalesce(max(case when n = (case when ({{ part_number }}) > 0 then ({{ part_number }}) else (select max(n) from sluice_split) + 1 + ({{ part_number }}) end) then part end), '') end
  from sluice_split)
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
{#- The last n characters (all of them when n is longer); a negative n drops the first -n, as in Postgres. -#}
{% macro sqlite__right(string_text, length_expression) -%}
  substr({{ string_text }}, case when ({{ length_expression }}) < 0 then 1 - ({{ length_expression }}) else max(length({{ string_text }}) - ({{ length_expression }}), 0) + 1 end)
{%- endmacro %}
{% macro sqlite__equals(expr1, expr2) %}(({{ expr1 }}) is ({{ expr2 }})){% endmacro %}
{% macro sqlite__escape_single_quotes(expression) %}{{ expression | replace("'", "''") }}{% endmacro %}
{% macro sqlite__string_literal(value) %}'{{ value | replace("'", "''") }}'{% endmacro %}
{% macro sqlite__cast_bool_to_text(field) -%}
  case when {{ field }} then 'true' when not ({{ field }}) then 'false' end
{%- endmacro %}
{% macro sqlite__except() %}except{% endmacro %}
{% macro sqlite__intersect() %}intersect{% endmacro %}

{#- The smallest n with 2^n >= upper_bound, which must be positive: how many bits count to it. -#}
{% macro sqlite__get_powers_of_two(upper_bound) -%}
  {%- if upper_bound <= 0 -%}{{ exceptions.raise_compiler_error("get_powers_of_two: the upper bound must be positive, not " ~ upper_bound) }}{%- endif -%}
  {%- set bits = namespace(n=none) -%}
  {%- for n in range(1, 100) -%}{%- if bits.n is none and 2 ** n >= upper_bound -%}{%- set bits.n = n -%}{%- endif -%}{%- endfor -%}
  {{ return(bits.n) }}
{%- endmacro %}

{#- 1 … upper_bound as generated_number; none when upper_bound is below 1. -#}
{% macro sqlite__generate_series(upper_bound) -%}
  with recursive sluice_series(generated_number) as (
    select 1 where 1 <= ({{ upper_bound }})
    union all
    select generated_number + 1 from sluice_series where generated_number < ({{ upper_bound }})
  )
  select generated_number from sluice_series
{%- endmacro %}

{#- How many datepart boundaries lie between the dates: a number when running, 1 when compiling (as dbt). -#}
{% macro sqlite__get_intervals_between(start_date, end_date, datepart) -%}
  {%- if execute -%}
    {%- set result = run_query("select " ~ sqlite__datediff(start_date, end_date, datepart)) -%}
    {{ return(result[0][0] | int if result else 0) }}
  {%- else -%}
    {{ return(1) }}
  {%- endif -%}
{%- endmacro %}

{#-
  start_date plus 0, 1, 2, … dateparts, as date_<datepart>, for as many dateparts as datediff
  counts up to end_date (so end_date itself is not included), each counted from start_date as dbt
  does, so a spine of months from 2024-01-31 keeps to month ends.
-#}
{% macro sqlite__date_spine(datepart, start_date, end_date) -%}
  with recursive sluice_spine(k, n) as (
    select 0, {{ sqlite__datediff(start_date, end_date, datepart) }}
    union all
    select k + 1, n from sluice_spine where k + 1 < n
  )
  select {{ sqlite__dateadd(datepart, "k", start_date) }} as date_{{ datepart }}
  from sluice_spine
  where k < n and {{ sqlite__dateadd(datepart, "k", start_date) }} <= {{ sluice_timestamp(end_date) }}
{%- endmacro %}

{#- Arrays are JSON arrays. -#}
{% macro sqlite__array_construct(inputs, data_type) -%}
  json_array({{ inputs | join(', ') }})
{%- endmacro %}
{% macro sqlite__array_append(array, new_element) %}json_insert({{ array }}, '$[#]', {{ new_element }}){% endmacro %}
{#- The two arrays' elements in order, joined as JSON text. -#}
{% macro sqlite__array_concat(array_1, array_2) -%}
  case when json_array_length({{ array_1 }}) = 0 then json({{ array_2 }}) when json_array_length({{ array_2 }}) = 0 then json({{ array_1 }})
  else substr(json({{ array_1 }}), 1, length(json({{ array_1 }})) - 1) || ',' || substr(json({{ array_2 }}), 2) end
{%- endmacro %}
{% macro sqlite__array_size(array) %}json_array_length({{ array }}){% endmacro %}
`;

export const crossDatabaseMacros: MacroFile[] = [{ package: "dbt", path: "sluice/cross_database.sql", sql: `${dispatchers}\n${sqlite}` }];
