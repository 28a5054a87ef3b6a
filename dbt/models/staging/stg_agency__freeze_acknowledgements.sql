with

source as (

    -- an order id is acknowledged once; a repeat delivery is the same acknowledgement
    select * from {{ latest_copies(source('landing', 'freeze_acknowledgements'), 'order_id') }}

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

)

select * from renamed
