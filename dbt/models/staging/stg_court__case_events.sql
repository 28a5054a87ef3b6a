with

source as (

    select * from {{ source('landing', 'case_events') }}

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
    -- the court may send an event again in a later drop: keep the newest copy only
    qualify row_number() over (partition by event_id order by _landed_at desc, _batch_id desc) = 1

)

select * from renamed
