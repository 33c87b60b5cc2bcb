{# Use the layer names (staging, intermediate, silver, gold) as they are, without a target prefix. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
  {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
