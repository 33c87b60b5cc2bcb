-- Every player's state after each of their games: the same state columns as gold.player_features. The
-- state "as of" a moment is a player's latest row that started before it (outscaled/features/as_of.py):
-- the feature snapshot takes it as of now (or any past moment), training as of each series' start.
-- `elo` is the player's roster-Elo rating after the game (int_player_elo.sql: the initial rating plus every change
-- of the player's rated games so far; null before their first rated game): the live update continues it.
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
    {{ var('elo_initial_rating') }} + sum(e.rating_change) over (
        partition by s.player_key order by s.seq rows between unbounded preceding and current row) as elo,
    s.game_id as last_game_id
from {{ ref('int_player_state') }} s
join {{ ref('int_player_games') }} g on g.player_key = s.player_key and g.seq = s.seq
left join {{ ref('int_roster_starters') }} r on r.game_id = s.game_id and r.player_key = s.player_key
left join {{ ref('int_player_elo') }} e on e.game_id = r.game_id and e.team_key = r.team_key and e.roster_players > 0
