{#-
    A model keeps its column rules: one test per model, one query, instead of a test node per column and rule (dbt
    spends ~40 ms of Python on every node, whatever its SQL costs). The rules mean what dbt's generic tests of the
    same names mean:
      not_null            [column, ...]                  the column is never null
      unique              [column, ...]                  no non-null value occurs twice
      unique_combinations [[column, ...], ...]           no two rows share the combination (nulls compare equal)
      accepted_values     {column: [value, ...]}         a non-null value is one of these
      relationships       [{column, to, field}, ...]     a non-null value is found in ref(to).field
      expressions         [sql, ...]                     the boolean expression holds on every row
    Each failing row names the rule, the column(s) and the offending value, with how many rows break it (read back
    by estelam.warehouse.dbt_build when the test fails).
-#}
{% test model_rules(model, not_null=[], unique=[], unique_combinations=[], accepted_values={}, relationships=[],
                    expressions=[]) %}

{%- set checks = [] -%}
{%- for column in not_null -%}
    {%- do checks.append(
        "select 'not_null', '" ~ column ~ "', cast(null as varchar) from "
        ~ model ~ " where " ~ adapter.quote(column) ~ " is null") -%}
{%- endfor -%}
{%- for column in unique -%}
    {%- do checks.append(
        "select 'unique', '" ~ column ~ "', cast(" ~ adapter.quote(column) ~ " as varchar) from " ~ model
        ~ " where " ~ adapter.quote(column) ~ " is not null qualify count(*) over (partition by "
        ~ adapter.quote(column) ~ ") > 1") -%}
{%- endfor -%}
{%- for columns in unique_combinations -%}
    {%- set quoted = [] -%}
    {%- set shown = [] -%}
    {%- for column in columns -%}
        {%- do quoted.append(adapter.quote(column)) -%}
        {%- do shown.append("coalesce(cast(" ~ adapter.quote(column) ~ " as varchar), 'null')") -%}
    {%- endfor -%}
    {%- do checks.append(
        "select 'unique_combination', '" ~ columns | join(', ') ~ "', concat_ws(' / ', " ~ shown | join(', ')
        ~ ") from " ~ model ~ " qualify count(*) over (partition by " ~ quoted | join(', ') ~ ") > 1") -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set quoted = [] -%}
    {%- for value in values -%}{%- do quoted.append(sql_string(value)) -%}{%- endfor -%}
    {%- do checks.append(
        "select 'accepted_values', '" ~ column ~ "', cast(" ~ adapter.quote(column) ~ " as varchar) from " ~ model
        ~ " where " ~ adapter.quote(column) ~ " is not null and cast(" ~ adapter.quote(column)
        ~ " as varchar) not in (" ~ quoted | join(', ') ~ ")") -%}
{%- endfor -%}
{%- for relationship in relationships -%}
    {%- set column = adapter.quote(relationship['column']) -%}
    {%- do checks.append(
        "select 'relationships', '" ~ relationship['column'] ~ " -> " ~ relationship['to'] ~ "."
        ~ relationship['field'] ~ "', cast(child." ~ column ~ " as varchar) from " ~ model ~ " as child where child."
        ~ column ~ " is not null and not exists (select 1 from " ~ ref(relationship['to']) ~ " as parent where parent."
        ~ adapter.quote(relationship['field']) ~ " = child." ~ column ~ ")") -%}
{%- endfor -%}
{%- for expression in expressions -%}
    {%- do checks.append(
        "select 'expression_holds', " ~ sql_string(expression) ~ ", cast(null as varchar) from " ~ model
        ~ " where not coalesce((" ~ expression ~ "), false)") -%}
{%- endfor %}

select rule, column_name, value, count(*) as failing_rows
from (
    {%- if checks %}
    {{ checks | join('\n    union all\n    ') }}
    {%- else %}
    select cast(null as varchar) as rule, cast(null as varchar) as column_name, cast(null as varchar) as value
    limit 0
    {%- endif %}
) as broken (rule, column_name, value)
group by all

{% endtest %}
