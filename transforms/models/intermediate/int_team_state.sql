-- A team's rolling form after each of its games.
select
    team_key,
    seq,
    game_id,
    game_start as last_game_start,
    {{ outscaled.rolling_state_columns(outscaled.team_stats(), 'team_key', 'seq', windows=[5, 10, 20]) }}
    seq as games_played
from {{ ref('int_team_games') }}
