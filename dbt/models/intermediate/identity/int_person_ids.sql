{#- Every identifier any feed uses for a person, normalised and checked once per distinct value, in DuckDB SQL
    (macros/identifiers.sql: estelam.core.identifiers' rules, held equal to them by a differential test). -#}

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

normalised as (

    select raw_person_id, {{ sql_normalise_identifier('raw_person_id') }} as person_id,
    from raw_ids
    where raw_person_id is not null

),

final as (

    select
        raw_person_id,
        person_id,
        {{ sql_identifier_scheme('person_id') }} as identifier_scheme,
    from normalised

)

select * from final
