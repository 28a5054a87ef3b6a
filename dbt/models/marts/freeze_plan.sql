{#-
    The desired state of freezes: for each open case that still owes money, which assets to freeze
    and for how much. Liquid assets first; protected accounts never; an asset the agency refused or
    did not know since it was last reported is kept only at what is already held on it.

    Several cases against one debtor share the debtor's assets without double counting: the cases
    line up (oldest first) along one axis of cumulative need, the assets (most liquid first) along one
    axis of cumulative capacity, and a case gets from an asset exactly the overlap of their intervals.
    So no case gets more than it owes and no asset gives more than it is worth.
-#}

with

cases as (

    select * from {{ ref('int_cases') }}

),

assets as (

    select * from {{ ref('int_assets_latest') }}

),

frozen_state as (

    select * from {{ ref('int_frozen_state') }}

),

held_per_asset as (

    select
        agency_id,
        asset_ref,
        cast(sum(frozen_rial) as bigint) as held_rial,
        any_value(is_asset_unavailable) as is_asset_unavailable,
        any_value(asset_last_acknowledged_at) as asset_last_acknowledged_at,
    from frozen_state
    group by agency_id, asset_ref

),

open_needs as (

    select
        case_id,
        person_id,
        outstanding_rial,
        cast(sum(outstanding_rial) over (
            partition by person_id order by filed_at, case_id
            rows between unbounded preceding and current row
        ) as bigint) as need_end_rial,
    from cases
    where status = 'open' and outstanding_rial > 0

),

freezable as (

    select
        assets.person_id,
        assets.agency_id,
        assets.asset_kind,
        assets.asset_ref,
        assets.liquidity_rank,
        assets.value_rial,
        case
            -- refused or unknown after the answer that listed it: keep what is held, ask for nothing more
            when held_per_asset.is_asset_unavailable
                and held_per_asset.asset_last_acknowledged_at >= assets.learned_at
                then least(held_per_asset.held_rial, assets.value_rial)
            else assets.value_rial
        end as capacity_rial,
    from assets
    left join held_per_asset using (agency_id, asset_ref)
    where not assets.is_protected

),

capacities as (

    select
        *,
        cast(sum(capacity_rial) over (
            partition by person_id order by liquidity_rank, value_rial desc, agency_id, asset_ref
            rows between unbounded preceding and current row
        ) as bigint) as capacity_end_rial,
    from freezable
    where capacity_rial > 0

),

allocations as (

    select
        open_needs.case_id,
        open_needs.person_id,
        capacities.agency_id,
        capacities.asset_kind,
        capacities.asset_ref,
        capacities.liquidity_rank,
        capacities.value_rial as asset_value_rial,
        least(open_needs.need_end_rial, capacities.capacity_end_rial)
            - greatest(
                open_needs.need_end_rial - open_needs.outstanding_rial,
                capacities.capacity_end_rial - capacities.capacity_rial
            ) as planned_freeze_rial,
    from open_needs
    inner join capacities
        on capacities.person_id = open_needs.person_id
        -- the two intervals overlap
        and capacities.capacity_end_rial - capacities.capacity_rial < open_needs.need_end_rial
        and open_needs.need_end_rial - open_needs.outstanding_rial < capacities.capacity_end_rial

),

final as (

    select
        case_id,
        person_id,
        agency_id,
        asset_kind,
        asset_ref,
        cast(planned_freeze_rial as bigint) as planned_freeze_rial,
        liquidity_rank,
        asset_value_rial,
    from allocations
    where planned_freeze_rial > 0

)

select * from final
