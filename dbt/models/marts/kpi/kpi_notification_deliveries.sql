{#- How debtor notifications reached debtors, per month and channel: deliveries the channel confirmed (delivered),
    handed over without a confirmation yet (sent), failed after their attempts, still queued. The e-notification
    share counts deliveries, not files written. No personal data. -#}

with

deliveries as (

    select * from {{ ref('stg_hub__notification_deliveries') }}

),

final as (

    select
        {{ month_of('state_at') }} as month,
        channel,
        count(*) as deliveries,
        count(*) filter (where state = 'delivered') as delivered,
        count(*) filter (where state = 'sent') as sent,
        count(*) filter (where state = 'failed') as failed,
        count(*) filter (where state = 'queued') as queued,
        round(count(*) filter (where state = 'delivered') / count(*), 4) as delivered_share,
    from deliveries
    group by all

)

select * from final
