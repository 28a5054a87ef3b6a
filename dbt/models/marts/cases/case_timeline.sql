{#- A case's timeline, as the judge and the parties' dashboard show it: the court's events, the hub's freeze
    and release orders and the agencies' acknowledgements, in order, each with its step of the virtual
    enforcement court (when it is one) and the time since the previous entry. -#}

with

events as (

    select * from {{ ref('stg_court__case_events') }}

),

orders as (

    select * from {{ ref('stg_hub__freeze_orders') }}

),

acknowledgements as (

    select * from {{ ref('stg_agency__freeze_acknowledgements') }}

),

steps as (

    select * from {{ ref('enforcement_steps') }}

),

entries as (

    select
        case_id, event_id as entry_id, event_type, occurred_at, 'court' as source, court_code as actor,
        is_automated, amount_rial, channel as detail,
    from events

    union all
    select
        -- an order is re-sent each cycle until acknowledged: the timeline shows its first sending
        case_id, order_id, order_kind || '_order_sent', coalesce(first_issued_at, issued_at), 'hub', agency_id,
        true, amount_rial, delivery,
    from orders

    union all
    select
        case_id, 'ack:' || order_id, 'order_acknowledged', acknowledged_at, 'agency', agency_id,
        true, acknowledged_amount_rial, ack_status,
    from acknowledgements

),

final as (

    select
        entries.case_id,
        row_number() over (
            partition by entries.case_id order by entries.occurred_at, entries.source, entries.entry_id
        ) as seq,
        entries.entry_id,
        entries.event_type,
        steps.step_no,
        steps.step,
        entries.occurred_at,
        entries.source,
        entries.actor,
        entries.is_automated,
        entries.amount_rial,
        entries.detail,
        round({{ seconds_between('entries.occurred_at', 'lag(entries.occurred_at) over (
            partition by entries.case_id order by entries.occurred_at, entries.source, entries.entry_id
        )') }} / 3600.0, 2) as hours_since_previous,
    from entries
    left join steps using (event_type)

)

select * from final
