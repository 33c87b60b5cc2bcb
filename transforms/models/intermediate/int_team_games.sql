-- Team games in time order with series, opponent and per-team sequence numbers.
with games as (
    select
        t.game_id,
        t.team_key,
        t.team_name,
        t.side,
        t.league,
        t.split,
        t.playoffs,
        t.patch,
        t.game_start,
        t.game_end,
        t.result,
        t.result as win,
        t.kills,
        t.deaths,
        {{ outscaled.ratio('t.game_length', 60) }} as game_minutes,
        s.series_id,
        s.series_start,
        s.map_number,
        case when s.team_1 = t.team_key then s.team_2 else s.team_1 end as opponent_key
    from {{ ref('stg_team_games') }} t
    join {{ ref('int_game_series') }} s on s.game_id = t.game_id
),
numbered as (
    select *, cast(row_number() over (partition by team_key order by game_start, game_id) as bigint) as seq
    from games
)
select *, min(seq) over (partition by team_key, series_id) as series_first_seq
from numbered
