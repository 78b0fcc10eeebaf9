-- The latest version of each charge, maintained incrementally from new charge events.
--
-- New events are those loaded since the last run, by `load_seq` (the raw table's
-- `_sluice_load_seq`), not by when they were received or created: a quarantine retry, a
-- dead-letter redrive or a replay loads old events late, and a watermark on a time would skip
-- them. A late event is not necessarily the newest: each charge's row is chosen again from its new
-- events and the row it already has, by `created_at`, so a late `pending` never replaces a
-- `succeeded`. `load_seq` keeps the newest load seen for the charge, which is the next watermark,
-- and is indexed, so reading the watermark is one index lookup rather than a scan of the table.
{{ config(materialized='incremental', unique_key='charge_id', indexes=[{'columns': ['load_seq']}], tags=['revenue']) }}

with new_events as (
  select charge_id, amount, currency, status, customer_id, created_at, received_at, load_seq
  from {{ ref('stg_stripe__charges') }}
  {% if is_incremental() %}
  where load_seq > (select coalesce(max(load_seq), 0) from {{ this }})
  {% endif %}
),
candidates as (
  select * from new_events
  {% if is_incremental() %}
  union all
  select charge_id, amount, currency, status, customer_id, created_at, received_at, load_seq
  from {{ this }}
  where charge_id in (select charge_id from new_events)
  {% endif %}
),
ranked as (
  select *,
    row_number() over (partition by charge_id order by created_at desc, received_at desc) as version,
    max(load_seq) over (partition by charge_id) as newest_load
  from candidates
)
select charge_id, amount, currency, status, customer_id, created_at, received_at, newest_load as load_seq
from ranked
where version = 1
