-- Pulled GitHub issues, merged by id upstream: one row per issue, as last pulled.
select
  id as issue_id,
  number,
  title,
  state,
  updated_at
from {{ source('github_api', 'issues') }}
