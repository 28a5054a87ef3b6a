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


{% macro landing_view_sql(source_node, present) -%}
    {#- present: the column names the feed's files hold (none: no file landed yet) -#}
    {%- set pattern = landing_glob(source_node.name) -%}
    {%- set columns = source_node.columns.values() | list -%}
    {%- if present is not none -%}
        {%- set missing = columns | map(attribute='name') | reject('in', present) | list -%}
        {%- if missing -%}
            {{ exceptions.raise_compiler_error(
                'landing feed ' ~ source_node.name ~ ': files under ' ~ pattern ~ ' lack the contract columns '
                ~ missing | join(', ')) }}
        {%- endif -%}
    {%- endif %}
    select
    {%- for column in columns %}
        {% if present is not none -%}
        cast({{ adapter.quote(column.name) }} as {{ column.data_type }})
        {%- else -%}
        cast(null as {{ column.data_type }})
        {%- endif %} as {{ adapter.quote(column.name) }}{{ "," if not loop.last }}
    {%- endfor %}
    {% if present is not none -%}
    -- union_by_name: files written before a nullable column was added to the contract still read
    from read_parquet({{ sql_string(pattern) }}, union_by_name = true, hive_partitioning = false)
    {%- else -%}
    -- no file landed for this feed yet
    limit 0
    {%- endif %}
{%- endmacro %}


{#- The column names each feed's landed files hold, by feed: one query over every file's Parquet schema (dbt spends
    ~13 ms on each query it runs, so this and the views' DDL are two queries a build, not four per feed). -#}
{% macro landed_columns() -%}
    {%- set every_file = landing_glob('*') -%}
    {%- set columns = {} -%}
    {%- if run_query('select count(*) from glob(' ~ sql_string(every_file) ~ ')').columns[0].values()[0] > 0 -%}
        {%- set found = run_query(
            "select split_part(file_name, '/', -3) as feed, string_agg(distinct name, ',') as names"
            ~ " from parquet_schema(" ~ sql_string(every_file) ~ ") group by all") -%}
        {%- for row in found.rows -%}
            {%- do columns.update({row[0]: row[1].split(',')}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(columns) }}
{%- endmacro %}


{% macro create_landing_views() %}
    {%- if execute -%}
        {%- set landing_sources = graph.sources.values() | selectattr('source_name', 'equalto', 'landing') | list -%}
        {%- set present = landed_columns() -%}
        {%- set statements = [] -%}
        {%- for source_node in landing_sources -%}
            {%- set relation = api.Relation.create(
                database=source_node.database, schema=source_node.schema, identifier=source_node.identifier) -%}
            {%- do statements.append('create schema if not exists ' ~ relation.without_identifier()) if loop.first -%}
            {%- do statements.append('create or replace view ' ~ relation ~ ' as '
                                     ~ landing_view_sql(source_node, present.get(source_node.name))) -%}
        {%- endfor -%}
        {%- if statements -%}
            {%- do run_query(statements | join(';\n')) -%}
            {{ log('landing views ready', info=False) }}
        {%- endif -%}
    {%- endif -%}
    select 1
{% endmacro %}


{#- The newest copy of each key of a landed feed (a batch landed again, an event the court sent twice), as
    ``qualify row_number() over (partition by key order by _landed_at desc, _batch_id desc) = 1`` gives it, but
    ranking only the keys that repeat: the window sorts every column of every row through it (17 s of CPU for
    5.8 million court events), while most keys land once and pass straight through an anti join. ``key`` is the
    feed's primary key (its columns, comma-separated), never null by its contract. -#}
{% macro latest_copies(relation, key, order_by='_landed_at desc, _batch_id desc') -%}
    (
        with landed as not materialized (select * from {{ relation }}),
        repeated as (select {{ key }} from landed group by {{ key }} having count(*) > 1)
        select * from landed anti join repeated using ({{ key }})
        union all
        select * from (select * from landed semi join repeated using ({{ key }}))
        qualify row_number() over (partition by {{ key }} order by {{ order_by }}) = 1
    )
{%- endmacro %}
