{#- Records identity resolution will not decide alone: an identifier that passes no check digit,
    a declared kind that contradicts the identifier, a name that disagrees with the identifier's other records.
    Shown to a clerk, never merged or split by guessing. -#}

with

evidence as (

    select * from {{ ref('int_person_evidence') }}

),

final as (

    select
        person_id,
        person_key,
        source,
        agency_id,
        raw_person_id,
        raw_name,
        name_normalised,
        canonical_name,
        name_similarity,
        identifier_scheme,
        declared_kind,
        scheme_kind,
        issue,
        records,
        first_seen_at,
        last_seen_at,
    from evidence
    where issue is not null

)

select * from final
