{#- The register of fugitive convicts, for the police and entry control: persons who absconded on a listed,
    unsatisfied conviction and were not apprehended since. -#}
{{ config(tags=['clock']) }}  {#- reads as_of(): every scheduled build builds it (estelam.warehouse.dbt_build) -#}

with

convictions as (

    select * from {{ ref('int_convictions') }}

),

absconding as (

    select * from convictions
    where is_listed and is_absconding and conviction_status <> 'satisfied'

),

final as (

    select
        person_id,
        any_value(identifier_scheme) as identifier_scheme,
        first(person_kind order by absconded_at desc, case_id desc) as person_kind,
        first(debtor_name order by absconded_at desc, case_id desc) as person_name,
        -- the latest absconding: which court to call
        first(case_id order by absconded_at desc, case_id desc) as case_id,
        first(court_code order by absconded_at desc, case_id desc) as court_code,
        max(absconded_at) as absconded_at,
        count(*) as fugitive_cases,
        cast(sum(outstanding_rial) as bigint) as outstanding_rial,
        {{ as_of() }} as as_of,
    from absconding
    group by person_id

)

select * from final
