with

source as (

    -- an answer counts once its inquiry's log row has landed: the inquiry log is the round's commit record, so
    -- the answers of a round that died before landing its log (asked again by the next round) never count
    select * from {{ source('landing', 'properties') }}
    where inquiry_id in (select inquiry_id from {{ source('landing', 'inquiries') }})

),

renamed as (

    select
        inquiry_id,
        agency_id,
        person_id,
        owner_name,
        registry_section,
        main_plate,
        sub_plate,
        share_percent,
        value_rial,
        responded_at,
        'property' as asset_kind,
        registry_section || '/' || main_plate || '/' || sub_plate as asset_ref,
        _batch_id as batch_id,
        _landed_at as landed_at,

    from source
    qualify row_number() over (
        partition by inquiry_id, registry_section, main_plate, sub_plate
        order by _landed_at desc, _batch_id desc
    ) = 1

)

select * from renamed
