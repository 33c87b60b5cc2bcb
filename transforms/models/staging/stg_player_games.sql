-- One row per player per game, keyed by player (not team): players change teams, names are the one
-- identifier every source carries (several drop player ids), so the key is the normalised name.
-- Placeholders ("unknown player") get a key of their own per row; a name twice in one game (a source
-- error, e.g. a jungler labelled with the support's name) is told apart by team and position.
with named as (
    select
        *,
        case when player_name is null or lower(trim(player_name)) in ('unknown player', 'unknown')
             then 'unknown:' || game_id || ':' || coalesce(side, '') || ':' || position || ':' || coalesce(team_name, '')
             else lower(trim(player_name)) end as name_key,
        {{ outscaled.team_key() }} as team_name_key
    from {{ outscaled.bronze('player_games') }}
)
select
    game_id,
    case when count(*) over (partition by game_id, name_key, team_name_key) > 1
              then name_key || '@' || team_name_key || '@' || position
         when count(*) over (partition by game_id, name_key) > 1 then name_key || '@' || team_name_key
         else name_key end as player_key,
    player_name,
    player_id,
    team_name_key as team_key,
    team_name,
    position,
    side,
    champion,
    {{ outscaled.game_columns() }},
    kills,
    deaths,
    assists,
    team_kills,
    team_deaths,
    total_cs as cs,
    damage_share,
    earned_gold_share as gold_share,
    case when team_kills > 0 then {{ outscaled.ratio('kills + assists', 'team_kills') }} end as kill_participation
from named
