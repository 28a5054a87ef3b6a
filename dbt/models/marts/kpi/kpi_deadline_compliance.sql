{#- The reply-deadline scoreboard: per agency and kind of request (inquiry, freeze order, release order),
    how many were answered in time, late, or not at all once their deadline passed. The deadlines are each
    agency's reply_deadline_s in contracts/agencies.yaml. No personal data. -#}
{{ config(tags=['clock']) }}  {#- reads as_of(): every scheduled build builds it (estelam.warehouse.dbt_build) -#}

with

inquiries as (

    select * from {{ ref('stg_hub__inquiries') }}

),

orders as (

    select * from {{ ref('stg_hub__freeze_orders') }}

),

acknowledgements as (

    select * from {{ ref('stg_agency__freeze_acknowledgements') }}

),

requests as (

    select
        agency_id,
        'inquiry' as request_kind,
        requested_at as sent_at,
        responded_at as answered_at,
        -- the hub's measured response time where it has one; the clock difference otherwise
        coalesce(latency_ms / 1000.0, {{ seconds_between('responded_at', 'requested_at') }}) as elapsed_s,
        {{ reply_deadline_s('agency_id') }} as deadline_s,
    from inquiries

    union all
    select
        orders.agency_id,
        orders.order_kind || '_order',
        -- an order is re-sent each cycle until acknowledged: its deadline runs from the first sending
        coalesce(orders.first_issued_at, orders.issued_at),
        acknowledgements.acknowledged_at,
        {{ seconds_between('acknowledgements.acknowledged_at', 'coalesce(orders.first_issued_at, orders.issued_at)') }},
        {{ reply_deadline_s('orders.agency_id') }},
    from orders
    left join acknowledgements using (order_id)

),

judged as (

    select
        *,
        case
            when answered_at is not null and elapsed_s <= deadline_s then 'on_time'
            when answered_at is not null then 'late'
            when sent_at + to_microseconds(cast(deadline_s * 1e6 as bigint)) <= {{ as_of() }} then 'unanswered'
            else 'pending'
        end as verdict,
    from requests

),

final as (

    select
        agency_id,
        request_kind,
        count(*) as requests,
        count(*) filter (where verdict = 'on_time') as on_time,
        count(*) filter (where verdict = 'late') as late,
        count(*) filter (where verdict = 'unanswered') as unanswered,
        count(*) filter (where verdict = 'pending') as pending,
        round(count(*) filter (where verdict = 'on_time')
            / greatest(count(*) filter (where verdict <> 'pending'), 1), 4) as compliance_share,
        cast(any_value(deadline_s) as double) as reply_deadline_s,
        min(sent_at) filter (where verdict = 'unanswered') as oldest_unanswered_sent_at,
    from judged
    group by agency_id, request_kind

)

select * from final
