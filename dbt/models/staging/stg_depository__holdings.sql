with

source as (

    -- an answer counts once its inquiry's log row has landed: the inquiry log is the round's commit record, so
    -- the answers of a round that died before landing its log (asked again by the next round) never count
    select * from {{ source('landing', 'security_holdings') }}
    where inquiry_id in (select inquiry_id from {{ source('landing', 'inquiries') }})

),

renamed as (

    select
        inquiry_id,
        agency_id,
        person_id,
        holder_name,
        symbol,
        quantity,
        unit_price_rial,
        value_rial,
        responded_at,
        'security_holding' as asset_kind,
        -- a holding is the person's position in one symbol at the depository
        person_id || ':' || symbol as asset_ref,
        _batch_id as batch_id,
        _landed_at as landed_at,

    from source
    qualify row_number() over (partition by inquiry_id, symbol order by _landed_at desc, _batch_id desc) = 1

)

select * from renamed
