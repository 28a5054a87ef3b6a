with

source as (

    -- an answer counts once its inquiry's log row has landed: the inquiry log is the round's commit record, so
    -- the answers of a round that died before landing its log (asked again by the next round) never count
    select * from {{ source('landing', 'bank_accounts') }}
    where inquiry_id in (select inquiry_id from {{ source('landing', 'inquiries') }})

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
