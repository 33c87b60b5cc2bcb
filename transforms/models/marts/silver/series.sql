-- One row per reconstructed series. best_of is read from the winner's map wins (3 wins: best of 5,
-- 2: best of 3, 1 with a single map: best of 1); a 1-1 series reports best_of 2.
with games as (
    select * from {{ ref('int_game_series') }}
),
per_series as (
    select
        series_id,
        min(league) as league,
        min(team_1) as team_1,
        min(team_2) as team_2,
        min(series_start) as series_start,
        max(game_end) as series_end,
        count(*) as maps_played,
        sum(case when winner = team_1 then 1 else 0 end) as team_1_wins,
        sum(case when winner = team_2 then 1 else 0 end) as team_2_wins
    from games
    group by series_id
)
select
    s.series_id,
    s.league,
    s.team_1,
    s.team_2,
    s.series_start,
    s.series_end,
    cast(s.series_start as date) as series_date,
    cast(greatest(2 * greatest(s.team_1_wins, s.team_2_wins) - 1, s.maps_played) as bigint) as best_of,
    cast(s.maps_played as bigint) as maps_played,
    cast(s.team_1_wins as bigint) as team_1_wins,
    cast(s.team_2_wins as bigint) as team_2_wins,
    case when s.team_1_wins > s.team_2_wins then s.team_1
         when s.team_2_wins > s.team_1_wins then s.team_2 end as winner,
    g.playoffs,
    g.split
from per_series s
left join (select series_id, max(playoffs) as playoffs, min(split) as split
           from {{ ref('int_games') }} ig join games using (game_id) group by series_id) g using (series_id)
