-- Roster Elo: ratings belong to players (player_key), so they follow a player across transfers and team
-- rebrands, where team Elo restarts at `elo_initial_rating`. A team's roster rating in a game is the mean of
-- its (up to five) starters' ratings before the game; expected = 1 / (1 + 10^((roster_opponent - roster_team)
-- / 400)), and every starter of team 1 gains K * (score_1 - expected) (K = `player_elo_k_factor`) while every
-- starter of team 2 loses it. A player's first game starts at `elo_initial_rating`.
--
-- Only games with player rows for both teams are rated: team-rows-only games (most of 2019-2023) change no
-- player's rating and have a null roster rating and roster_players = 0. Same fold as int_team_elo.sql (one pass
-- over the games in time order, state = the list of current ratings by a dense player number).
{%- set double = 'cast({} as double)' %}
{%- set starters = range(1, 6) %}
{%- set roster_mean = {} %}
{%- for team in [1, 2] %}
    {%- set terms = [] %}
    {%- for s in starters %}
        {%- do terms.append('coalesce(' ~ outscaled.item_at('state.ratings', 'g.p' ~ team ~ '_' ~ s) ~ ', ' ~ double.format(0) ~ ')') %}
    {%- endfor %}
    {%- do roster_mean.update({team: '(' ~ terms | join(' + ') ~ ') / g.players_' ~ team}) %}
{%- endfor %}
{%- set expected_1 = double.format(1) ~ ' / (' ~ double.format(1) ~ ' + pow(' ~ double.format(10) ~ ', (b.before_2 - b.before_1) / '
                     ~ double.format(400) ~ '))' %}
{%- set delta = 'coalesce(' ~ double.format(var('player_elo_k_factor')) ~ ' * (g.score_1 - ' ~ expected_1 ~ '), ' ~ double.format(0) ~ ')' %}
{%- set step_fields = [('game_number', 'game_number'), ('score_1', 'score_1'), ('players_1', 'players_1'),
                       ('players_2', 'players_2')] %}
{%- set updates = [] %}
{%- for team, sign in [(1, '+'), (2, '-')] %}{% for s in starters %}
    {%- do step_fields.append(('p' ~ team ~ '_' ~ s, 'p' ~ team ~ '_' ~ s)) %}
    {%- do updates.append(('g.p' ~ team ~ '_' ~ s, outscaled.item_at('state.ratings', 'g.p' ~ team ~ '_' ~ s) ~ ' ' ~ sign ~ ' r.delta')) %}
{%- endfor %}{% endfor %}
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
steps as (
    select
        g.game_number,
        {%- for team in [1, 2] %}{% for s in starters %}
        max(case when r.slot = {{ team }} and r.starter = {{ s }} then r.player_number end) as p{{ team }}_{{ s }},
        {%- endfor %}
        cast(count(case when r.slot = {{ team }} and r.starter <= 5 then 1 end) as int) as players_{{ team }},
        {%- endfor %}
        case when g.winner = g.team_1 then {{ double.format(1) }}
             when g.winner = g.team_2 then {{ double.format(0) }} end as score_1
    from games g
    join starters r on r.game_id = g.game_id
    group by g.game_number, g.winner, g.team_1, g.team_2
    having min(r.slot) = 1 and max(r.slot) = 2
),
ordered as (
    select {{ outscaled.ordered_list(outscaled.struct_of(step_fields), ['game_number']) }} as steps,
           (select max(player_number) from players) as player_count
    from steps
),
folded as (
    select {{ outscaled.fold(
        'steps',
        outscaled.struct_of([
            ('ratings', outscaled.repeated(double.format(var('elo_initial_rating')), 'player_count')),
            ('rated', outscaled.empty_struct_list([('game_number', 'bigint'), ('before_1', 'double'),
                                                   ('before_2', 'double'), ('delta', 'double')]))]),
        'state', 'g',
        outscaled.let('b', outscaled.struct_of([('before_1', roster_mean[1]), ('before_2', roster_mean[2])]),
            outscaled.let('r', outscaled.struct_of([('game_number', 'g.game_number'), ('before_1', 'b.before_1'),
                                                    ('before_2', 'b.before_2'),
                                                    ('delta', delta)]),
                outscaled.struct_of([
                    ('ratings', outscaled.with_items('state.ratings', updates)),
                    ('rated', 'array_append(state.rated, r)')])))
    ) }} as state
    from ordered
),
rated as (
    select {{ outscaled.explode('state.rated') }} as r from folded
),
rosters as (
    select s.game_number, s.players_1, s.players_2, r.before_1, r.before_2, r.delta
    from rated join steps s on s.game_number = r.game_number
)
select g.game_id, g.team_1 as team_key, r.before_1 as roster_elo_before, r.before_1 + r.delta as roster_elo_after,
       coalesce(r.players_1, 0) as roster_players
from games g left join rosters r on r.game_number = g.game_number
union all
select g.game_id, g.team_2 as team_key, r.before_2 as roster_elo_before, r.before_2 - r.delta as roster_elo_after,
       coalesce(r.players_2, 0) as roster_players
from games g left join rosters r on r.game_number = g.game_number
