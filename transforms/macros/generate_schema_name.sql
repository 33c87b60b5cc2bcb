{# Use the layer names (staging, intermediate, silver, gold) as they are, without a target prefix. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
  {{ adapter.dispatch('layer_schema', 'outscaled')((custom_schema_name or target.schema) | trim) }}
{%- endmacro %}

{% macro default__layer_schema(layer) -%}
  {{ layer }}
{%- endmacro %}

{# On Spark the default catalog is the shared Iceberg catalog: the lakehouse layers (silver, gold) are
   namespaces there; the engine's own layers (staging, intermediate) stay in Spark's session catalog. #}
{% macro spark__layer_schema(layer) -%}
  {{ layer if layer in var('lakehouse_layers') else 'spark_catalog.' ~ layer }}
{%- endmacro %}
