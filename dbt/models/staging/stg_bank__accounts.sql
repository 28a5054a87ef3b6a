with

source as (

    select * from {{ source('landing', 'bank_accounts') }}

),

renamed as (

    select
        inquiry_id,
        agency_id,
        person_id,
        holder_name,
        iban,
        account_kind,
        balance_rial,
        responded_at,
        'bank_account' as asset_kind,
        iban as asset_ref,
        _batch_id as batch_id,
        _landed_at as landed_at,

    from source
    qualify row_number() over (partition by inquiry_id, iban order by _landed_at desc, _batch_id desc) = 1

)

select * from renamed
