-- The "as of now" version of what each team concedes to each role (state after its latest game).
select
    s.team_key,
    s.position,
    {{ outscaled.select_state('s', outscaled.conceded_stats(), windows=[10]) }}
    s.games_seen
from {{ ref('int_team_conceded_state') }} s
join (select team_key, position, max(seq) as seq from {{ ref('int_team_conceded_state') }} group by team_key, position) latest
  on latest.team_key = s.team_key and latest.position = s.position and latest.seq = s.seq
