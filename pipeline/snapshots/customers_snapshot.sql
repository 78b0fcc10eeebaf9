{% snapshot customers_snapshot %}
{{ config(unique_key='customer_id', strategy='timestamp', updated_at='updated_at') }}
-- Every version of every customer's profile (SCD2).
select customer_id, email, name, updated_at
from {{ ref('customers_latest') }}
{% endsnapshot %}
