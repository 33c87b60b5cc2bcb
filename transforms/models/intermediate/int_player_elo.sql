-- Roster Elo: ratings belong to players (player_key), so they follow a player across transfers and team
-- rebrands, where team Elo restarts at `elo_initial_rating`. A team's roster rating in a game is the mean of
-- its (up to five) starters' ratings before the game; expected = 1 / (1 + 10^((roster_opponent - roster_team)
-- / 400)), and every starter of team 1 gains K * (score_1 - expected) (K = `player_elo_k_factor`) while every
-- starter of team 2 loses it. A player's first game starts at `elo_initial_rating`.
--
-- Only games with player rows for both teams are rated: team-rows-only games (most of 2019-2023) change no
-- player's rating and have a null roster rating and roster_players = 0. Same one-pass fold as int_team_elo.sql
-- (outscaled/features/elo.py through macros/elo.sql), each side's members its starters by a dense player number.
with games as (
    select game_id, team_1, team_2, winner, cast(row_number() over (order by game_start, game_id) as bigint) as game_number
    from {{ ref('int_games') }}
),
players as (
    select player_key, row_number() over (order by player_key) as player_number
    from (select distinct player_key from {{ ref('int_player_games') }}) p
),
-- A player row names its team as its source does, which can differ from the team rows' name for the same
-- game (Worlds 2020: "dwg kia" players, "damwon gaming" team rows): the unmatched team is the other slot.
player_teams as (
    select p.game_id, p.team_key,
           case when p.team_key = g.team_1 then 1 when p.team_key = g.team_2 then 2 end as direct_slot
    from (select distinct game_id, team_key from {{ ref('int_player_games') }}) p
    join games g on g.game_id = p.game_id
),
slotted as (
    select game_id, team_key,
           coalesce(direct_slot, case when count(*) over (partition by game_id) = 2
                                      then 3 - max(direct_slot) over (partition by game_id) end) as slot
    from player_teams
),
starters as (
    select p.game_id, s.slot, n.player_number,
           row_number() over (partition by p.game_id, s.slot order by p.position, p.player_key) as starter
    from {{ ref('int_player_games') }} p
    join slotted s on s.game_id = p.game_id and s.team_key = p.team_key
    join players n on n.player_key = p.player_key
),
side_members as (
    select game_id, slot, {{ outscaled.ordered_list('player_number', ['starter']) }} as members,
           cast(count(*) as int) as players
    from starters
    where starter <= 5 and slot in (1, 2)
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
       coalesce(r.players_1, 0) as roster_players
from games g left join rosters r on r.game_number = g.game_number
union all
select g.game_id, g.team_2 as team_key, r.before_2 as roster_elo_before, r.before_2 - r.delta as roster_elo_after,
       coalesce(r.players_2, 0) as roster_players
from games g left join rosters r on r.game_number = g.game_number
