with

source as (

    select * from {{ latest_copies(source('landing', 'case_directives'), 'directive_id') }}

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

)

select * from renamed
