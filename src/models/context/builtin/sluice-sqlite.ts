/**
 * `sluice_sqlite`: Sluice's `sqlite__` versions of package macros (dbt_utils, dbt_date) whose
 * `default__` is not valid on SQLite, in Sluice's words. Dispatch searches this package right
 * before the dispatched namespace, as spark_utils and tsql_utils do for their adapters, so a
 * project's own `sqlite__` macros and its `dispatch:` config still come first.
 *
 * Timestamps come out in the form Sluice stores them (ISO 8601 with milliseconds and a `Z`);
 * `convert_timezone` writes the wall-clock time of its target zone in that form. Time zones come
 * from the Worker's IANA database (`Intl`), rendered into the SQL (context/time-zones.ts).
 */
import type { MacroFile } from "../macros.ts";

const sql = `
{#- ---- dbt_date ---- -#}

{#- The instant, read as UTC, as epoch seconds with its milliseconds. -#}
{% macro sluice_epoch(expression) %}unixepoch({{ expression }}, 'subsec'){% endmacro %}

{% macro sqlite__convert_timezone(column, target_tz, source_tz) -%}
  {%- set utc = 'sluice_local - ' ~ sluice_local_offset_sql(source_tz, 'sluice_local') -%}
  (select strftime('%Y-%m-%dT%H:%M:%fZ', sluice_utc + {{ sluice_utc_offset_sql(target_tz, 'sluice_utc') }}, 'unixepoch')
   from (select {{ utc }} as sluice_utc from (select {{ sluice_epoch(column) }} as sluice_local)))
{%- endmacro %}

{#- Postgres' date_part/extract, for the parts dbt_date asks for. -#}
{% macro sqlite__date_part(datepart, date) -%}
  {%- set part = datepart | lower | trim -%}
  {%- set formats = {'year': '%Y', 'month': '%m', 'day': '%d', 'hour': '%H', 'minute': '%M', 'doy': '%j', 'dayofyear': '%j', 'day_of_year': '%j'} -%}
  {%- if part in formats -%} cast(strftime('{{ formats[part] }}', {{ date }}) as integer)
  {%- elif part == 'second' -%} cast(strftime('%f', {{ date }}) as real)
  {%- elif part in ['dow', 'dayofweek', 'day_of_week'] -%} cast(strftime('%w', {{ date }}) as integer)
  {%- elif part in ['isodow', 'dayofweekiso', 'dayofweek_iso'] -%} ((cast(strftime('%w', {{ date }}) as integer) + 6) % 7 + 1)
  {%- elif part == 'quarter' -%} cast((cast(strftime('%m', {{ date }}) as integer) + 2) / 3 as integer)
  {%- elif part == 'epoch' -%} {{ sluice_epoch(date) }}
  {%- elif part in ['week', 'isoweek', 'weekiso'] -%}
    {#- The ISO week: the week (Monday to Sunday) of the year its Thursday falls in. -#}
    cast((cast(strftime('%j', date({{ date }}, '-3 days', 'weekday 4')) as integer) + 6) / 7 as integer)
  {%- else -%} {{ exceptions.raise_compiler_error("date_part: Sluice reads year, quarter, month, week, day, dow, isodow, doy, hour, minute, second or epoch on SQLite, not '" ~ datepart ~ "'") }}
  {%- endif -%}
{%- endmacro %}

{% macro sqlite__day_of_week(date, isoweek) -%}
  {%- if isoweek -%} {{ sqlite__date_part('isodow', date) }}
  {%- else -%} (cast(strftime('%w', {{ date }}) as integer) + 1)
  {%- endif -%}
{%- endmacro %}

{% macro sluice_name_of(date, format, names, short) -%}
  case cast(strftime('{{ format }}', {{ date }}) as integer)
  {%- for name in names %} when {{ loop.index0 if format == '%w' else loop.index }} then '{{ name[:3] if short else name }}'{% endfor %} end
{%- endmacro %}

{% macro sqlite__day_name(date, short) -%}
  {{ sluice_name_of(date, '%w', ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'], short) }}
{%- endmacro %}

{% macro sqlite__month_name(date, short) -%}
  {{ sluice_name_of(date, '%m', ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'], short) }}
{%- endmacro %}

{#- Weeks counted from January 1st, as DuckDB's and Postgres' dbt_date count them. -#}
{% macro sqlite__week_of_year(date) -%}
  cast((cast(strftime('%j', {{ date }}) as integer) + 6) / 7 as integer)
{%- endmacro %}

{% macro sqlite__iso_week_start(date) %}date({{ date }}, 'weekday 0', '-6 days'){% endmacro %}

{% macro sqlite__to_unixtimestamp(timestamp) %}{{ sluice_epoch(timestamp) }}{% endmacro %}

{% macro sqlite__from_unixtimestamp(epochs, format) -%}
  {%- set scale = {'seconds': '', 'milliseconds': ' / 1000.0', 'microseconds': ' / 1000000.0'} -%}
  {%- if format not in scale -%}
    {{ exceptions.raise_compiler_error("from_unixtimestamp: format is seconds, milliseconds or microseconds, not '" ~ format ~ "'") }}
  {%- endif -%}
  strftime('%Y-%m-%dT%H:%M:%fZ', ({{ epochs }}){{ scale[format] }}, 'unixepoch')
{%- endmacro %}

{#- ---- shared by dbt_utils and dbt_date ---- -#}

{% macro sqlite__generate_series(upper_bound) %}{{ return(dbt.sqlite__generate_series(upper_bound)) }}{% endmacro %}

{% macro sqlite__get_intervals_between(start_date, end_date, datepart) -%}
  {{ return(dbt.sqlite__get_intervals_between(start_date, end_date, datepart)) }}
{%- endmacro %}

{#- Each datepart from start_date up to, not including, end_date; each bound is evaluated once. -#}
{% macro sqlite__date_spine(datepart, start_date, end_date) -%}
  {%- set step = dbt.sqlite__dateadd(datepart, 1, 'sluice_day.date_' ~ datepart) -%}
  with recursive sluice_bounds(sluice_from, sluice_to) as (
    select {{ dbt.sqlite__dateadd(datepart, 0, start_date) }}, {{ dbt.sqlite__dateadd(datepart, 0, end_date) }}
  ),
  sluice_day(date_{{ datepart }}) as (
    select sluice_from from sluice_bounds where sluice_from < sluice_to
    union all
    select {{ step }} from sluice_day, sluice_bounds where {{ step }} < sluice_to
  )
  select date_{{ datepart }} from sluice_day
{%- endmacro %}

{#- ---- dbt_utils ---- -#}

{#- Tables and views of D1 as schema and name: a table S__name is in schema S (and, as named, in main). -#}
{% macro sqlite__get_tables_by_pattern_sql(schema_pattern, table_pattern, exclude='', database=target.database) -%}
  select distinct table_schema as "table_schema", table_name as "table_name", table_type as "table_type"
  from (
    select 'main' as table_schema, name as table_name, type as table_type from sqlite_master where type in ('table', 'view')
    union all
    select substr(name, 1, instr(name, '__') - 1), substr(name, instr(name, '__') + 2), type from sqlite_master
    where type in ('table', 'view') and instr(name, '__') > 1
  )
  where table_name not like 'sqlite~_%' escape '~' and table_name not like '~_cf~_%' escape '~'
    and table_name not like '~_sluice%' escape '~' and table_name <> 'd1_migrations'
    and table_schema like '{{ schema_pattern }}' and table_name like '{{ table_pattern }}'
    and table_name not like '{{ exclude }}'
{%- endmacro %}

{% macro sqlite__get_table_types_sql() %}table_type as "table_type"{% endmacro %}

{% macro sqlite__width_bucket(expr, min_value, max_value, num_buckets) -%}
  {%- set width -%} ((({{ max_value }}) - ({{ min_value }})) / ({{ num_buckets }})) {%- endset -%}
  ((case when mod({{ expr }}, {{ width }}) = 0 then 1 else 0 end)
    + min(ceil((({{ expr }}) - ({{ min_value }})) / {{ width }}), ({{ num_buckets }}) + 1))
{%- endmacro %}
`;

export const sluiceSqliteMacros: MacroFile[] = [{ package: "sluice_sqlite", path: "sluice/sluice_sqlite.sql", sql }];
