with

source as (

    select * from {{ source('landing', 'inquiries') }}

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
    -- a re-landed inquiry keeps its id: keep the newest copy only
    qualify row_number() over (partition by inquiry_id order by _landed_at desc, _batch_id desc) = 1

)

select * from renamed
