-- Picks and bans of each champion per (patch, day) in every game we know (int_champion_picks).
select
    patch,
    champion,
    {{ outscaled.day_of('game_start') }} as day,
    sum(case when kind = 'pick' then 1 else 0 end) as picks,
    sum(case when kind = 'ban' then 1 else 0 end) as bans
from {{ ref('int_champion_picks') }}
group by patch, champion, {{ outscaled.day_of('game_start') }}
