-- The starters roster Elo rates (int_player_elo.sql): per game and side (slot 1 = int_games.team_1, 2 = team_2)
-- up to five player rows, in (position, player_key) order, each with a dense player number.
--
-- A player row names its team as its source does, which can differ from the team rows' name for the same
-- game (Worlds 2020: "dwg kia" players, "damwon gaming" team rows): the unmatched team is the other slot.
-- `team_key` is the team rows' key of the slot, so the ratings join the team's own rows.
with games as (
    select game_id, team_1, team_2 from {{ ref('int_games') }}
),
players as (
    select player_key, row_number() over (order by player_key) as player_number
    from (select distinct player_key from {{ ref('int_player_games') }}) p
),
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
    select p.game_id, s.slot, p.player_key, p.position, n.player_number,
           row_number() over (partition by p.game_id, s.slot order by p.position, p.player_key) as starter
    from {{ ref('int_player_games') }} p
    join slotted s on s.game_id = p.game_id and s.team_key = p.team_key
    join players n on n.player_key = p.player_key
)
select s.game_id, s.slot, case when s.slot = 1 then g.team_1 else g.team_2 end as team_key, s.player_key,
       s.player_number, s.starter
from starters s
join games g on g.game_id = s.game_id
where s.starter <= 5 and s.slot in (1, 2)
