-- Every patch and when it was first seen in any league (match files and the drafts file).
select patch, min(game_start) as patch_first_seen
from {{ ref('int_champion_picks') }}
where patch is not null
group by patch
