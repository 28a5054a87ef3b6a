{#-
    A landed feed keeps its data contract's column rules: the columns that may not be null are not, and the columns
    with allowed values hold only those. One test per feed, one query (dbt_sources generates its arguments from the
    contract): each failing row names the rule, the column and the offending value, with how many rows break it.
    Landing validated every row already (compiled rules, audited by Great Expectations); this checks the files as the
    warehouse reads them, whoever wrote them.
-#}
{% test contract_rules(model, not_null=[], accepted_values={}) %}

{%- set checks = [] -%}
{%- for column in not_null -%}
    {%- do checks.append(
        "select 'not_null' as rule, '" ~ column ~ "' as column_name, cast(null as varchar) as value from "
        ~ model ~ " where " ~ adapter.quote(column) ~ " is null") -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set quoted = [] -%}
    {%- for value in values -%}{%- do quoted.append(sql_string(value)) -%}{%- endfor -%}
    {%- do checks.append(
        "select 'accepted_values' as rule, '" ~ column ~ "' as column_name, cast(" ~ adapter.quote(column)
        ~ " as varchar) as value from " ~ model ~ " where " ~ adapter.quote(column) ~ " is not null and cast("
        ~ adapter.quote(column) ~ " as varchar) not in (" ~ quoted | join(', ') ~ ")") -%}
{%- endfor %}

select rule, column_name, value, count(*) as failing_rows
from (
    {%- if checks %}
    {{ checks | join('\n    union all\n    ') }}
    {%- else %}
    select cast(null as varchar) as rule, cast(null as varchar) as column_name, cast(null as varchar) as value
    limit 0
    {%- endif %}
) as broken
group by all

{% endtest %}
