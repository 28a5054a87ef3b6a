{#- The figures the seed documents publish, measured on this hub's own records, one row per figure: the Saudi
    Ministry of Justice's (enforcement requests received, enforcement operations executed, the share of steps done
    without human intervention, requests closed and the time from application to closure) and the Iranian
    judiciary's (inquiries per quarter, the electronic share of notices). The judiciary's time to a clean-record
    certificate has no event here and no row. No personal data. -#}

with

events as (

    select * from {{ ref('stg_court__case_events') }}

),

orders as (

    select * from {{ ref('stg_hub__freeze_orders') }}

),

steps as (

    select * from {{ ref('kpi_enforcement_steps') }}

),

notifications as (

    select * from {{ ref('kpi_notifications') }}

),

inquiries as (

    select * from {{ ref('kpi_inquiries_daily') }}

),

received as (

    select 'enforcement_requests_received' as figure, 'saudi_moj' as seed, count(distinct case_id) as value,
        'requests' as unit, cast(null as date) as period_start,
    from events
    where event_type = 'filed'

),

operations as (

    -- each order an agency took is one enforcement operation executed (freeze, release, transfer, payout, cancel)
    select 'enforcement_operations_executed', 'saudi_moj', count(*), 'orders', cast(null as date),
    from orders
    where delivery = 'delivered'

),

step_shares as (

    select 'automated_step_share', 'saudi_moj',
        round(sum(automated) / nullif(sum(cases_reached), 0), 4), 'share', cast(null as date),
    from steps
    where step_no between 1 and 6

),

closures as (

    select 'enforcement_requests_closed', 'saudi_moj', coalesce(sum(cases_reached), 0), 'requests',
        cast(null as date),
    from steps
    where step = 'whole_request'

    union all
    select 'requests_closed_without_human_intervention_share', 'saudi_moj',
        round(sum(automated) / nullif(sum(cases_reached), 0), 4), 'share', cast(null as date),
    from steps
    where step = 'whole_request'

    union all
    -- the mean over months weighted by their closed requests: the mean over every closed request
    select 'hours_application_to_closure_avg', 'saudi_moj',
        round(sum(hours_avg * cases_reached) / nullif(sum(cases_reached), 0), 2), 'hours', cast(null as date),
    from steps
    where step = 'whole_request'

),

quarters as (

    select cast(date_trunc('quarter', day) as date) as quarter_start, sum(inquiries_sent) as inquiries,
    from inquiries
    group by all

),

latest_quarter as (

    select 'inquiries_per_quarter', 'iran_judiciary', inquiries, 'inquiries', quarter_start,
    from quarters
    qualify row_number() over (order by quarter_start desc) = 1

),

notices as (

    select 'electronic_notice_share', 'iran_judiciary',
        round(sum(electronic) / nullif(sum(notices), 0), 4), 'share', cast(null as date),
    from notifications

),

unioned as (

    select * from received
    union all select * from operations
    union all select * from step_shares
    union all select * from closures
    union all select * from latest_quarter
    union all select * from notices

),

final as (

    select
        figure,
        seed,
        cast(value as double) as value,
        unit,
        period_start,
    from unioned

)

select * from final
