-- The latest version of each charge, maintained incrementally from new charge events.
{{ config(materialized='incremental', unique_key='charge_id', tags=['revenue']) }}

with events as (
  select *, row_number() over (partition by charge_id order by created_at desc, received_at desc) as version
  from {{ ref('stg_stripe__charges') }}
  {% if is_incremental() %}
  where received_at > (select coalesce(max(received_at), '') from {{ this }})
  {% endif %}
)
select charge_id, amount, currency, status, customer_id, created_at, received_at
from events
where version = 1
