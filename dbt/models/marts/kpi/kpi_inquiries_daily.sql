{#- Inquiry KPIs for statisticians: volumes, outcomes and response times per agency (and its kind) per day.
    No personal data. Any final status is counted in inquiries_sent; the known ones also by name. -#}

with

inquiries as (

    select * from {{ ref('stg_hub__inquiries') }}

),

final as (

    select
        agency_id,
        agency_kind,
        cast(timezone('UTC', requested_at) as date) as day,
        count(*) as inquiries_sent,
        count(*) filter (where status = 'answered') as answered,
        count(*) filter (where status = 'rejected') as rejected,
        count(*) filter (where status = 'failed') as failed,
        cast(coalesce(sum(assets_found), 0) as bigint) as assets_found,
        cast(round(avg(latency_ms)) as bigint) as response_ms_avg,
        quantile_disc(latency_ms, 0.5) as response_ms_p50,
        quantile_disc(latency_ms, 0.95) as response_ms_p95,
        count(*) filter (where status = 'deadline_missed') as deadline_missed,
        -- empty in inquiry logs written before attempts were recorded
        cast(sum(attempts) as bigint) as attempts,
        count(*) filter (where latency_ms > 1000 * {{ reply_deadline_s('agency_id') }}) as answered_late,
    from inquiries
    group by all

)

select * from final
