-- Succeeded charges per day and currency.
{{ config(tags=['revenue']) }}

select
  substr(created_at, 1, 10) as day,
  currency,
  count(*) as charges,
  sum(amount) as revenue
from {{ ref('fct_charges') }}
where status = 'succeeded'
group by 1, 2
