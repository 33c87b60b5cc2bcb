-- Team Elo ratings before and after every game. Every team starts at `elo_initial_rating`; after a game the
-- winner takes K * (1 - expected) points from the loser, expected = 1 / (1 + 10^((r_opponent - r_team) / 400));
-- a game without a known winner changes nothing. Ratings before a game use only earlier games.
--
-- Sequential by nature, so it is one fold over all games in time order (game_start, game_id). Its state is
-- the list of current ratings (one item per team, by a dense team number) and the ratings seen at each
-- game so far. The pieces of the fold are engine macros (macros/engine.sql); the rule is written once, here.
{%- set double = 'cast({} as double)' %}
{%- set rating_1 = outscaled.item_at('state.ratings', 'g.team_1_number') %}
{%- set rating_2 = outscaled.item_at('state.ratings', 'g.team_2_number') %}
{%- set expected_1 = double.format(1) ~ ' / (' ~ double.format(1) ~ ' + pow(' ~ double.format(10) ~ ', ('
                     ~ rating_2 ~ ' - ' ~ rating_1 ~ ') / ' ~ double.format(400) ~ '))' %}
{%- set rated_game = [('game_number', 'g.game_number'), ('before_1', rating_1), ('before_2', rating_2),
                      ('delta', 'coalesce(' ~ double.format(var('elo_k_factor')) ~ ' * (g.score_1 - ' ~ expected_1 ~ '), '
                                ~ double.format(0) ~ ')')] %}
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
        t1.team_number as team_1_number,
        t2.team_number as team_2_number,
        case when g.winner = g.team_1 then {{ double.format(1) }}
             when g.winner = g.team_2 then {{ double.format(0) }} end as score_1
    from games g
    join teams t1 on t1.team_key = g.team_1
    join teams t2 on t2.team_key = g.team_2
),
ordered as (
    select {{ outscaled.ordered_list(outscaled.struct_of([('game_number', 'game_number'),
                                                          ('team_1_number', 'team_1_number'),
                                                          ('team_2_number', 'team_2_number'),
                                                          ('score_1', 'score_1')]), ['game_number']) }} as steps,
           greatest(max(team_1_number), max(team_2_number)) as team_count
    from steps
),
folded as (
    select {{ outscaled.fold(
        'steps',
        outscaled.struct_of([
            ('ratings', outscaled.repeated(double.format(var('elo_initial_rating')), 'team_count')),
            ('rated', outscaled.empty_struct_list([('game_number', 'bigint'), ('before_1', 'double'),
                                                   ('before_2', 'double'), ('delta', 'double')]))]),
        'state', 'g',
        outscaled.let('r', outscaled.struct_of(rated_game), outscaled.struct_of([
            ('ratings', outscaled.with_items('state.ratings', [('g.team_1_number', 'r.before_1 + r.delta'),
                                                               ('g.team_2_number', 'r.before_2 - r.delta')])),
            ('rated', 'array_append(state.rated, r)')]))
    ) }} as state
    from ordered
),
rated as (
    select {{ outscaled.explode('state.rated') }} as r from folded
)
select g.game_id, g.team_1 as team_key, r.before_1 as elo_before, r.before_1 + r.delta as elo_after
from rated join games g on g.game_number = r.game_number
union all
select g.game_id, g.team_2 as team_key, r.before_2 as elo_before, r.before_2 - r.delta as elo_after
from rated join games g on g.game_number = r.game_number
