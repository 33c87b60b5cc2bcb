-- Games with a pick or ban per (patch, day), and the first game start of the patch that day.
select
    patch,
    {{ outscaled.day_of('game_start') }} as day,
    count(distinct game_id) as games,
    min(game_start) as first_game_start
from {{ ref('int_champion_picks') }}
group by patch, {{ outscaled.day_of('game_start') }}
