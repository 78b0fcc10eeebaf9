-- The newest event of each customer, which the snapshot tracks.
select customer_id, email, name, updated_at
from (
  select *, row_number() over (partition by customer_id order by updated_at desc, received_at desc) as version
  from {{ ref('stg_stripe__customers') }}
)
where version = 1
