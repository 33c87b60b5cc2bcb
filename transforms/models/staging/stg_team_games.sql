select
    game_id,
    {{ outscaled.team_key() }} as team_key,
    team_name,
    side,
    {{ outscaled.game_columns() }},
    coalesce(team_kills, kills) as kills,
    coalesce(team_deaths, deaths) as deaths
from {{ outscaled.bronze('team_games') }}
where team_name is not null
