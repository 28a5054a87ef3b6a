{#- Every named record of a person, one row per source, agency, identifier as written and spelling,
    with the identifier resolved (int_person_ids) and the name normalised by estelam.identifiers
    (UDF on distinct spellings). Inquiries carry no name, so they are not evidence here. -#}

with

case_events as (

    select * from {{ ref('stg_court__case_events') }}

),

-- the assets of the kinds declared by a mapping whose mapping names the owner (contributes.assets.owner_name),
-- the source being the agency kind; a kind naming no owner is no evidence
mapped_assets as (

    select * from {{ ref('stg_kinds__assets') }}
    where owner_name is not null

),

person_ids as (

    select * from {{ ref('int_person_ids') }}

),

records as (

    -- the court's filing is where a debtor's kind is declared
    select 'court' as source, court_code as agency_id, person_id as raw_person_id, debtor_name as raw_name,
        person_kind as declared_kind, occurred_at as seen_at,
    from case_events
    where event_type = 'filed'

    union all
    select agency_kind, agency_id, person_id, owner_name, null, responded_at,
    from mapped_assets

),

grouped as (

    select
        source,
        agency_id,
        raw_person_id,
        raw_name,
        declared_kind,
        count(*) as records,
        min(seen_at) as first_seen_at,
        max(seen_at) as last_seen_at,
    from records
    group by all

),

spellings as (

    -- each spelling once: its normalised form and the keys made of it (a few hundred values, millions of rows)
    select
        raw_name,
        name_normalised,
        -- identity.name_key: the normalised name without spaces (word breaks vary by agency)
        replace(name_normalised, ' ', '') as name_key,
        -- the same words in any order ("کریمی علی" = "علی کریمی")
        array_to_string(list_sort(string_split(name_normalised, ' ')), '') as name_token_key,
    from (
        select raw_name, normalise_name(raw_name) as name_normalised,
        from (select distinct raw_name from grouped where raw_name is not null)
    )

),

final as (

    select
        grouped.source,
        grouped.agency_id,
        grouped.raw_person_id,
        grouped.raw_name,
        grouped.declared_kind,
        person_ids.person_id,
        person_ids.person_key,
        person_ids.identifier_scheme,
        spellings.name_normalised,
        spellings.name_key,
        spellings.name_token_key,
        grouped.records,
        grouped.first_seen_at,
        grouped.last_seen_at,
    from grouped
    left join person_ids using (raw_person_id)
    left join spellings using (raw_name)

)

select * from final
