-- Each Stripe customer's latest profile, with what they have paid.
with latest as (
  select *, row_number() over (partition by customer_id order by updated_at desc, received_at desc) as version
  from {{ ref('stg_stripe__customers') }}
),
paid as (
  select customer_id, count(*) as charges, sum(amount) as lifetime_value
  from {{ ref('fct_charges') }}
  where status = 'succeeded'
  group by customer_id
)
select
  latest.customer_id,
  latest.email,
  latest.name,
  coalesce(paid.charges, 0) as charges,
  coalesce(paid.lifetime_value, 0) as lifetime_value
from latest
left join paid on paid.customer_id = latest.customer_id
where latest.version = 1
