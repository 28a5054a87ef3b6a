with

source as (

    select * from {{ source('landing', 'message_log') }}

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
    -- a batch landed again keeps its entries' sequence numbers: keep one copy
    qualify row_number() over (partition by seq order by _landed_at desc, _batch_id desc) = 1

)

select * from renamed
