with

source as (

    -- the court may send an event again in a later drop: keep the newest copy only
    select * from {{ latest_copies(source('landing', 'case_events'), 'event_id') }}

),

renamed as (

    select
        event_id,
        case_id,
        event_type,
        occurred_at,
        court_code,
        debtor_id as person_id,
        debtor_kind as person_kind,
        debtor_name,
        creditor_name,
        creditor_iban,
        decision_number,
        judge_name,
        amount_rial,
        channel,
        automated as is_automated,
        _batch_id as batch_id,
        _landed_at as landed_at,

    from source

)

select * from renamed
