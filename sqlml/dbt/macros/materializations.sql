{#-
  sqlml's materializations for dbt-duckdb. Each builds its node by submitting a small Python job
  that runs sqlml on dbt's own cursor, inside dbt's transaction (see sqlml/dbt/runtime.py for why),
  then commits. The Python side does the work; these macros only pass the node along.

  sqlml_model: the file's SELECT is the training data; config(model_type=..., input_label_cols=[...],
               other CREATE MODEL options, or options={...}) gives the OPTIONS.
  sqlml_table: a table whose SELECT may use ML.PREDICT, ML.EVALUATE and the other ML.* functions.
-#}

{% macro sqlml_job(kind, relation) -%}
{%- set payload = {
    'kind': kind,
    'name': relation.identifier,
    'schema': relation.schema,
    'database': relation.database,
    'sql': compiled_code,
    'config': model['config'],
    'full_refresh': should_full_refresh(),
} -%}
{%- set encoded = tojson(payload) -%}
{%- if encoded is none -%}
  {{ exceptions.raise_compiler_error(
       "sqlml: the config of " ~ relation ~ " cannot be passed to Python as JSON; keep config "
       ~ "values to strings, numbers, booleans, lists and mappings.") }}
{%- endif -%}
from sqlml.dbt.runtime import dbtObj, materialize  # noqa: F401


PAYLOAD = {{ tojson(encoded) }}


def model(dbt, con):
    from sqlml.dbt.runtime import run

    run(con, PAYLOAD)
{%- endmacro %}


{#- statement('main', language='python') must sit in the materialization itself: dbt lets only a
    materialization's own statement submit Python. -#}

{% materialization sqlml_model, adapter='duckdb' %}
  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {#- open dbt's transaction now, so sqlml joins it and the commit below covers its writes -#}
  {% call statement('sqlml_begin') %}select 1{% endcall %}
  {% call statement('main', language='python') %}{{ sqlml.sqlml_job('model', this) }}{% endcall %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {#- the job also leaves a view of the model's catalog rows, commented, for dbt docs -#}
  {{ return({'relations': [this.incorporate(type='view')]}) }}
{% endmaterialization %}


{% materialization sqlml_table, adapter='duckdb' %}
  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set existing_relation = load_cached_relation(this) -%}
  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {% call statement('sqlml_begin') %}select 1{% endcall %}
  {%- if existing_relation is not none and not existing_relation.is_table -%}
    {{ adapter.drop_relation(existing_relation) }}
  {%- endif -%}
  {% call statement('main', language='python') %}{{ sqlml.sqlml_job('table', target_relation) }}{% endcall %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
