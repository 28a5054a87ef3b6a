-- GENERATED from contracts/kinds/*.yaml by estelam.contracts.kind_models.write_staging(): do not edit by hand.
-- tests/contracts/test_kinds.py fails when this file and the mappings disagree.

with

facts as (

    -- civil_registry: feed civil_records
    select inquiry_id, agency_id, 'civil_registry' as agency_kind, person_id, responded_at, record_no,
           column_name, value_text
    from (
        select
            inquiry_id, agency_id, person_id, responded_at,
            row_number() over (partition by inquiry_id order by inquiry_id, person_id) as record_no,
            cast(full_name as varchar) as full_name,
            cast(vital_status as varchar) as vital_status,
            cast(death_date as varchar) as death_date,
            cast(address as varchar) as address,
            cast(postal_code as varchar) as postal_code,
            cast(known_ids as varchar) as known_ids
        from {{ latest_copies(source('landing', 'civil_records'), 'inquiry_id, person_id') }}
    ) unpivot (value_text for column_name in (full_name, vital_status, death_date, address, postal_code, known_ids))

    union all

    -- eu_vies: feed vat_registrations
    select inquiry_id, agency_id, 'eu_vies' as agency_kind, person_id, responded_at, record_no,
           column_name, value_text
    from (
        select
            inquiry_id, agency_id, person_id, responded_at,
            row_number() over (partition by inquiry_id order by inquiry_id, person_id) as record_no,
            cast(country_code as varchar) as country_code,
            cast(trader_name as varchar) as trader_name,
            cast(trader_address as varchar) as trader_address
        from {{ latest_copies(source('landing', 'vat_registrations'), 'inquiry_id, person_id') }}
    ) unpivot (value_text for column_name in (country_code, trader_name, trader_address))

    union all

    -- returned_cheques: feed returned_cheques
    select inquiry_id, agency_id, 'returned_cheques' as agency_kind, person_id, responded_at, record_no,
           column_name, value_text
    from (
        select
            inquiry_id, agency_id, person_id, responded_at,
            row_number() over (partition by inquiry_id order by inquiry_id, sayad_id) as record_no,
            cast(sayad_id as varchar) as sayad_id,
            cast(bank_name as varchar) as bank_name,
            cast(amount_rial as varchar) as amount_rial,
            cast(returned_on as varchar) as returned_on,
            cast(reason as varchar) as reason
        from {{ latest_copies(source('landing', 'returned_cheques'), 'inquiry_id, sayad_id') }}
    ) unpivot (value_text for column_name in (sayad_id, bank_name, amount_rial, returned_on, reason))

    union all

    -- social_security: feed employments
    select inquiry_id, agency_id, 'social_security' as agency_kind, person_id, responded_at, record_no,
           column_name, value_text
    from (
        select
            inquiry_id, agency_id, person_id, responded_at,
            row_number() over (partition by inquiry_id order by inquiry_id, employer_id) as record_no,
            cast(employer_name as varchar) as employer_name,
            cast(monthly_salary_rial as varchar) as monthly_salary_rial,
            cast(garnishable_rial as varchar) as garnishable_rial,
            cast(protected_rial as varchar) as protected_rial,
            cast(employed_since as varchar) as employed_since
        from {{ latest_copies(source('landing', 'employments'), 'inquiry_id, employer_id') }}
    ) unpivot (value_text for column_name in (employer_name, monthly_salary_rial, garnishable_rial, protected_rial, employed_since))

)

select * from facts
where inquiry_id in (select inquiry_id from {{ source('landing', 'inquiries') }})
