{#- The asset inventory per person: every account, holding, vehicle and property in each agency's latest
    answer, its value and when it was learned; answers older than stale_after_days are marked stale. -#}
{{ config(tags=['clock']) }}  {#- reads as_of(): every scheduled build builds it (estelam.warehouse.dbt_build) -#}

with

assets as (

    select * from {{ ref('int_assets_latest') }}

),

person_ids as (

    select * from {{ ref('int_person_ids') }}

),

final as (

    select
        coalesce(person_ids.person_id, assets.person_id) as person_id,
        assets.agency_id,
        assets.agency_kind,
        assets.asset_kind,
        assets.asset_ref,
        assets.asset_detail,
        assets.value_rial,
        assets.is_protected,
        assets.liquidity_rank,
        assets.learned_at,
        assets.inquiry_id,
        assets.learned_at < {{ as_of() }} - to_days({{ var('stale_after_days') | int }}) as is_stale,
    from assets
    left join person_ids on person_ids.raw_person_id = assets.person_id

)

select * from final
