-- Every team's form after each of its games and its Elo rating after it (null for a game the rating
-- fold did not see); the state as of a moment is the team's latest row that started before it.
-- `roster_elo` is the mean player rating of the game's starters after it (int_player_elo.sql; null when the game
-- was not rated, e.g. team rows only): the strength of the lineup the team last fielded, which follows its
-- players across transfers and rebrands. The win model reads it as of the series' start.
select
    s.team_key,
    g.team_name,
    g.league,
    s.last_game_start,
    s.games_played,
    {{ outscaled.select_state('s', outscaled.team_stats(), windows=[5, 10, 20]) }}
    e.elo_after as elo,
    case when r.roster_players > 0 then r.roster_elo_after end as roster_elo,
    s.game_id as last_game_id
from {{ ref('int_team_state') }} s
join {{ ref('int_team_games') }} g on g.team_key = s.team_key and g.seq = s.seq
left join {{ ref('int_team_elo') }} e on e.game_id = s.game_id and e.team_key = s.team_key
left join {{ ref('int_player_elo') }} r on r.game_id = s.game_id and r.team_key = s.team_key
