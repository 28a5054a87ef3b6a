-- GENERATED from contracts/kinds/*.yaml by estelam.contracts.kind_models.write_staging(): do not edit by hand.
-- The assets of the kinds whose mapping declares contributes.assets.
-- tests/contracts/test_kinds.py fails when this file and the mappings disagree.

with

assets as (

    -- bank: feed bank_accounts
    select
        inquiry_id, agency_id, 'bank' as agency_kind, person_id, responded_at,
        'bank_account' as asset_kind,
        cast(iban as varchar) as asset_ref,
        cast(balance_rial as bigint) as value_rial,
        null::bigint as protected_rial,
        coalesce(cast(account_kind as varchar) in ('salary', 'pension'), false) as is_protected,
        1 as liquidity_rank,
        cast(holder_name as varchar) as owner_name,
        cast(account_kind as varchar) as asset_detail,
        true as can_freeze,
    from {{ latest_copies(source('landing', 'bank_accounts'), 'inquiry_id, iban') }}

    union all

    -- land_registry: feed properties
    select
        inquiry_id, agency_id, 'land_registry' as agency_kind, person_id, responded_at,
        'property' as asset_kind,
        cast(registry_section as varchar) || '/' || cast(main_plate as varchar) || '/' || cast(sub_plate as varchar) as asset_ref,
        cast(value_rial as bigint) as value_rial,
        null::bigint as protected_rial,
        false as is_protected,
        4 as liquidity_rank,
        cast(owner_name as varchar) as owner_name,
        cast(share_percent as varchar) || '% share' as asset_detail,
        true as can_freeze,
    from {{ latest_copies(source('landing', 'properties'), 'inquiry_id, registry_section, main_plate, sub_plate') }}

    union all

    -- securities_depository: feed security_holdings
    select
        inquiry_id, agency_id, 'securities_depository' as agency_kind, person_id, responded_at,
        'security_holding' as asset_kind,
        cast(person_id as varchar) || ':' || cast(symbol as varchar) as asset_ref,
        cast(value_rial as bigint) as value_rial,
        null::bigint as protected_rial,
        false as is_protected,
        2 as liquidity_rank,
        cast(holder_name as varchar) as owner_name,
        cast(symbol as varchar) || ' x ' || cast(quantity as varchar) as asset_detail,
        true as can_freeze,
    from {{ latest_copies(source('landing', 'security_holdings'), 'inquiry_id, symbol') }}

    union all

    -- social_security: feed employments
    select
        inquiry_id, agency_id, 'social_security' as agency_kind, person_id, responded_at,
        'salary' as asset_kind,
        cast(employer_id as varchar) as asset_ref,
        cast(garnishable_rial as bigint) as value_rial,
        cast(protected_rial as bigint) as protected_rial,
        false as is_protected,
        5 as liquidity_rank,
        null::varchar as owner_name,
        cast(employer_name as varchar) as asset_detail,
        false as can_freeze,
    from {{ latest_copies(source('landing', 'employments'), 'inquiry_id, employer_id') }}

    union all

    -- vehicle_registry: feed vehicles
    select
        inquiry_id, agency_id, 'vehicle_registry' as agency_kind, person_id, responded_at,
        'vehicle' as asset_kind,
        cast(plate as varchar) as asset_ref,
        cast(value_rial as bigint) as value_rial,
        null::bigint as protected_rial,
        false as is_protected,
        3 as liquidity_rank,
        cast(owner_name as varchar) as owner_name,
        cast(model as varchar) as asset_detail,
        true as can_freeze,
    from {{ latest_copies(source('landing', 'vehicles'), 'inquiry_id, plate') }}

)

select * from assets
where inquiry_id in (select inquiry_id from {{ source('landing', 'inquiries') }})
