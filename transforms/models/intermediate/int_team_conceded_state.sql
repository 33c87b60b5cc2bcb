-- What a team concedes to each role: the opposing player's stats in that position, rolling over the
-- team's games (state after each game, keyed by the conceding team's sequence number).
with conceded as (
    select
        t.team_key,
        t.seq,
        p.position,
        p.kills,
        p.deaths,
        p.assists,
        p.cs
    from {{ ref('int_team_games') }} t
    join {{ ref('stg_player_games') }} p on p.game_id = t.game_id and p.team_key = t.opponent_key
)
select
    team_key,
    position,
    seq,
    {{ outscaled.rolling_state_columns(outscaled.conceded_stats(), 'team_key, position', 'seq', windows=[10]) }}
    count(*) over (partition by team_key, position order by seq rows between unbounded preceding and current row) as games_seen
from conceded
