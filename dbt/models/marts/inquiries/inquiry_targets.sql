{#- Who needs asking: debtors of open cases that still owe money, with when any agency last answered
    about them, so the inquiry round can pick new debtors and stale answers. -#}

with

cases as (

    select * from {{ ref('int_cases') }}

),

latest_answers as (

    select * from {{ ref('int_latest_answers') }}

),

open_debts as (

    select
        person_id,
        first(case_id order by filed_at, case_id) as case_id,
        count(*) as open_cases,
        cast(sum(outstanding_rial) as bigint) as outstanding_rial,
    from cases
    where status = 'open' and outstanding_rial > 0
    group by person_id

),

answered as (

    select
        person_id,
        max(answered_at) as last_answered_at,
        count(*) as agencies_answered,
    from latest_answers
    group by person_id

),

final as (

    select
        open_debts.person_id,
        open_debts.case_id,
        open_debts.open_cases,
        open_debts.outstanding_rial,
        answered.last_answered_at,
        coalesce(answered.agencies_answered, 0) as agencies_answered,
    from open_debts
    left join answered using (person_id)

)

select * from final
