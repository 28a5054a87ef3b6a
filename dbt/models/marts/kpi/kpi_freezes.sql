{#- Freezes per agency: how fast orders are acknowledged, money blocked beyond what is owed (should be zero),
    and money left blocked with no order nor acknowledgement for idle_freeze_days. No personal data. -#}
{{ config(tags=['clock']) }}  {#- reads as_of(): every scheduled build builds it (estelam.warehouse.dbt_build) -#}
{%- set idle_days = var('idle_freeze_days') | int -%}

with

orders as (

    select * from {{ ref('stg_hub__freeze_orders') }}

),

acknowledgements as (

    select * from {{ ref('stg_agency__freeze_acknowledgements') }}

),

frozen_state as (

    select * from {{ ref('int_frozen_state') }}

),

cases as (

    select * from {{ ref('int_cases') }}

),

order_stats as (

    select
        orders.agency_id,
        count(*) filter (where orders.order_kind = 'freeze') as freeze_orders,
        count(*) filter (where orders.order_kind = 'release') as release_orders,
        count(*) filter (where orders.order_kind = 'transfer') as transfer_orders,
        count(*) filter (where orders.order_kind = 'payout') as payout_orders,
        count(*) filter (where orders.order_kind = 'cancel') as cancel_orders,
        cast(coalesce(sum(acknowledgements.acknowledged_amount_rial)
            filter (where orders.order_kind = 'payout'), 0) as bigint) as paid_out_rial,
        count(acknowledgements.order_id) as orders_acknowledged,
        count(*) - count(acknowledgements.order_id) as orders_unacknowledged,
        -- from the order's first sending (it is re-sent each cycle until acknowledged)
        round(quantile_cont({{ seconds_between('acknowledgements.acknowledged_at',
                                         'coalesce(orders.first_issued_at, orders.issued_at)') }},
            0.5), 3) as ack_seconds_p50,
        round(quantile_cont({{ seconds_between('acknowledgements.acknowledged_at',
                                         'coalesce(orders.first_issued_at, orders.issued_at)') }},
            0.95), 3) as ack_seconds_p95,
    from orders
    left join acknowledgements using (order_id)
    group by orders.agency_id

),

held as (

    select
        frozen_state.*,
        -- a closed case is owed nothing more: everything still held for it is excess
        case when cases.status = 'closed' then 0 else coalesce(cases.outstanding_rial, 0) end as owed_rial,
        sum(frozen_state.frozen_rial) over (partition by frozen_state.case_id) as case_frozen_rial,
    from frozen_state
    left join cases using (case_id)
    where frozen_state.frozen_rial > 0

),

last_orders as (

    select case_id, agency_id, asset_ref, max(coalesce(first_issued_at, issued_at)) as last_issued_at,
    from orders
    group by all

),

held_judged as (

    select
        held.agency_id,
        held.frozen_rial,
        -- the case's excess, shared among the agencies holding for it in proportion to what each holds
        cast(greatest(held.case_frozen_rial - held.owed_rial, 0) * held.frozen_rial // held.case_frozen_rial
            as bigint) as over_blocked_rial,
        held.last_acknowledged_at < {{ as_of() }} - to_days({{ idle_days }})
            and coalesce(last_orders.last_issued_at <= held.last_acknowledged_at, true) as is_idle,
    from held
    left join last_orders using (case_id, agency_id, asset_ref)

),

held_stats as (

    select
        agency_id,
        cast(sum(frozen_rial) as bigint) as frozen_rial,
        cast(sum(over_blocked_rial) as bigint) as over_blocked_rial,
        cast(coalesce(sum(frozen_rial) filter (where is_idle), 0) as bigint) as idle_blocked_rial,
        count(*) filter (where is_idle) as idle_blocked_assets,
    from held_judged
    group by agency_id

),

final as (

    select
        coalesce(order_stats.agency_id, held_stats.agency_id) as agency_id,
        coalesce(order_stats.freeze_orders, 0) as freeze_orders,
        coalesce(order_stats.release_orders, 0) as release_orders,
        coalesce(order_stats.transfer_orders, 0) as transfer_orders,
        coalesce(order_stats.payout_orders, 0) as payout_orders,
        coalesce(order_stats.cancel_orders, 0) as cancel_orders,
        coalesce(order_stats.paid_out_rial, 0) as paid_out_rial,
        coalesce(order_stats.orders_acknowledged, 0) as orders_acknowledged,
        coalesce(order_stats.orders_unacknowledged, 0) as orders_unacknowledged,
        order_stats.ack_seconds_p50,
        order_stats.ack_seconds_p95,
        coalesce(held_stats.frozen_rial, 0) as frozen_rial,
        coalesce(held_stats.over_blocked_rial, 0) as over_blocked_rial,
        coalesce(held_stats.idle_blocked_rial, 0) as idle_blocked_rial,
        coalesce(held_stats.idle_blocked_assets, 0) as idle_blocked_assets,
    from order_stats
    full outer join held_stats using (agency_id)

)

select * from final
