-- Series reconstruction. Oracle's Elixir has no series id: games between the same two teams in the same
-- league belong to one series until the reported map number restarts (does not increase) or more than
-- `series_gap_hours` pass between two games.
with ordered as (
    select
        g.*,
        lag(game_start) over (partition by league, team_1, team_2 order by game_start, game_id) as previous_start,
        lag(map_number_reported) over (partition by league, team_1, team_2 order by game_start, game_id) as previous_map
    from {{ ref('int_games') }} g
),
flagged as (
    select
        *,
        case
            when previous_start is null then 1
            when {{ outscaled.hours_between('previous_start', 'game_start') }} > {{ var('series_gap_hours') }} then 1
            when map_number_reported is not null and previous_map is not null
                 and map_number_reported <= previous_map then 1
            else 0
        end as starts_series
    from ordered
),
numbered as (
    select
        *,
        sum(starts_series) over (partition by league, team_1, team_2 order by game_start, game_id
                                 rows between unbounded preceding and current row) as series_number
    from flagged
)
select
    game_id,
    league,
    team_1,
    team_2,
    game_start,
    game_end,
    winner,
    map_number_reported,
    {{ outscaled.key_hash(['league', 'team_1', 'team_2', 'min(game_start) over (partition by league, team_1, team_2, series_number)']) }} as series_id,
    min(game_start) over (partition by league, team_1, team_2, series_number) as series_start,
    cast(row_number() over (partition by league, team_1, team_2, series_number order by game_start, game_id) as bigint) as map_number
from numbered
