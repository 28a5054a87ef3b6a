{#-
    Financial convictions and the registry's rules, per case. A conviction is satisfied when it is paid in
    full, when the debtor proves payment, or when the court closes the case; it stays listed (as satisfied)
    for registry_retention_days after that, and leaves at once on proof of payment when
    registry_early_exit_on_proof_of_payment is set. Both rules are dbt vars: configuration, not code.
-#}
{{ config(tags=['clock']) }}  {#- reads as_of(): every scheduled build builds it (estelam.warehouse.dbt_build) -#}
{%- set retention_days = var('registry_retention_days') | int -%}
{%- set early_exit = var('registry_early_exit_on_proof_of_payment') -%}

with

cases as (

    select * from {{ ref('int_cases') }}

),

person_ids as (

    select * from {{ ref('int_person_ids') }}

),

convictions as (

    select
        cases.case_id,
        -- the resolved identifier; an id the resolution never saw stays as written
        coalesce(person_ids.person_id, cases.person_id) as person_id,
        person_ids.identifier_scheme,
        cases.person_kind,
        cases.debtor_name,
        cases.court_code,
        cases.filed_at,
        cases.amount_owed_rial,
        cases.paid_rial,
        least(cases.paid_in_full_at, cases.payment_proved_at, cases.closed_at) as satisfied_at,
        cases.payment_proved_at,
        cases.absconded_at,
        cases.apprehended_at,
        cases.outstanding_rial as ledger_outstanding_rial,
    from cases
    left join person_ids on person_ids.raw_person_id = cases.person_id
    -- a judgment for nothing is no financial conviction
    where cases.amount_owed_rial > 0

),

ruled as (

    select
        *,
        case
            when satisfied_at is not null then 'satisfied'
            when paid_rial > 0 then 'partially_paid'
            else 'unpaid'
        end as conviction_status,
        case when satisfied_at is null then ledger_outstanding_rial else 0 end as outstanding_rial,
        case
            when satisfied_at is null then null
            {%- if early_exit %}
            -- proof of payment ends the listing early
            else least(satisfied_at + to_days({{ retention_days }}), payment_proved_at)
            {%- else %}
            else satisfied_at + to_days({{ retention_days }})
            {%- endif %}
        end as listed_until,
    from convictions

),

final as (

    select
        case_id,
        person_id,
        identifier_scheme,
        person_kind,
        debtor_name,
        court_code,
        filed_at,
        amount_owed_rial,
        paid_rial,
        cast(outstanding_rial as bigint) as outstanding_rial,
        conviction_status,
        satisfied_at,
        payment_proved_at,
        listed_until,
        filed_at <= {{ as_of() }} and (listed_until is null or listed_until > {{ as_of() }}) as is_listed,
        absconded_at is not null and (apprehended_at is null or apprehended_at < absconded_at) as is_absconding,
        absconded_at,
        apprehended_at,
    from ruled

)

select * from final
