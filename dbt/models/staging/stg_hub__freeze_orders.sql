with

source as (

    -- an order is sent again every cycle until acknowledged: its latest sending is its state
    select * from {{ latest_copies(source('landing', 'freeze_orders'), 'order_id', 'issued_at desc, _landed_at desc, _batch_id desc') }}

),

renamed as (

    select
        order_id,
        cycle_id,
        kind as order_kind,
        case_id,
        person_id,
        agency_id,
        asset_kind,
        asset_ref,
        amount_rial,
        restriction_type,
        version as order_version,
        reason_code,
        confidential as is_confidential,
        first_issued_at,
        deadline_at,
        issued_at,
        delivery,
        status as order_status,
        reason,
        message_id,
        cancels_order_id,
        _batch_id as batch_id,
        _landed_at as landed_at,

    from source

)

select * from renamed
