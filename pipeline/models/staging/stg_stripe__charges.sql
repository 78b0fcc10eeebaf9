-- One row per Stripe charge event: the charge as of that event.
select
  data__object__id as charge_id,
  id as event_id,
  type as event_type,
  data__object__amount as amount_cents,
  data__object__amount / 100.0 as amount,
  upper(coalesce(data__object__currency, 'usd')) as currency,
  data__object__status as status,
  data__object__customer as customer_id,
  coalesce(datetime(created, 'unixepoch'), _sluice_received_at) as created_at,
  _sluice_received_at as received_at
from {{ source('stripe', 'charges') }}
