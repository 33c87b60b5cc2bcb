-- The "as of now" roster rating per team, for the prediction service: the mean rating of the starters of the
-- team's latest game with player rows, after that game (int_player_elo.sql). Teams whose games are all
-- team-rows-only have no roster rating, hence no row.
with rated as (
    select
        t.team_key,
        t.game_id,
        t.game_start,
        e.roster_elo_after,
        row_number() over (partition by t.team_key order by t.game_start desc, t.game_id desc) as recency
    from {{ ref('int_team_games') }} t
    join {{ ref('int_player_elo') }} e on e.game_id = t.game_id and e.team_key = t.team_key
    where e.roster_players > 0
)
select team_key, game_start as last_game_start, roster_elo_after as roster_elo, game_id as last_game_id
from rated
where recency = 1
