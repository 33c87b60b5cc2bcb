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

{#
  Folds: what a sequential computation (Elo) needs from each engine. Lambdas are written `(a, b) -> expr`,
  which both DuckDB and Spark accept.
#}

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

{# Left fold: `state` starts at `initial`, then `body` (an expression of `state` and `item`) per element. #}
{% macro fold(list_expr, initial, state, item, body) -%}
  {{ adapter.dispatch('fold', 'outscaled')(list_expr, initial, state, item, body) }}
{%- endmacro %}
{% macro duckdb__fold(list_expr, initial, state, item, body) -%}
  list_reduce({{ list_expr }}, ({{ state }}, {{ item }}) -> {{ body }}, {{ initial }})
{%- endmacro %}
{% macro spark__fold(list_expr, initial, state, item, body) -%}
  aggregate({{ list_expr }}, {{ initial }}, ({{ state }}, {{ item }}) -> {{ body }})
{%- endmacro %}

{# A struct from an ordered list of (name, expression) pairs. #}
{% macro struct_of(fields) -%}
  {{ adapter.dispatch('struct_of', 'outscaled')(fields) }}
{%- endmacro %}
{% macro duckdb__struct_of(fields) -%}
  struct_pack({% for name, expr in fields %}{{ name }} := {{ expr }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}
{% macro spark__struct_of(fields) -%}
  named_struct({% for name, expr in fields %}'{{ name }}', {{ expr }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}

{# `body` with `name` bound to the value of `value` (computed once). #}
{% macro let(name, value, body) -%}
  {{ adapter.dispatch('let', 'outscaled')(name, value, body) }}
{%- endmacro %}
{% macro duckdb__let(name, value, body) -%}
  list_transform([{{ value }}], {{ name }} -> {{ body }})[1]
{%- endmacro %}
{% macro spark__let(name, value, body) -%}
  transform(array({{ value }}), {{ name }} -> {{ body }})[0]
{%- endmacro %}

{# Lists are indexed from 1 on every engine here. #}
{% macro repeated(value, count) -%}
  {{ adapter.dispatch('repeated', 'outscaled')(value, count) }}
{%- endmacro %}
{% macro duckdb__repeated(value, count) -%}
  repeat([{{ value }}], cast({{ count }} as integer))
{%- endmacro %}
{% macro spark__repeated(value, count) -%}
  array_repeat({{ value }}, cast({{ count }} as int))
{%- endmacro %}

{% macro item_at(list_expr, index) -%}
  {{ adapter.dispatch('item_at', 'outscaled')(list_expr, index) }}
{%- endmacro %}
{% macro duckdb__item_at(list_expr, index) -%}
  {{ list_expr }}[{{ index }}]
{%- endmacro %}
{% macro spark__item_at(list_expr, index) -%}
  element_at({{ list_expr }}, {{ index }})
{%- endmacro %}

{# The list with items replaced: `updates` is a list of (index, value); a later update of the same index wins. #}
{% macro with_items(list_expr, updates) -%}
  {{ adapter.dispatch('with_items', 'outscaled')(list_expr, updates) }}
{%- endmacro %}
{% macro duckdb__with_items(list_expr, updates) -%}
  list_transform({{ list_expr }}, (item, position) -> case
    {%- for index, value in updates | reverse %} when position = {{ index }} then {{ value }}{% endfor %} else item end)
{%- endmacro %}
{% macro spark__with_items(list_expr, updates) -%}
  transform({{ list_expr }}, (item, position) -> case
    {%- for index, value in updates | reverse %} when position + 1 = {{ index }} then {{ value }}{% endfor %} else item end)
{%- endmacro %}

{% macro empty_struct_list(fields) -%}
  {{ adapter.dispatch('empty_struct_list', 'outscaled')(fields) }}
{%- endmacro %}
{% macro duckdb__empty_struct_list(fields) -%}
  cast([] as struct({% for name, type in fields %}{{ name }} {{ type | replace('string', 'varchar') }}{% if not loop.last %}, {% endif %}{% endfor %})[])
{%- endmacro %}
{% macro spark__empty_struct_list(fields) -%}
  cast(array() as array<struct<{% for name, type in fields %}{{ name }}: {{ type }}{% if not loop.last %}, {% endif %}{% endfor %}>>)
{%- endmacro %}

{# One row per list element (in a select list). #}
{% macro explode(list_expr) -%}
  {{ adapter.dispatch('explode', 'outscaled')(list_expr) }}
{%- endmacro %}
{% macro duckdb__explode(list_expr) -%}
  unnest({{ list_expr }})
{%- endmacro %}
{% macro spark__explode(list_expr) -%}
  explode({{ list_expr }})
{%- endmacro %}

{# A bronze table as the newest complete load left it (outscaled/lakehouse/loads.py). DuckDB's sources go
   through the project's plugin, which pins them itself; Spark reads the Iceberg table directly, so the
   snapshot id comes in the `bronze_snapshots` var (the Dagster asset passes the cut; without it, a manual
   `dbt build` on Spark reads the current snapshot). #}
{% macro bronze(name) -%}
  {%- set snapshot_id = var('bronze_snapshots', {}).get(name) -%}
  {{ source('bronze', name) }}{% if target.type == 'spark' and snapshot_id %} VERSION AS OF {{ snapshot_id }}{% endif %}
{%- endmacro %}
