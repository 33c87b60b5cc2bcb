{#
  The feature definitions, once. A "state" row holds a subject's rolling statistics after one of its
  games (that game included). Point-in-time features for a game are the state after the subject's last
  game before the game's series began; the "as of now" vector is the state after its latest game.
#}

{% macro player_stats() -%}
  {{ return(['kills', 'deaths', 'assists', 'cs', 'damage_share', 'kill_participation', 'gold_share']) }}
{%- endmacro %}

{% macro team_stats() -%}
  {{ return(['win', 'kills', 'deaths', 'game_minutes']) }}
{%- endmacro %}

{% macro conceded_stats() -%}
  {{ return(['kills', 'deaths', 'assists', 'cs']) }}
{%- endmacro %}

{#
  The recent level of a league and position (the level the stat models correct): a mean of every earlier
  day's games weighted by exp(-(days ago) / recent_level_days), so a season's new level shows within weeks.
  The weight of a day is written relative to a fixed day (it cancels in the ratio), which keeps the terms
  finite for any date this data can hold. outscaled/features/live_state.py computes the same numbers.
#}
{% macro recency_weight(day_expr) -%}
  exp({{ outscaled.days_between("cast('2020-01-01' as timestamp)", 'cast(' ~ day_expr ~ ' as timestamp)') }} / cast({{ var('recent_level_days') }} as double))
{%- endmacro %}

{# Rolling means over the last N games for every window, and an exponentially weighted mean. #}
{% macro rolling_state_columns(stats, partition_by, order_by, windows=none) -%}
  {%- set windows = windows or var('rolling_windows') -%}
  {%- for stat in stats %}
    {%- for w in windows %}
    avg({{ stat }}) over (partition by {{ partition_by }} order by {{ order_by }}
                          rows between {{ w - 1 }} preceding and current row) as {{ stat }}_avg_{{ w }},
    {%- endfor %}
    {{ outscaled.ewm(stat, partition_by, order_by) }} as {{ stat }}_ewm,
  {%- endfor %}
{%- endmacro %}

{# EWM over the last `ewm_span` games: sum_k w_k x_(t-k) / sum_k w_k over the games that have a value,
   w_k = (1 - alpha)^k. Plain window functions, so every engine computes it the same way. #}
{% macro ewm(stat, partition_by, order_by) -%}
  {%- set alpha = var('ewm_alpha') -%}
  {%- set span = var('ewm_span') -%}
  (
    {%- for k in range(span) %}
    {%- set weight = 'cast(' ~ (1 - alpha) ** k ~ ' as double)' %}
    {%- set value = stat if k == 0 else 'lag(' ~ stat ~ ', ' ~ k ~ ') over (partition by ' ~ partition_by ~ ' order by ' ~ order_by ~ ')' %}
    coalesce({{ value }} * {{ weight }}, 0){% if not loop.last %} +{% endif %}
    {%- endfor %}
  ) / nullif(
    {%- for k in range(span) %}
    {%- set weight = 'cast(' ~ (1 - alpha) ** k ~ ' as double)' %}
    {%- set value = stat if k == 0 else 'lag(' ~ stat ~ ', ' ~ k ~ ') over (partition by ' ~ partition_by ~ ' order by ' ~ order_by ~ ')' %}
    case when {{ value }} is not null then {{ weight }} else 0 end{% if not loop.last %} +{% endif %}
    {%- endfor %}
  , 0)
{%- endmacro %}

{# The column names produced by rolling_state_columns, prefixed, for selecting them elsewhere. #}
{% macro state_column_names(stats, prefix='', windows=none) -%}
  {%- set windows = windows or var('rolling_windows') -%}
  {%- set names = [] -%}
  {%- for stat in stats -%}
    {%- for w in windows -%}{%- do names.append(stat ~ '_avg_' ~ w) -%}{%- endfor -%}
    {%- do names.append(stat ~ '_ewm') -%}
  {%- endfor -%}
  {{ return(names) }}
{%- endmacro %}

{% macro select_state(alias, stats, prefix='', windows=none) -%}
  {%- for name in outscaled.state_column_names(stats, windows=windows) %}
    {{ alias }}.{{ name }} as {{ prefix }}{{ name }},
  {%- endfor %}
{%- endmacro %}
