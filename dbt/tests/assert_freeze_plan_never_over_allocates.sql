{#- The freeze plan never asks more for a case than it still owes, nor more of an asset than it is worth. -#}

with

freeze_plan as (

    select * from {{ ref('freeze_plan') }}

),

cases as (

    select * from {{ ref('int_cases') }}

),

assets as (

    select * from {{ ref('int_assets_latest') }}

),

per_case as (

    select case_id, sum(planned_freeze_rial) as planned_rial,
    from freeze_plan
    group by case_id

),

per_asset as (

    select person_id, agency_id, asset_ref, sum(planned_freeze_rial) as planned_rial,
    from freeze_plan
    group by all

),

over_case as (

    select 'case' as excess_on, per_case.case_id as ref, per_case.planned_rial - cases.outstanding_rial as excess_rial,
    from per_case
    inner join cases using (case_id)
    where per_case.planned_rial > cases.outstanding_rial

),

over_asset as (

    select 'asset' as excess_on, per_asset.asset_ref as ref, per_asset.planned_rial - assets.value_rial as excess_rial,
    from per_asset
    inner join assets using (person_id, agency_id, asset_ref)
    where per_asset.planned_rial > assets.value_rial or assets.is_protected

)

select * from over_case
union all
select * from over_asset
