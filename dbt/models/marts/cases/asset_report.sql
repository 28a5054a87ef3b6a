{#- What a judge reads for a case: every asset found for the debtor, what is frozen on it for this case
    and what is planned, with the case's coverage. A case with nothing found still has one row. -#}
{{ config(tags=['clock']) }}  {#- reads as_of(): every scheduled build builds it (estelam.warehouse.dbt_build) -#}

with

cases as (

    select * from {{ ref('int_cases') }}

),

assets as (

    select * from {{ ref('int_assets_latest') }}

),

frozen_state as (

    select * from {{ ref('int_frozen_state') }}

),

freeze_plan as (

    select * from {{ ref('freeze_plan') }}

),

case_asset_keys as (

    -- one row per case and asset (int_assets_latest is one row per person, agency and asset): no deduplication
    select cases.case_id, assets.agency_id, assets.asset_ref,
    from cases
    inner join assets on assets.person_id = cases.person_id

    union all

    -- still frozen on an asset the latest answers no longer list: the judge must see it too
    select frozen_state.case_id, frozen_state.agency_id, frozen_state.asset_ref,
    from frozen_state
    inner join cases using (case_id)
    anti join assets
        on assets.person_id = cases.person_id
        and assets.agency_id = frozen_state.agency_id
        and assets.asset_ref = frozen_state.asset_ref
    where frozen_state.frozen_rial > 0

),

case_assets as (

    select
        cases.case_id,
        case_asset_keys.agency_id,
        case_asset_keys.asset_ref,
        assets.agency_kind,
        assets.asset_kind,
        assets.asset_detail,
        assets.value_rial,
        assets.learned_at,
        assets.learned_at < {{ as_of() }} - to_days({{ var('stale_after_days') | int }}) as is_stale,
        assets.is_protected,
        coalesce(frozen_state.frozen_rial, 0) as frozen_rial,
        frozen_state.last_status as last_ack_status,
        frozen_state.last_acknowledged_at,
        coalesce(freeze_plan.planned_freeze_rial, 0) as planned_freeze_rial,
    from cases
    left join case_asset_keys using (case_id)
    left join assets
        on assets.person_id = cases.person_id
        and assets.agency_id = case_asset_keys.agency_id
        and assets.asset_ref = case_asset_keys.asset_ref
    left join frozen_state
        on frozen_state.case_id = cases.case_id
        and frozen_state.agency_id = case_asset_keys.agency_id
        and frozen_state.asset_ref = case_asset_keys.asset_ref
    left join freeze_plan
        on freeze_plan.case_id = cases.case_id
        and freeze_plan.agency_id = case_asset_keys.agency_id
        and freeze_plan.asset_ref = case_asset_keys.asset_ref

),

coverage as (

    -- the case's frozen total: each of its holds above zero is one of its asset rows (case_asset_keys), so it is
    -- summed from the holds (tens of thousands), not from the asset rows (millions)
    select
        cases.case_id,
        cast(coalesce(sum(frozen_state.frozen_rial), 0) as bigint) as case_frozen_rial,
    from cases
    left join frozen_state on frozen_state.case_id = cases.case_id and frozen_state.frozen_rial > 0
    group by cases.case_id

),

final as (

    select
        cases.case_id,
        cases.court_code,
        cases.person_id,
        cases.person_kind,
        cases.debtor_name,
        cases.creditor_name,
        cases.status as case_status,
        cases.filed_at,
        cases.amount_owed_rial,
        cases.paid_rial,
        cases.outstanding_rial,
        cases.collected_rial,
        cases.paid_out_rial,
        cases.owed_now_rial,
        cases.decision_number,
        cases.judge_name,
        case_assets.agency_id,
        case_assets.agency_kind,
        case_assets.asset_kind,
        case_assets.asset_ref,
        case_assets.asset_detail,
        case_assets.value_rial,
        case_assets.learned_at,
        case_assets.is_protected,
        case when case_assets.asset_ref is null then null else case_assets.frozen_rial end as frozen_rial,
        case_assets.last_ack_status,
        case when case_assets.asset_ref is null then null else case_assets.planned_freeze_rial end
            as planned_freeze_rial,
        coverage.case_frozen_rial,
        cast(case
            when cases.outstanding_rial > 0 then round(coverage.case_frozen_rial / cases.outstanding_rial, 4)
        end as double) as coverage_ratio,
        case_assets.last_acknowledged_at,
        case_assets.is_stale,
        cases.events as case_events,
        cases.last_event_type,
        cases.last_event_at,
    from cases
    inner join case_assets using (case_id)
    inner join coverage using (case_id)

)

select * from final
