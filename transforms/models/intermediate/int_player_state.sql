-- A player's rolling statistics after each of their games (that game included).
select
    player_key,
    seq,
    game_id,
    game_start as last_game_start,
    position as last_position,
    team_key as last_team_key,
    {{ outscaled.rolling_state_columns(outscaled.player_stats(), 'player_key', 'seq') }}
    seq as games_played
from {{ ref('int_player_games') }}
