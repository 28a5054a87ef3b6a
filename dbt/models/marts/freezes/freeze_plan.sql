{#-
    The desired state of freezes, published: the planner's allocation (int_freeze_allocations: the plan of
    estelam.freeze.planner, the function reconciliation runs, in SQL) with the case's confidentiality,
    so that the serving layer can show a confidential case's plan to its named users only.
-#}

with

allocations as (

    select * from {{ ref('int_freeze_allocations') }}

),

directives as (

    select * from {{ ref('stg_court__case_directives') }}

),

confidentiality as (

    -- the latest confidentiality directive of a case holds: confidential, or lifted
    select
        case_id,
        directive = 'confidential' as is_confidential,
        case when directive = 'confidential' then authorised_users end as authorised_users,
    from directives
    where directive in ('confidential', 'lift_confidentiality')
    qualify row_number() over (partition by case_id order by issued_at desc, directive_id desc) = 1

),

final as (

    select
        allocations.case_id,
        allocations.person_id,
        allocations.agency_id,
        allocations.asset_kind,
        allocations.asset_ref,
        cast(allocations.planned_freeze_rial as bigint) as planned_freeze_rial,
        cast(allocations.liquidity_rank as integer) as liquidity_rank,
        cast(allocations.asset_value_rial as bigint) as asset_value_rial,
        allocations.blocks_whole_asset,
        coalesce(confidentiality.is_confidential, false) as is_confidential,
        confidentiality.authorised_users,
    from allocations
    left join confidentiality using (case_id)
    where allocations.planned_freeze_rial > 0

)

select * from final
