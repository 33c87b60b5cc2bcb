-- The "as of now" player vector: the same state columns as gold.player_features, after each player's
-- latest game. The online service adds what depends on the moment of the request (days since last game).
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
join (select player_key, max(seq) as seq from {{ ref('int_player_state') }} group by player_key) latest
  on latest.player_key = s.player_key and latest.seq = s.seq
join {{ ref('int_player_games') }} g on g.player_key = s.player_key and g.seq = s.seq
