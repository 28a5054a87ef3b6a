-- Facts about a person from the kinds declared by mapping files (civil registry, social security, returned
-- cheques, ...): each agency's latest answered inquiry about the person, one row per labelled column of each record.
-- Nothing here names a kind: the generated staging model (stg_kinds__facts) has one shape for all of them.

with

facts as (

    select * from {{ ref('stg_kinds__facts') }}

),

latest as (

    -- the newest answered inquiry per person and agency; an answer with no records (an unknown person) counts too
    select person_id, agency_id, arg_max(inquiry_id, responded_at) as inquiry_id, max(responded_at) as responded_at
    from {{ ref('stg_hub__inquiries') }}
    where status = 'answered'
      and agency_id in (select distinct agency_id from facts)
    group by person_id, agency_id

),

final as (

    select
        latest.person_id,
        latest.agency_id,
        facts.agency_kind,
        latest.inquiry_id,
        latest.responded_at,
        facts.record_no,
        facts.column_name,
        facts.value_text,
    from latest
    inner join facts on facts.inquiry_id = latest.inquiry_id

)

select * from final
