{#- How notices are served, per month and enforcement branch: the share served electronically
    (94% nationally in the judiciary's 2023 briefing). No personal data. -#}

with

events as (

    select * from {{ ref('stg_court__case_events') }}

),

final as (

    select
        {{ month_of('occurred_at') }} as month,
        court_code,
        count(*) as notices,
        count(*) filter (where channel = 'electronic') as electronic,
        count(*) filter (where channel = 'paper') as paper,
        round(count(*) filter (where channel = 'electronic') / count(*), 4) as electronic_share,
    from events
    where event_type = 'notified'
    group by all

)

select * from final
