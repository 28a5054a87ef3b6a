{#- One row per person as resolved across agencies: identifiers first (records with one qualified
    identifier are one person, whatever the spelling), names only as evidence (name_agreement). person_id is
    the hub's form of person_key (bare for the deployment's schemes, qualified for others): one for one. -#}

with

evidence as (

    select * from {{ ref('int_person_evidence') }}

),

final as (

    select
        person_id,
        any_value(person_key) as person_key,
        any_value(identifier_scheme) as identifier_scheme,
        coalesce(any_value(scheme_kind), first(declared_kind order by last_seen_at desc) filter (
            where declared_kind is not null)) as person_kind,
        any_value(canonical_name) as person_name,
        count(distinct raw_name) as spellings,
        count(distinct name_key) as name_keys,
        count(distinct source) as sources,
        count(distinct source || '/' || agency_id) as agencies,
        cast(sum(records) as bigint) as records,
        round(coalesce(sum(records) filter (where name_agrees), 0) / sum(records), 4) as name_agreement,
        count(*) filter (where issue is not null) as issues,
        count(*) filter (where issue is not null) > 0 as needs_review,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
    from evidence
    group by person_id

)

select * from final
