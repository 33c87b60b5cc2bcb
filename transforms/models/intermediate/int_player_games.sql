-- Player games in time order with their series: `seq` numbers a player's games, `series_first_seq` is
-- the player's first game of the series, so the state at series_first_seq - 1 is what was known before
-- the series began.
with games as (
    select
        p.*,
        coalesce(s.series_id, p.game_id) as series_id,
        coalesce(s.series_start, p.game_start) as series_start,
        coalesce(s.map_number, 1) as map_number,
        case when s.team_1 = p.team_key then s.team_2 else s.team_1 end as opponent_key
    from {{ ref('stg_player_games') }} p
    left join {{ ref('int_game_series') }} s on s.game_id = p.game_id
),
numbered as (
    select
        *,
        cast(row_number() over (partition by player_key order by game_start, game_id) as bigint) as seq
    from games
)
select
    *,
    min(seq) over (partition by player_key, series_id) as series_first_seq
from numbered
