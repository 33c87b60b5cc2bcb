-- Every player's state after each of their games: the same state columns as gold.player_features. The
-- state "as of" a moment is a player's latest row that started before it (outscaled/features/as_of.py):
-- the feature snapshot takes it as of now (or any past moment), training as of each series' start.
select
    s.player_key,
    g.player_name,
    s.last_team_key as team_key,
    g.team_name,
    s.last_position as position,
    g.league,
    s.last_game_start,
    s.games_played,
    {{ outscaled.select_state('s', outscaled.player_stats()) }}
    s.game_id as last_game_id
from {{ ref('int_player_state') }} s
join {{ ref('int_player_games') }} g on g.player_key = s.player_key and g.seq = s.seq
