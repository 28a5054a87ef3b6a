{#-
    Expose every landing feed as a view in schema `landing`, typed by the source's columns
    (which are generated from the feed's data contract).

    Why a hook and not dbt-duckdb's `external_location`: read_parquet() fails when a glob matches no
    file, and a feed may have none yet (no acknowledgements before the first freeze cycle). The glob
    is checked here at run time; a feed with no files becomes a zero-row view with the same columns,
    so every model and test downstream works unchanged. Views are rebuilt on every invocation, so a
    feed's first file is picked up by the next build.
-#}
{% macro landing_glob(feed) -%}
    {#- the data directory: a var from estelam.warehouse.dbt_build, or ESTELAM_DATA_DIR for a hand-run dbt -#}
    {%- set root = var('data_dir', env_var('ESTELAM_DATA_DIR', '')) | replace('\\', '/') -%}
    {{ root.rstrip('/') }}/landing/{{ feed }}/dt=*/*.parquet
{%- endmacro %}


{% macro sql_string(value) -%}
    '{{ value | replace("'", "''") }}'
{%- endmacro %}


{% macro landing_view_sql(source_node) -%}
    {%- set pattern = landing_glob(source_node.name) -%}
    {%- set found = run_query('select count(*) from glob(' ~ sql_string(pattern) ~ ')').columns[0].values()[0] -%}
    {%- set columns = source_node.columns.values() | list -%}
    {%- if found > 0 -%}
        {%- set described = run_query(
            'describe select * from read_parquet(' ~ sql_string(pattern) ~ ', union_by_name = true, hive_partitioning = false)') -%}
        {%- set present = described.columns[0].values() | list -%}
        {%- set missing = columns | map(attribute='name') | reject('in', present) | list -%}
        {%- if missing -%}
            {{ exceptions.raise_compiler_error(
                'landing feed ' ~ source_node.name ~ ': files under ' ~ pattern ~ ' lack the contract columns '
                ~ missing | join(', ')) }}
        {%- endif -%}
    {%- endif %}
    select
    {%- for column in columns %}
        {% if found > 0 -%}
        cast({{ adapter.quote(column.name) }} as {{ column.data_type }})
        {%- else -%}
        cast(null as {{ column.data_type }})
        {%- endif %} as {{ adapter.quote(column.name) }}{{ "," if not loop.last }}
    {%- endfor %}
    {% if found > 0 -%}
    -- union_by_name: files written before a nullable column was added to the contract still read
    from read_parquet({{ sql_string(pattern) }}, union_by_name = true, hive_partitioning = false)
    {%- else -%}
    -- no file landed for this feed yet
    limit 0
    {%- endif %}
{%- endmacro %}


{% macro create_landing_views() %}
    {%- if execute -%}
        {%- set landing_sources = graph.sources.values() | selectattr('source_name', 'equalto', 'landing') | list -%}
        {%- for source_node in landing_sources -%}
            {%- set relation = api.Relation.create(
                database=source_node.database, schema=source_node.schema, identifier=source_node.identifier) -%}
            {%- do run_query('create schema if not exists ' ~ relation.without_identifier()) -%}
            {%- do run_query('create or replace view ' ~ relation ~ ' as ' ~ landing_view_sql(source_node)) -%}
            {{ log('landing view ' ~ relation ~ ' ready', info=False) }}
        {%- endfor -%}
    {%- endif -%}
    select 1
{% endmacro %}
