{#- Identifiers first, names only as evidence: every record of a person, against the person's canonical
    spelling (the court's, else the most frequent). A record whose name disagrees, whose identifier passes
    no check digit, or whose declared kind contradicts its identifier carries an issue for review. -#}
{%- set threshold = var('name_match_threshold') -%}

with

records as (

    select * from {{ ref('int_person_records') }}

),

spellings_per_person as (

    select
        person_id,
        name_key,
        any_value(name_token_key) as name_token_key,
        -- a display spelling: the court's if it wrote this key, else the most frequent (deterministic on ties)
        first(name_normalised order by source = 'court' desc, records desc, name_normalised) as name_normalised,
        bool_or(source = 'court') as from_court,
        sum(records) as records,
    from records
    where name_key is not null
    group by person_id, name_key

),

canonical as (

    select
        person_id,
        name_key as canonical_key,
        name_token_key as canonical_token_key,
        name_normalised as canonical_name,
    from spellings_per_person
    qualify row_number() over (
        partition by person_id order by from_court desc, records desc, name_key
    ) = 1

),

kind_of_scheme as (

    select * from (values
        ('iran_national_code', 'natural'),
        ('saudi_national_id', 'natural'),
        ('saudi_iqama', 'natural'),
        ('iran_legal_id', 'legal'),
        ('saudi_unified_number', 'legal')
    ) as t(identifier_scheme, scheme_kind)

),

weighed as (

    select
        records.*,
        canonical.canonical_name,
        kind_of_scheme.scheme_kind,
        case
            when records.name_key is null or canonical.canonical_key is null then null
            when records.name_key = canonical.canonical_key then 1.0
            when records.name_token_key = canonical.canonical_token_key then 1.0
            else round(jaro_winkler_similarity(records.name_key, canonical.canonical_key), 4)
        end as name_similarity,
    from records
    left join canonical using (person_id)
    left join kind_of_scheme using (identifier_scheme)

),

final as (

    select
        *,
        name_similarity is null or name_similarity >= {{ threshold }} as name_agrees,
        case
            when identifier_scheme is null then 'invalid_identifier'
            when declared_kind is not null and declared_kind <> scheme_kind then 'kind_conflict'
            when name_similarity < {{ threshold }} then 'name_conflict'
        end as issue,
    from weighed

)

select * from final
