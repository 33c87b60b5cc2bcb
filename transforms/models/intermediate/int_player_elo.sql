-- Roster Elo: ratings belong to players (player_key), so they follow a player across transfers and team
-- rebrands, where team Elo restarts at `elo_initial_rating`. A team's roster rating in a game is the mean of
-- its (up to five) starters' ratings before the game; expected = 1 / (1 + 10^((roster_opponent - roster_team)
-- / 400)), and every starter of team 1 gains K * (score_1 - expected) (K = `player_elo_k_factor`) while every
-- starter of team 2 loses it. A player's first game starts at `elo_initial_rating`.
--
-- `rating_change` is what each of the side's starters gained in the game (int_roster_starters.sql names them):
-- a player's rating after a game is `elo_initial_rating` plus the sum of their changes so far
-- (gold.player_state_history.elo).
--
-- Only games with player rows for both teams are rated: team-rows-only games (most of 2019-2023) change no
-- player's rating and have a null roster rating and roster_players = 0. Same one-pass fold as int_team_elo.sql
-- (outscaled/features/elo.py through macros/elo.sql), each side's members its starters by a dense player number
-- (int_roster_starters.sql).
with games as (
    select game_id, team_1, team_2, winner, cast(row_number() over (order by game_start, game_id) as bigint) as game_number
    from {{ ref('int_games') }}
),
side_members as (
    select game_id, slot, {{ outscaled.ordered_list('player_number', ['starter']) }} as members,
           cast(count(*) as int) as players
    from {{ ref('int_roster_starters') }}
    group by game_id, slot
),
steps as (
    select
        g.game_number,
        case when g.winner = g.team_1 then 1 when g.winner = g.team_2 then 0 end as score_1,
        s1.members as members_1, s2.members as members_2, s1.players as players_1, s2.players as players_2
    from games g
    join side_members s1 on s1.game_id = g.game_id and s1.slot = 1
    join side_members s2 on s2.game_id = g.game_id and s2.slot = 2
),
rated as (
    select * from {{ outscaled.elo_fold('steps', var('player_elo_k_factor')) }} folded
),
rosters as (
    select s.game_number, s.players_1, s.players_2, r.before_1, r.before_2, r.delta
    from rated r join steps s on s.game_number = r.game_number
)
select g.game_id, g.team_1 as team_key, r.before_1 as roster_elo_before, r.before_1 + r.delta as roster_elo_after,
       r.delta as rating_change, coalesce(r.players_1, 0) as roster_players
from games g left join rosters r on r.game_number = g.game_number
union all
select g.game_id, g.team_2 as team_key, r.before_2 as roster_elo_before, r.before_2 - r.delta as roster_elo_after,
       -r.delta as rating_change, coalesce(r.players_2, 0) as roster_players
from games g left join rosters r on r.game_number = g.game_number
