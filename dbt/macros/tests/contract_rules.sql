{#-
    A landed feed keeps its data contract's column rules: the columns that may not be null are not, and the columns
    with allowed values hold only those. One test per feed, one query (dbt_sources generates its arguments from the
    contract): each failing row names the rule, the column and the offending value, with how many rows break it.
    Landing validated every row already (compiled rules, audited by Great Expectations); this checks the files as the
    warehouse reads them, whoever wrote them.
-#}
{% test contract_rules(model, not_null=[], accepted_values={}) %}
{#- the same rules as a model's (model_rules.sql), on the landed feed -#}
{{ test_model_rules(model, not_null=not_null, accepted_values=accepted_values) }}
{% endtest %}
