-- Every patch and when it was first seen in any league: in a pick or ban (match files and the drafts file) or
-- in a team row (the team-rows-only files name the patch too), so every game's patch has a first sighting.
select patch, min(game_start) as patch_first_seen
from (
    select patch, first_game_start as game_start from {{ ref('int_patch_days') }} where patch is not null
    union all
    select patch, game_start from {{ ref('int_team_games') }} where patch is not null
) seen
group by patch
