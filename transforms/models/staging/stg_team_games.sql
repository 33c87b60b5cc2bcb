select
    game_id,
    case when lower(trim(team_name)) in ('unknown team', 'unknown') then 'unknown:' || game_id || ':' || coalesce(side, '')
         else lower(trim(team_name)) end as team_key,
    team_name,
    side,
    league,
    split,
    coalesce(playoffs, 0) as playoffs,
    patch,
    date as game_start,
    {{ outscaled.seconds_after('date', 'game_length') }} as game_end,
    game_length,
    game as map_number_reported,
    result,
    coalesce(team_kills, kills) as kills,
    coalesce(team_deaths, deaths) as deaths
from {{ source('bronze', 'team_games') }}
where team_name is not null
