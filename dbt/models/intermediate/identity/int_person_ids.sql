{#- Every identifier any feed uses for a person, normalised and checked once, by estelam.identifiers
    (through the estelam.identity UDFs, called on distinct values only). A table: readers have no UDFs. -#}

with

case_events as (

    select * from {{ ref('stg_court__case_events') }}

),

inquiries as (

    select * from {{ ref('stg_hub__inquiries') }}

),

bank_accounts as (

    select * from {{ ref('stg_bank__accounts') }}

),

holdings as (

    select * from {{ ref('stg_depository__holdings') }}

),

vehicles as (

    select * from {{ ref('stg_vehicle_registry__vehicles') }}

),

properties as (

    select * from {{ ref('stg_land_registry__properties') }}

),

raw_ids as (

    select person_id as raw_person_id from case_events
    union
    select person_id from inquiries
    union
    select person_id from bank_accounts
    union
    select person_id from holdings
    union
    select person_id from vehicles
    union
    select person_id from properties

),

final as (

    select
        raw_person_id,
        normalise_identifier(raw_person_id) as person_id,
        identifier_scheme(raw_person_id) as identifier_scheme,
    from raw_ids
    where raw_person_id is not null

)

select * from final
