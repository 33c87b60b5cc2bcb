{# Engine differences live here, never in copies of models. #}

{% macro seconds_after(timestamp_expr, seconds_expr) -%}
  {{ adapter.dispatch('seconds_after', 'outscaled')(timestamp_expr, seconds_expr) }}
{%- endmacro %}
{% macro duckdb__seconds_after(timestamp_expr, seconds_expr) -%}
  ({{ timestamp_expr }} + to_seconds(cast(coalesce({{ seconds_expr }}, 0) as bigint)))
{%- endmacro %}
{% macro spark__seconds_after(timestamp_expr, seconds_expr) -%}
  timestampadd(SECOND, coalesce({{ seconds_expr }}, 0), {{ timestamp_expr }})
{%- endmacro %}

{% macro hours_between(start_expr, end_expr) -%}
  {{ adapter.dispatch('hours_between', 'outscaled')(start_expr, end_expr) }}
{%- endmacro %}
{% macro duckdb__hours_between(start_expr, end_expr) -%}
  (epoch({{ end_expr }}) - epoch({{ start_expr }})) / cast(3600 as double)
{%- endmacro %}
{% macro spark__hours_between(start_expr, end_expr) -%}
  (unix_timestamp({{ end_expr }}) - unix_timestamp({{ start_expr }})) / cast(3600 as double)
{%- endmacro %}

{% macro days_between(start_expr, end_expr) -%}
  ({{ outscaled.hours_between(start_expr, end_expr) }} / cast(24 as double))
{%- endmacro %}

{# Plain `1.0` is a DECIMAL literal on both engines, and Spark keeps decimal arithmetic decimal: say double. #}
{% macro ratio(numerator, denominator) -%}
  cast({{ numerator }} as double) / {{ denominator }}
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

{# Lists: what the Elo fold's input (macros/elo.sql) needs from each engine. #}

{# The values of `expr` over the group, as one list ordered by `order_by` (a list of expressions). #}
{% macro ordered_list(expr, order_by) -%}
  {{ adapter.dispatch('ordered_list', 'outscaled')(expr, order_by) }}
{%- endmacro %}
{% macro duckdb__ordered_list(expr, order_by) -%}
  list({{ expr }} order by {{ order_by | join(', ') }})
{%- endmacro %}
{% macro spark__ordered_list(expr, order_by) -%}
  transform(sort_array(collect_list(named_struct(
    {%- for o in order_by %}'k{{ loop.index }}', {{ o }}, {% endfor %}'v', {{ expr }}))), s -> s.v)
{%- endmacro %}

{# A list of the given expressions. #}
{% macro list_of(exprs) -%}
  {{ adapter.dispatch('list_of', 'outscaled')(exprs) }}
{%- endmacro %}
{% macro duckdb__list_of(exprs) -%}
  list_value({{ exprs | join(', ') }})
{%- endmacro %}
{% macro spark__list_of(exprs) -%}
  array({{ exprs | join(', ') }})
{%- endmacro %}

{# One output row per element of the list `expr` (its value, null elements included), in a select list. #}
{% macro unnest_list(expr) -%}
  {{ adapter.dispatch('unnest_list', 'outscaled')(expr) }}
{%- endmacro %}
{% macro duckdb__unnest_list(expr) -%}
  unnest({{ expr }})
{%- endmacro %}
{% macro spark__unnest_list(expr) -%}
  explode({{ expr }})
{%- endmacro %}

{# A bronze table as the newest complete load left it (outscaled/lakehouse/loads.py). On DuckDB the sources are
   views the project's plugin creates at the cut when dbt connects; Spark reads the Iceberg table directly, so the
   snapshot id comes in the `bronze_snapshots` var (the Dagster asset passes the cut; without it, a manual
   `dbt build` on Spark reads the current snapshot). #}
{% macro bronze(name) -%}
  {%- set snapshot_id = var('bronze_snapshots', {}).get(name) -%}
  {{ source('bronze', name) }}{% if target.type == 'spark' and snapshot_id %} VERSION AS OF {{ snapshot_id }}{% endif %}
{%- endmacro %}
