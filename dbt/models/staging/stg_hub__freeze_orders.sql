with

source as (

    select * from {{ source('landing', 'freeze_orders') }}

),

renamed as (

    select
        order_id,
        cycle_id,
        kind as order_kind,
        case_id,
        agency_id,
        asset_ref,
        amount_rial,
        issued_at,
        delivery,
        reason,
        _batch_id as batch_id,
        _landed_at as landed_at,

    from source
    qualify row_number() over (partition by order_id order by _landed_at desc, _batch_id desc) = 1

)

select * from renamed
