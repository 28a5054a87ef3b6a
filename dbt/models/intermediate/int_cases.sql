with

-- read where used, not materialised: each use scans only its columns of the staged table
events as not materialized (

    select * from {{ ref('stg_court__case_events') }}

),

filing as (

    -- the case's parties and amount owed come from its (latest) filed event
    select
        case_id,
        person_id,
        person_kind,
        debtor_name,
        creditor_name,
        creditor_iban,
        court_code,
        occurred_at as filed_at,
        coalesce(amount_rial, 0) as amount_owed_rial,
    from events
    where event_type = 'filed'
    qualify row_number() over (partition by case_id order by occurred_at desc, event_id desc) = 1

),

money as (

    -- what the agencies acknowledged moving: frozen money transferred to the court's account (collected), and
    -- collected money paid from it to the creditor (paid out)
    select
        case_id,
        cast(coalesce(sum(acknowledged_amount_rial) filter (where order_kind = 'transfer'), 0) as bigint)
            as collected_rial,
        cast(coalesce(sum(acknowledged_amount_rial) filter (where order_kind = 'payout'), 0) as bigint)
            as paid_out_rial,
    from {{ ref('stg_agency__freeze_acknowledgements') }}
    group by case_id

),

payments as (

    select
        events.case_id,
        events.occurred_at,
        filing.amount_owed_rial,
        sum(events.amount_rial) over (
            partition by events.case_id order by events.occurred_at, events.event_id
            rows between unbounded preceding and current row
        ) as paid_to_date_rial,
    from events
    inner join filing using (case_id)
    where events.event_type = 'paid'

),

paid_in_full as (

    select case_id, min(occurred_at) as paid_in_full_at,
    from payments
    where paid_to_date_rial >= amount_owed_rial
    group by case_id

),

progress as (

    select
        case_id,
        cast(coalesce(sum(amount_rial) filter (where event_type = 'paid'), 0) as bigint) as paid_rial,
        max(occurred_at) filter (where event_type = 'closed') as closed_at,
        max(occurred_at) as last_event_at,
        count(*) as events,
        arg_max(event_type, occurred_at) as last_event_type,
        min(occurred_at) filter (where event_type = 'payment_proved') as payment_proved_at,
        max(occurred_at) filter (where event_type = 'absconded') as absconded_at,
        max(occurred_at) filter (where event_type = 'apprehended') as apprehended_at,
        -- the enforcement decision the case rests on, and its judge: the latest the court sent (filed, freeze_ordered)
        arg_max(decision_number, occurred_at) filter (where decision_number is not null) as decision_number,
        arg_max(judge_name, occurred_at) filter (where judge_name is not null) as judge_name,
    from events
    group by case_id

),

final as (

    select
        filing.case_id,
        filing.person_id,
        filing.person_kind,
        filing.debtor_name,
        filing.creditor_name,
        filing.creditor_iban,
        progress.decision_number,
        progress.judge_name,
        filing.court_code,
        filing.filed_at,
        filing.amount_owed_rial,
        progress.paid_rial,
        greatest(filing.amount_owed_rial - progress.paid_rial, 0) as outstanding_rial,
        coalesce(money.collected_rial, 0) as collected_rial,
        coalesce(money.paid_out_rial, 0) as paid_out_rial,
        -- still owed once collected money (on the court's account or paid out) counts as paid
        greatest(filing.amount_owed_rial - progress.paid_rial - coalesce(money.collected_rial, 0), 0)
            as owed_now_rial,
        case when progress.closed_at is null then 'open' else 'closed' end as status,
        progress.closed_at,
        progress.last_event_at,
        progress.events,
        progress.last_event_type,
        paid_in_full.paid_in_full_at,
        progress.payment_proved_at,
        progress.absconded_at,
        progress.apprehended_at,
    from filing
    inner join progress using (case_id)
    left join paid_in_full using (case_id)
    left join money using (case_id)

)

select * from final
