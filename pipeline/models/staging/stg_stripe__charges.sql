-- One row per Stripe charge event: the charge as of that event. Times are ISO-8601 UTC with
-- milliseconds (`YYYY-MM-DDTHH:MM:SS.sssZ`), the format of `_sluice_received_at`, so a column
-- never mixes two formats that compare wrongly.
select
  data__object__id as charge_id,
  id as event_id,
  type as event_type,
  data__object__amount as amount_cents,
  data__object__amount / 100.0 as amount,
  upper(coalesce(data__object__currency, 'usd')) as currency,
  data__object__status as status,
  data__object__customer as customer_id,
  coalesce(strftime('%Y-%m-%dT%H:%M:%fZ', created, 'unixepoch'), _sluice_received_at) as created_at,
  _sluice_received_at as received_at,
  _sluice_load_seq as load_seq
from {{ source('stripe', 'charges') }}
