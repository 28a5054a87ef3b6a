{#- Every identifier any feed uses for a person, normalised, qualified by its scheme and checked once per
    distinct value, in DuckDB SQL (macros/identifiers.sql: estelam.core.identifiers' rules, held equal to them by
    a differential test). A bare id is read by the jurisdiction profile's schemes (var person_id_schemes), an id
    written with its scheme as written: the same ten digits as an Iranian code and as a Saudi id are two keys. -#}
{%- set schemes = var('person_id_schemes') -%}

with

case_events as (

    select * from {{ ref('stg_court__case_events') }}

),

inquiries as (

    select * from {{ ref('stg_hub__inquiries') }}

),

-- the assets of the kinds declared by a mapping whose mapping names the owner (contributes.assets.owner_name):
-- their ids and names are identity evidence, as the built-in kinds' are; a kind naming no owner has none
mapped_assets as (

    select * from {{ ref('stg_kinds__assets') }}
    where owner_name is not null

),

raw_ids as (

    select person_id as raw_person_id from case_events
    union
    select person_id from inquiries
    union
    select person_id from mapped_assets

),

split as (

    select
        raw_person_id,
        {{ sql_person_id_prefix('raw_person_id') }} as written_scheme,
        {{ sql_person_id_code('raw_person_id') }} as code,
    from raw_ids
    where raw_person_id is not null

),

keyed as (

    select
        *,
        {{ sql_person_key('written_scheme', 'code', schemes) }} as person_key,
    from split

),

final as (

    select
        raw_person_id,
        -- the id as the hub keeps it: bare for the deployment's schemes (as its agencies know it), else qualified
        {{ sql_local_person_id('person_key', 'written_scheme', 'code', schemes) }} as person_id,
        -- the person: one key per scheme and code; an id no scheme accepts keeps its (unqualified) form
        coalesce(person_key, {{ sql_local_person_id('person_key', 'written_scheme', 'code', schemes) }})
            as person_key,
        {{ sql_person_key_scheme('person_key') }} as identifier_scheme,
    from keyed

)

select * from final
