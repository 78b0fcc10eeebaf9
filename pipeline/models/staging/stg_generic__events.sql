-- One row per generic event. Sluice lands each field as a typed column; `type` is declared in
-- the stream's schema, so it exists even before the first event arrives.
{{ config(materialized='view') }}

select
  _sluice_key as event_key,
  _sluice_received_at as received_at,
  substr(_sluice_received_at, 1, 10) as received_on,
  coalesce(type, 'unknown') as event_type,
  _sluice_load_id as load_id
from {{ source('generic', 'events') }}
