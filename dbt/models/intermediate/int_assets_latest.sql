{%- set rank = var('liquidity_rank') -%}

with

latest_answers as (

    select * from {{ ref('int_latest_answers') }}

),

-- the assets of every agency kind, each declared by its mapping (the banks' accounts among them, salary and pension
-- protected by their protected_when): generated from their contributes.assets (contracts/kinds/)
mapped_assets as (

    select * from {{ ref('stg_kinds__assets') }}

),

assets as (

    select
        inquiry_id, person_id, agency_id, asset_kind, asset_ref,
        value_rial,
        owner_name,
        asset_detail,
        is_protected,
        protected_rial,
        liquidity_rank,
        can_freeze,
    from mapped_assets

),

final as (

    select
        latest_answers.person_id,
        latest_answers.agency_id,
        latest_answers.agency_kind,
        assets.asset_kind,
        assets.asset_ref,
        assets.value_rial,
        latest_answers.answered_at as learned_at,
        latest_answers.inquiry_id,
        assets.is_protected,
        -- the built-in kinds' rank from the var, a mapped kind's from its mapping
        coalesce(case assets.asset_kind
            {%- for kind, value in rank.items() %}
            when '{{ kind }}' then {{ value }}
            {%- endfor %}
        end, assets.liquidity_rank) as liquidity_rank,
        assets.owner_name,
        assets.asset_detail,
        assets.protected_rial,
        assets.can_freeze,
    from latest_answers
    inner join assets
        on assets.inquiry_id = latest_answers.inquiry_id
        and assets.person_id = latest_answers.person_id
        and assets.agency_id = latest_answers.agency_id

)

select * from final
