with

source as (

    select * from {{ latest_copies(source('landing', 'debtor_notifications'), 'notification_id') }}

),

renamed as (

    select
        notification_id,
        case_id,
        person_id,
        action,
        agency_id,
        asset_kind,
        asset_ref,
        amount_rial,
        frozen_total_rial,
        reason_code,
        message,
        occurred_at,
        confidential as is_confidential,
        _batch_id as batch_id,
        _landed_at as landed_at,

    from source

)

select * from renamed
