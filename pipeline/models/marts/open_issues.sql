-- Open GitHub issues. The open_issues report reads them by `updated_at`, newest first: indexed for it.
{{ config(indexes=[{'columns': ['updated_at']}]) }}

select issue_id, number, title, updated_at
from {{ ref('stg_github__issues') }}
where state = 'open'
