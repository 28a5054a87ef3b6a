{#- Response times per agency over everything landed: the median and the tail, against the agency's reply
    deadline. No personal data. -#}

with

inquiries as (

    select * from {{ ref('stg_hub__inquiries') }}

),

final as (

    select
        agency_id,
        any_value(agency_kind) as agency_kind,
        count(*) as inquiries,
        count(latency_ms) as responses,
        cast(round(avg(latency_ms)) as bigint) as response_ms_avg,
        quantile_disc(latency_ms, 0.5) as response_ms_p50,
        quantile_disc(latency_ms, 0.95) as response_ms_p95,
        quantile_disc(latency_ms, 0.99) as response_ms_p99,
        max(latency_ms) as response_ms_max,
        cast(any_value({{ reply_deadline_s('agency_id') }}) as double) as reply_deadline_s,
        round(count(*) filter (where latency_ms <= 1000 * {{ reply_deadline_s('agency_id') }})
            / greatest(count(latency_ms), 1), 4) as within_deadline_share,
        min(requested_at) as first_requested_at,
        max(requested_at) as last_requested_at,
    from inquiries
    group by agency_id

)

select * from final
