{#- The financial-convictions registry: who has unpaid financial convictions now. -#}

with

cases as (

    select * from {{ ref('int_cases') }}

),

unpaid_cases as (

    select * from cases
    where status = 'open' and outstanding_rial > 0

),

final as (

    select
        person_id,
        first(person_kind order by filed_at desc, case_id desc) as person_kind,
        -- the name as the court spelled it on the person's latest case
        first(debtor_name order by filed_at desc, case_id desc) as person_name,
        count(*) as unpaid_cases,
        cast(sum(amount_owed_rial) as bigint) as amount_owed_rial,
        cast(sum(paid_rial) as bigint) as paid_rial,
        cast(sum(outstanding_rial) as bigint) as outstanding_rial,
        min(filed_at) as unpaid_since,
        case when sum(paid_rial) > 0 then 'partially_paid' else 'unpaid' end as status,
    from unpaid_cases
    group by person_id

)

select * from final
