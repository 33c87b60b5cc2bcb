-- What each team concedes to each role after each of its games that has the opponent's player rows.
select
    s.team_key,
    s.position,
    g.game_start as last_game_start,
    {{ outscaled.select_state('s', outscaled.conceded_stats(), windows=[10]) }}
    s.games_seen,
    g.game_id as last_game_id
from {{ ref('int_team_conceded_state') }} s
join {{ ref('int_team_games') }} g on g.team_key = s.team_key and g.seq = s.seq
