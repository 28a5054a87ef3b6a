with

events as (

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
        court_code,
        occurred_at as filed_at,
        coalesce(amount_rial, 0) as amount_owed_rial,
    from events
    where event_type = 'filed'
    qualify row_number() over (partition by case_id order by occurred_at desc, event_id desc) = 1

),

progress as (

    select
        case_id,
        cast(coalesce(sum(amount_rial) filter (where event_type = 'paid'), 0) as bigint) as paid_rial,
        max(occurred_at) filter (where event_type = 'closed') as closed_at,
        max(occurred_at) as last_event_at,
        count(*) as events,
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
        filing.court_code,
        filing.filed_at,
        filing.amount_owed_rial,
        progress.paid_rial,
        greatest(filing.amount_owed_rial - progress.paid_rial, 0) as outstanding_rial,
        case when progress.closed_at is null then 'open' else 'closed' end as status,
        progress.closed_at,
        progress.last_event_at,
        progress.events,
    from filing
    inner join progress using (case_id)

)

select * from final
