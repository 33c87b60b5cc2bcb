{#
  Elo's fold over `steps`, a relation of one row per game: game_number (time order), score_1 (1 when side 1
  won, 0 when side 2 won, null when no winner is known), members_1 and members_2 (the rated members of each
  side, lists of bigint numbers, in the order their ratings are summed). The result is a relation of
  (game_number, before_1, before_2, delta): each side's mean rating before the game, and what side 1's members
  gain and side 2's lose.

  One pass in Python over the games in time order (outscaled/features/elo.py, where the update rule lives):
  on DuckDB a function the project's dbt plugin registers on the connection, on Spark `SELECT TRANSFORM`
  piping every game, in one partition and sorted, through `python -m outscaled.features.elo_stream`
  (OUTSCALED_PYTHON, set by outscaled.config.dbt_environment, names that Python). A fold in SQL had to copy
  every rating at every game, which grows with games x teams.
#}
{% macro elo_fold(steps, k_factor) -%}
  {{ adapter.dispatch('elo_fold', 'outscaled')(steps, k_factor) }}
{%- endmacro %}

{% macro duckdb__elo_fold(steps, k_factor) -%}
  (select rated.game_number, rated.before_1, rated.before_2, rated.delta
   from (select unnest(outscaled_elo_fold(all_steps, cast({{ k_factor }} as double),
                                          cast({{ var('elo_initial_rating') }} as double))) as rated
         from (select list(struct_pack(game_number := cast(game_number as bigint), score_1 := cast(score_1 as double),
                                       members_1 := cast(members_1 as bigint[]), members_2 := cast(members_2 as bigint[]))
                           order by game_number) as all_steps
               from {{ steps }}) listed) unnested)
{%- endmacro %}

{% macro spark__elo_fold(steps, k_factor) -%}
  (select transform(game_number, score_1, members_1, members_2)
     using '"{{ env_var('OUTSCALED_PYTHON', 'python3') }}" -m outscaled.features.elo_stream {{ k_factor }} {{ var('elo_initial_rating') }}'
     as (game_number bigint, before_1 double, before_2 double, delta double)
   from (select game_number, cast(score_1 as double) as score_1,
                concat_ws(' ', transform(members_1, m -> cast(m as string))) as members_1,
                concat_ws(' ', transform(members_2, m -> cast(m as string))) as members_2
         from {{ steps }}
         distribute by 0 sort by game_number) ordered_steps)
{%- endmacro %}
