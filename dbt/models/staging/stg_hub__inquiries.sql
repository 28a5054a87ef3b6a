with

source as (

    -- a re-landed inquiry keeps its id: keep the newest copy only
    select * from {{ latest_copies(source('landing', 'inquiries'), 'inquiry_id') }}

),

renamed as (

    select
        inquiry_id,
        run_id,
        agency_id,
        agency_kind,
        person_id,
        case_id,
        requested_at,
        responded_at,
        latency_ms,
        status,
        reason,
        assets_found,
        attempts,
        message_id,
        _batch_id as batch_id,
        _landed_at as landed_at,

    from source

)

select * from renamed
