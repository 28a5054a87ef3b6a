with

source as (

    select * from {{ source('landing', 'freeze_acknowledgements') }}

),

renamed as (

    select
        order_id,
        order_kind,
        agency_id,
        case_id,
        asset_ref,
        status as ack_status,
        acknowledged_amount_rial,
        frozen_total_rial,
        acknowledged_at,
        reason,
        _batch_id as batch_id,
        _landed_at as landed_at,

    from source
    -- an order id is acknowledged once; a repeat delivery is the same acknowledgement
    qualify row_number() over (partition by order_id order by _landed_at desc, _batch_id desc) = 1

)

select * from renamed
