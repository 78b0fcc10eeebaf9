-- One row per Stripe customer event: the customer as of that event. Times are ISO-8601 UTC with
-- milliseconds, like `_sluice_received_at` (see stg_stripe__charges).
select
  data__object__id as customer_id,
  data__object__email as email,
  data__object__name as name,
  coalesce(strftime('%Y-%m-%dT%H:%M:%fZ', created, 'unixepoch'), _sluice_received_at) as updated_at,
  _sluice_received_at as received_at
from {{ source('stripe', 'customers') }}
