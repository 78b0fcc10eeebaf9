-- Events received per day: the example pipeline's report.
-- The events_per_day report reads a range of days, newest first: `day` is indexed for it.
{{ config(materialized='table', indexes=[{'columns': ['day']}]) }}

select
  received_on as day,
  count(*) as events,
  count(distinct event_type) as event_types,
  min(received_at) as first_received_at,
  max(received_at) as last_received_at
from {{ ref('stg_generic__events') }}
group by received_on
