{#- Every row satisfies a boolean SQL expression (a rule across columns), without needing dbt_utils. -#}
{% test expression_holds(model, expression) %}

select *
from {{ model }}
where not coalesce(({{ expression }}), false)

{% endtest %}
