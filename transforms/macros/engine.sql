{# Engine differences live here, never in copies of models. #}

{% macro seconds_after(timestamp_expr, seconds_expr) -%}
  {{ adapter.dispatch('seconds_after', 'outscaled')(timestamp_expr, seconds_expr) }}
{%- endmacro %}
{% macro duckdb__seconds_after(timestamp_expr, seconds_expr) -%}
  ({{ timestamp_expr }} + to_seconds(cast(coalesce({{ seconds_expr }}, 0) as bigint)))
{%- endmacro %}
{% macro spark__seconds_after(timestamp_expr, seconds_expr) -%}
  timestamp_seconds(unix_timestamp({{ timestamp_expr }}) + coalesce({{ seconds_expr }}, 0))
{%- endmacro %}

{% macro hours_between(start_expr, end_expr) -%}
  {{ adapter.dispatch('hours_between', 'outscaled')(start_expr, end_expr) }}
{%- endmacro %}
{% macro duckdb__hours_between(start_expr, end_expr) -%}
  (epoch({{ end_expr }}) - epoch({{ start_expr }})) / 3600.0
{%- endmacro %}
{% macro spark__hours_between(start_expr, end_expr) -%}
  (unix_timestamp({{ end_expr }}) - unix_timestamp({{ start_expr }})) / 3600.0
{%- endmacro %}

{% macro days_between(start_expr, end_expr) -%}
  ({{ outscaled.hours_between(start_expr, end_expr) }} / 24.0)
{%- endmacro %}

{% macro day_of(timestamp_expr) -%}
  cast({{ timestamp_expr }} as date)
{%- endmacro %}

{% macro key_hash(columns) -%}
  {{ adapter.dispatch('key_hash', 'outscaled')(columns) }}
{%- endmacro %}
{% macro duckdb__key_hash(columns) -%}
  md5(concat_ws('|', {% for c in columns %}coalesce(cast({{ c }} as varchar), ''){% if not loop.last %}, {% endif %}{% endfor %}))
{%- endmacro %}
{% macro spark__key_hash(columns) -%}
  md5(concat_ws('|', {% for c in columns %}coalesce(cast({{ c }} as string), ''){% if not loop.last %}, {% endif %}{% endfor %}))
{%- endmacro %}

{# Columns every per-game staging model carries, from a bronze game table (player or team rows). #}
{% macro game_columns() -%}
    league,
    split,
    coalesce(playoffs, 0) as playoffs,
    patch,
    date as game_start,
    {{ outscaled.seconds_after('date', 'game_length') }} as game_end,
    game_length,
    game as map_number_reported,
    result
{%- endmacro %}

{# Teams are keyed by normalised name; the "unknown team" placeholder gets a key per game and side. #}
{% macro team_key(team_name='team_name') -%}
    case when {{ team_name }} is null or lower(trim({{ team_name }})) in ('unknown team', 'unknown')
         then 'unknown:' || game_id || ':' || coalesce(side, '')
         else lower(trim({{ team_name }})) end
{%- endmacro %}
