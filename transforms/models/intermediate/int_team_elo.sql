-- Team Elo ratings before and after every game. Every team starts at `elo_initial_rating`; after a game the
-- winner takes K * (1 - expected) points from the loser, expected = 1 / (1 + 10^((r_opponent - r_team) / 400));
-- a game without a known winner changes nothing. Ratings before a game use only earlier games.
--
-- Sequential by nature: one pass over all games in time order (game_start, game_id), each side's one member
-- the team (by a dense team number). The rule is outscaled/features/elo.py's, called by macros/elo.sql.
with games as (
    select game_id, team_1, team_2, winner, cast(row_number() over (order by game_start, game_id) as bigint) as game_number
    from {{ ref('int_games') }}
),
teams as (
    select team_key, row_number() over (order by team_key) as team_number
    from (select team_1 as team_key from games union select team_2 as team_key from games) t
),
steps as (
    select
        g.game_number,
        case when g.winner = g.team_1 then 1 when g.winner = g.team_2 then 0 end as score_1,
        {{ outscaled.list_of(['t1.team_number']) }} as members_1,
        {{ outscaled.list_of(['t2.team_number']) }} as members_2
    from games g
    join teams t1 on t1.team_key = g.team_1
    join teams t2 on t2.team_key = g.team_2
),
rated as (
    select * from {{ outscaled.elo_fold('steps', var('elo_k_factor')) }} folded
)
select g.game_id, g.team_1 as team_key, r.before_1 as elo_before, r.before_1 + r.delta as elo_after
from rated r join games g on g.game_number = r.game_number
union all
select g.game_id, g.team_2 as team_key, r.before_2 as elo_before, r.before_2 - r.delta as elo_after
from rated r join games g on g.game_number = r.game_number
