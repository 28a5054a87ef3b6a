with

source as (

    select * from {{ source('landing', 'case_directives') }}

),

renamed as (

    select
        directive_id,
        case_id,
        directive,
        authorised_users,
        amount_rial,
        restriction_type,
        order_id,
        asset_ref,
        note,
        coalesce(source, 'court') as source,
        issued_by,
        issued_at,
        _batch_id as batch_id,
        _landed_at as landed_at,

    from source
    qualify row_number() over (partition by directive_id order by _landed_at desc, _batch_id desc) = 1

)

select * from renamed
