{#- Inquiry KPIs for statisticians: volumes, outcomes and response times per agency per day.
    No personal data. -#}

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
    from inquiries
    group by all

)

select * from final
