{#- Each notification's delivery over one channel, at its latest state: a final state (sent, delivered, failed)
    over queued, then the latest. -#}

with

source as (

    select * from {{ source('landing', 'notification_deliveries') }}

),

renamed as (

    select
        notification_id,
        channel,
        recipient_masked,
        language,
        state,
        attempt,
        reason,
        provider_message_id,
        state_at,
        idempotency_key,
        _batch_id as batch_id,
        _landed_at as landed_at,

    from source
    qualify row_number() over (
        partition by idempotency_key order by (state <> 'queued') desc, state_at desc, _landed_at desc
    ) = 1

)

select * from renamed
