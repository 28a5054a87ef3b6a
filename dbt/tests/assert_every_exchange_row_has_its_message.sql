-- Every landed inquiry and order row that names a message finds it in the message log: nothing the hub says it
-- sent is missing from the record.
select 'inquiries' as feed, i.inquiry_id as row_id, i.message_id
from {{ ref('stg_hub__inquiries') }} as i
where i.message_id is not null
  and not exists (select 1 from {{ ref('stg_hub__message_log') }} as m where m.message_id = i.message_id)

union all

select 'freeze_orders', o.order_id || '/' || o.cycle_id, o.message_id
from {{ ref('stg_hub__freeze_orders') }} as o
where o.message_id is not null
  and not exists (select 1 from {{ ref('stg_hub__message_log') }} as m where m.message_id = o.message_id)
