-- Succeeded charges per day and currency.
--
-- The daily_revenue report filters on currency and a range of days, newest first, or on days
-- alone: each has its index, so a report the cache misses reads the rows it serves, not the table.
{{ config(tags=['revenue'], indexes=[{'columns': ['currency', 'day']}, {'columns': ['day']}]) }}

select
  substr(created_at, 1, 10) as day,
  currency,
  count(*) as charges,
  sum(amount) as revenue
from {{ ref('fct_charges') }}
where status = 'succeeded'
group by 1, 2
