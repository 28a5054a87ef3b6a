-- The message log as the warehouse shows it: every message's metadata, size and hash, never its body, and
-- which landed inquiries and orders travelled in it. Bodies are read through the API by the roles allowed to.
with

messages as (

    select * from {{ ref('stg_hub__message_log') }}

),

inquiries as (

    select message_id, count(*) as inquiry_rows
    from {{ ref('stg_hub__inquiries') }}
    where message_id is not null
    group by message_id

),

orders as (

    select message_id, count(*) as order_rows
    from {{ ref('stg_hub__freeze_orders') }}
    where message_id is not null
    group by message_id

)

select
    messages.seq,
    messages.message_id,
    messages.direction,
    messages.agency_id,
    messages.operation,
    messages.request_id,
    messages.message_at,
    messages.size_bytes,
    messages.sha256,
    messages.body_kept,
    messages.http_status,
    messages.error,
    messages.purpose,
    messages.case_ids,
    messages.persons,
    coalesce(inquiries.inquiry_rows, 0) as inquiry_rows,
    coalesce(orders.order_rows, 0) as order_rows

from messages
left join inquiries on inquiries.message_id = messages.message_id
left join orders on orders.message_id = messages.message_id
