-- Open GitHub issues.
select issue_id, number, title, updated_at
from {{ ref('stg_github__issues') }}
where state = 'open'
