with

source as (

    -- a batch landed again keeps its entries' sequence numbers: keep one copy
    select * from {{ latest_copies(source('landing', 'message_log'), 'seq') }}

),

renamed as (

    select
        seq,
        message_id,
        direction,
        agency_id,
        operation,
        request_id,
        message_at,
        size_bytes,
        sha256,
        body_kept,
        http_status,
        error,
        purpose,
        case_ids,
        persons,
        _batch_id as batch_id,
        _landed_at as landed_at,

    from source

)

select * from renamed
