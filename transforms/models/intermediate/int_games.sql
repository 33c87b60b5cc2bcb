-- One row per game with its two teams in a fixed order (team_1 < team_2 by key).
with teams as (
    select *, row_number() over (partition by game_id order by team_key, side) as slot
    from {{ ref('stg_team_games') }}
)
select
    a.game_id,
    a.league,
    a.split,
    a.playoffs,
    a.patch,
    a.game_start,
    a.game_end,
    a.game_length,
    a.map_number_reported,
    a.team_key as team_1,
    b.team_key as team_2,
    a.team_name as team_1_name,
    b.team_name as team_2_name,
    case when a.result = 1 then a.team_key when b.result = 1 then b.team_key end as winner
from teams a
join teams b on a.game_id = b.game_id and a.slot = 1 and b.slot = 2
