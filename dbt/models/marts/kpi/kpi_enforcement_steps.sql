{#- The six automated steps of an enforcement request (referral, notification, invoice, execution,
    collection and payout, closure) per month of filing: how many cases reached each step, how long it took
    since the previous step, and the share done without human intervention; plus a whole_request row for
    closed cases (filing to closure, automated only if every step was). No personal data. -#}

with

-- read where used, not materialised: each use scans only its columns of the staged table
events as not materialized (

    select * from {{ ref('stg_court__case_events') }}

),

orders as (

    select * from {{ ref('stg_hub__freeze_orders') }}

),

steps as (

    select * from {{ ref('enforcement_steps') }}

),

filings as (

    select
        case_id,
        min(occurred_at) as filed_at,
        {{ month_of('min(occurred_at)') }} as filed_month,
    from events
    where event_type = 'filed'
    group by case_id

),

step_events as (

    select events.case_id, steps.step_no, steps.step, events.occurred_at, events.is_automated,
    from events
    inner join steps using (event_type)

    union all
    -- the hub's orders are steps too, with no clerk involved: a freeze is execution, a transfer collection
    select orders.case_id, steps.step_no, steps.step, coalesce(orders.first_issued_at, orders.issued_at), true,
    from orders
    inner join steps on steps.event_type = orders.order_kind || '_order_sent'
    where orders.delivery = 'delivered'

),

first_steps as (

    select
        case_id,
        step_no,
        any_value(step) as step,
        min(occurred_at) as reached_at,
        arg_min(is_automated, occurred_at) as is_automated,
    from step_events
    group by case_id, step_no

),

timed as (

    select
        first_steps.*,
        filings.filed_at,
        filings.filed_month,
        -- a step done before its predecessor (out of order) took no time of its own
        greatest({{ seconds_between('first_steps.reached_at', 'coalesce(lag(first_steps.reached_at) over (
            partition by first_steps.case_id order by first_steps.step_no
        ), filings.filed_at)') }}, 0) / 3600.0 as hours_since_previous,
    from first_steps
    inner join filings using (case_id)

),

whole_requests as (

    select
        case_id,
        7 as step_no,
        'whole_request' as step,
        any_value(filed_month) as filed_month,
        bool_and(is_automated) as is_automated,
        greatest({{ seconds_between('max(reached_at) filter (where step_no = 6)', 'any_value(filed_at)') }}, 0) / 3600.0
            as hours_since_previous,
    from timed
    group by case_id
    having count(*) filter (where step_no = 6) > 0

),

all_steps as (

    select case_id, step_no, step, filed_month, is_automated, hours_since_previous, from timed
    union all
    select case_id, step_no, step, filed_month, is_automated, hours_since_previous, from whole_requests

),

final as (

    select
        filed_month,
        step_no,
        step,
        count(*) as cases_reached,
        count(*) filter (where is_automated) as automated,
        round(count(*) filter (where is_automated) / count(*), 4) as automated_share,
        round(quantile_cont(hours_since_previous, 0.5), 2) as hours_p50,
        round(quantile_cont(hours_since_previous, 0.95), 2) as hours_p95,
        round(avg(hours_since_previous), 2) as hours_avg,
    from all_steps
    group by filed_month, step_no, step

)

select * from final
