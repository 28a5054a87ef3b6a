{#- What the central bank receives for credit scoring: the registry's entries with a valid identifier,
    amounts and status only; no names (credit scoring matches on the identifier). -#}

with

registry as (

    select * from {{ ref('financial_convictions') }}

),

final as (

    select
        person_id,
        identifier_scheme,
        person_kind,
        status,
        unpaid_cases,
        satisfied_cases,
        amount_owed_rial,
        paid_rial,
        outstanding_rial,
        unpaid_since,
        listed_until,
        as_of,
    from registry
    -- an unresolved identifier is for identity_review, not for a credit score
    where identifier_scheme is not null

)

select * from final
