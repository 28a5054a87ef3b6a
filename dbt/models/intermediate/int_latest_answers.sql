{#- The latest answered inquiry per person per agency: an answer replaces every earlier answer,
    including when it lists fewer assets (sold, closed, emptied). -#}

with

inquiries as (

    select * from {{ ref('stg_hub__inquiries') }}

),

answers as (

    select person_id, agency_id, agency_kind, inquiry_id, responded_at,
    from inquiries
    where status = 'answered'

    -- an asset row also proves its inquiry was answered, should the inquiry log land later (every kind's assets,
    -- generated from contracts/kinds/*.yaml); per_inquiry groups them, so no distinct here
    union all
    select person_id, agency_id, agency_kind, inquiry_id, responded_at,
    from {{ ref('stg_kinds__assets') }}

),

per_inquiry as (

    select
        person_id,
        agency_id,
        agency_kind,
        inquiry_id,
        max(responded_at) as answered_at,
    from answers
    group by all

),

final as (

    select * from per_inquiry
    qualify row_number() over (
        partition by person_id, agency_id
        order by answered_at desc nulls last, inquiry_id desc
    ) = 1

)

select * from final
