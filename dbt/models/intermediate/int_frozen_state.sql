with

acknowledgements as (

    -- a payout pays the creditor from the court's account: it holds nothing on any asset
    select * from {{ ref('stg_agency__freeze_acknowledgements') }}
    where order_kind is distinct from 'payout'

),

latest_per_case as (

    -- frozen_total_rial is the agency's running total for (case, asset): the latest one is the state
    select * from acknowledgements
    qualify row_number() over (
        partition by case_id, agency_id, asset_ref
        order by acknowledged_at desc, order_id desc
    ) = 1

),

latest_per_asset as (

    -- the agency's latest word on the asset, whichever case asked
    select
        agency_id,
        asset_ref,
        ack_status as asset_last_status,
        acknowledged_at as asset_last_acknowledged_at,
    from acknowledgements
    qualify row_number() over (
        partition by agency_id, asset_ref
        order by acknowledged_at desc, order_id desc
    ) = 1

),

final as (

    select
        latest_per_case.case_id,
        latest_per_case.agency_id,
        latest_per_case.asset_ref,
        latest_per_case.frozen_total_rial as frozen_rial,
        latest_per_case.ack_status as last_status,
        latest_per_case.acknowledged_at as last_acknowledged_at,
        latest_per_case.order_id as last_order_id,
        latest_per_asset.asset_last_status,
        latest_per_asset.asset_last_acknowledged_at,
        latest_per_asset.asset_last_status in ('refused', 'unknown_asset') as is_asset_unavailable,
    from latest_per_case
    inner join latest_per_asset using (agency_id, asset_ref)

)

select * from final
