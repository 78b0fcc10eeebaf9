-- One row per generic event, with the fields the marts use pulled out of the JSON payload.
{{ config(materialized='view') }}

select
  _sluice_key as event_key,
  _sluice_received_at as received_at,
  substr(_sluice_received_at, 1, 10) as received_on,
  coalesce(json_extract(payload, '$.type'), 'unknown') as event_type,
  _sluice_load_id as load_id
from {{ source('generic', 'events') }}
