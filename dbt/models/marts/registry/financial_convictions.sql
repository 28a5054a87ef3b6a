{#- The financial-convictions registry: every person with a listed financial conviction now (unpaid,
    partially paid, or satisfied but still inside the retention period), with totals over those convictions.
    The rules that list and delist are in int_convictions, set by dbt vars. -#}
{{ config(tags=['clock']) }}  {#- reads as_of(): every scheduled build builds it (estelam.warehouse.dbt_build) -#}

with

convictions as (

    select * from {{ ref('int_convictions') }}

),

listed as (

    select * from convictions
    where is_listed

),

per_person as (

    select
        person_id,
        any_value(identifier_scheme) as identifier_scheme,
        first(person_kind order by filed_at desc, case_id desc) as person_kind,
        -- the name as the court spelled it on the person's latest case
        first(debtor_name order by filed_at desc, case_id desc) as person_name,
        count(*) filter (where conviction_status <> 'satisfied') as unpaid_cases,
        count(*) filter (where conviction_status = 'satisfied') as satisfied_cases,
        cast(sum(amount_owed_rial) as bigint) as amount_owed_rial,
        cast(sum(paid_rial) as bigint) as paid_rial,
        cast(sum(outstanding_rial) as bigint) as outstanding_rial,
        cast(coalesce(sum(paid_rial) filter (where conviction_status <> 'satisfied'), 0) as bigint)
            as paid_on_unpaid_rial,
        min(filed_at) filter (where conviction_status <> 'satisfied') as unpaid_since,
        max(satisfied_at) as last_satisfied_at,
        max(listed_until) as last_listed_until,
    from listed
    group by person_id

),

final as (

    select
        person_id,
        person_kind,
        person_name,
        unpaid_cases,
        amount_owed_rial,
        paid_rial,
        outstanding_rial,
        unpaid_since,
        case
            when unpaid_cases = 0 then 'satisfied'
            when paid_on_unpaid_rial > 0 then 'partially_paid'
            else 'unpaid'
        end as status,
        identifier_scheme,
        satisfied_cases,
        last_satisfied_at,
        -- when the entry leaves the registry, if nothing changes: only known once everything is satisfied
        case when unpaid_cases = 0 then last_listed_until end as listed_until,
        {{ as_of() }} as as_of,
    from per_person

)

select * from final
