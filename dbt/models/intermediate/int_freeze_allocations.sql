{#-
    The freeze plan, vectorised: estelam.freeze.planner.plan_table (plan_freezes after asset_news) as window
    functions over every debtor at once. The planner stays the one definition; tests/warehouse/
    test_freeze_allocations_sql.py renders this very file and proves it gives the planner's rows on a generated
    corpus (protected funds, subsistence, partial capacity, several cases per debtor, ties, transfers).

    1. Acknowledgements replayed per asset, oldest first (ties by order_id, ...): the last unknown_asset, or
       partial/refused freeze, sets the asset's limit (0, or what the agency held for all its cases then);
       transfers move money out of the asset and count as collected for their case.
    2. Cases per debtor, oldest first, on one axis of cumulative need (outstanding less collected).
    3. Assets on one axis of cumulative capacity: bank balances (a natural person keeps the first
       subsistence_minimum_rial of them free: the last in freezing order give it up first), then securities,
       then, only while those fall short, vehicles and properties: the largest ones until one alone covers what
       is left, then the smallest that covers it (planner.smallest_covering_set, in closed form: the position
       where the descending running total first reaches the remainder).
    4. A case gets from an asset the overlap of their two intervals.

    The plan is stable (planner._kept_holds): before the axes, what agencies hold frozen (each case's asset's
    latest frozen total) is kept while it serves the debt, in four passes: whole assets held stay held while
    those before them leave uncovered what liquid assets cannot cover; each case keeps its holds up to what it
    owes; each asset keeps those, older cases first, up to what it can give; a natural person's bank holds stay
    within what may be frozen of their balances; the last three again, per debtor, until the last two cut
    nothing (a hold they cut then counts against its case only as what they left of it). The axes then plan only
    the rest: each case's remaining debt on each asset's remaining capacity, whole assets already held right after
    the liquid ones.
-#}
{%- set minimum = var('subsistence_minimum_rial') -%}

with

cases as (

    select * from {{ ref('int_cases') }}

),

assets as (

    -- only what an order can freeze: a mapped kind's asset with no freeze operation is reported, never planned
    select * from {{ ref('int_assets_latest') }}
    where can_freeze

),

acknowledgements as (

    select * from {{ source('landing', 'freeze_acknowledgements') }}

),

ack_log as (

    -- the replay order per asset: oldest first; equal times in a fixed order
    select
        agency_id,
        asset_ref,
        case_id,
        order_kind,
        status,
        acknowledged_amount_rial,
        frozen_total_rial,
        acknowledged_at,
        row_number() over (
            partition by agency_id, asset_ref
            order by acknowledged_at, order_id, order_kind, status, case_id, acknowledged_amount_rial,
                frozen_total_rial
        ) as seq,
    from acknowledgements

),

transfers as (

    select agency_id, asset_ref, case_id, acknowledged_at as moved_at, acknowledged_amount_rial as moved_rial,
    from ack_log
    where order_kind = 'transfer' and status <> 'unknown_asset' and acknowledged_amount_rial > 0

),

collected as (

    select case_id, sum(moved_rial) as collected_rial,
    from transfers
    group by case_id

),

limit_events as (

    -- the asset's last shortfall: unknown to the agency, or a freeze it could not (fully) apply
    select agency_id, asset_ref, seq, acknowledged_at as limit_at, status = 'unknown_asset' as is_unknown,
    from ack_log
    where status = 'unknown_asset' or (order_kind = 'freeze' and status in ('partial', 'refused'))
    qualify row_number() over (partition by agency_id, asset_ref order by seq desc) = 1

),

held_at_limit as (

    -- what the agency held for each case on the asset when it fell short: the case's latest frozen total then
    select
        limit_events.agency_id,
        limit_events.asset_ref,
        ack_log.case_id,
        arg_max(ack_log.frozen_total_rial, ack_log.seq) as held_rial,
    from limit_events
    inner join ack_log
        on ack_log.agency_id = limit_events.agency_id
        and ack_log.asset_ref = limit_events.asset_ref
        and ack_log.seq <= limit_events.seq
    group by all

),

limits as (

    select
        limit_events.agency_id,
        limit_events.asset_ref,
        any_value(limit_events.limit_at) as limit_at,
        case when bool_or(limit_events.is_unknown) then 0 else coalesce(sum(held_at_limit.held_rial), 0) end
            as limit_rial,
    from limit_events
    left join held_at_limit using (agency_id, asset_ref)
    group by limit_events.agency_id, limit_events.asset_ref

),

open_cases as (

    select
        cases.case_id,
        cases.person_id,
        cases.person_kind,
        cases.filed_at,
        cases.outstanding_rial - coalesce(collected.collected_rial, 0) as owed_rial,
    from cases
    left join collected using (case_id)
    where cases.status = 'open' and cases.outstanding_rial - coalesce(collected.collected_rial, 0) > 0

),

case_order as (

    -- a debtor's open cases oldest first; the oldest one's kind is the debtor's
    select
        open_cases.*,
        row_number() over (partition by person_id order by filed_at, case_id) as case_pos,
        first_value(person_kind) over (partition by person_id order by filed_at, case_id) as debtor_kind,
    from open_cases

),

debtors_all as (

    select person_id, sum(owed_rial) as need_rial, any_value(debtor_kind) as debtor_kind,
    from case_order
    group by person_id

),

moves as (

    -- money transferred out of the asset since it was reported, and since its limit was set
    select
        reported.agency_id,
        reported.asset_ref,
        reported.learned_at,
        coalesce(sum(transfers.moved_rial) filter (where transfers.moved_at >= reported.learned_at), 0)
            as moved_since_report,
        coalesce(sum(transfers.moved_rial) filter (where transfers.moved_at > limits.limit_at), 0)
            as moved_since_limit,
    from (
        select distinct assets.agency_id, assets.asset_ref, assets.learned_at,
        from assets
        inner join (select distinct agency_id, asset_ref from transfers) as moved using (agency_id, asset_ref)
    ) as reported
    inner join transfers using (agency_id, asset_ref)
    left join limits using (agency_id, asset_ref)
    group by reported.agency_id, reported.asset_ref, reported.learned_at

),

usable_all as (

    -- what each asset of a debtor with an open case can give now
    select
        assets.person_id,
        assets.agency_id,
        assets.asset_kind,
        assets.asset_ref,
        assets.value_rial,
        assets.liquidity_rank,
        greatest(
            case
                when limits.limit_at is not null and limits.limit_at >= assets.learned_at
                    then least(
                        assets.value_rial - coalesce(moves.moved_since_report, 0),
                        limits.limit_rial - coalesce(moves.moved_since_limit, 0)
                    )
                else assets.value_rial - coalesce(moves.moved_since_report, 0)
            end,
            0
        ) as capacity_rial,
    from assets
    inner join debtors_all using (person_id)
    left join limits using (agency_id, asset_ref)
    left join moves using (agency_id, asset_ref, learned_at)
    where assets.value_rial is not null and not coalesce(assets.is_protected, false)

),

full_totals as (

    -- per debtor: what bank balances may give (less the subsistence minimum for a natural person), what other
    -- liquid assets give, and so what is left for whole assets to cover
    select
        person_id,
        debtor_kind,
        freezable_bank_rial,
        need_rial - freezable_bank_rial - other_liquid_rial as whole_needed_rial,
    from (
        select
            debtors_all.person_id,
            debtors_all.debtor_kind,
            debtors_all.need_rial,
            case
                when debtors_all.debtor_kind = 'natural'
                    then greatest(coalesce(sum(usable_all.capacity_rial) filter (
                        where usable_all.asset_kind = 'bank_account'), 0) - {{ minimum }}, 0)
                else coalesce(sum(usable_all.capacity_rial) filter (where usable_all.asset_kind = 'bank_account'), 0)
            end as freezable_bank_rial,
            coalesce(sum(usable_all.capacity_rial) filter (
                where usable_all.asset_kind not in ('bank_account', 'vehicle', 'property')), 0) as other_liquid_rial,
        from debtors_all
        left join usable_all using (person_id)
        group by debtors_all.person_id, debtors_all.debtor_kind, debtors_all.need_rial
    )

),

held as (

    -- what each agency last acknowledged holding per case and asset
    select agency_id, asset_ref, case_id, arg_max(frozen_total_rial, seq) as held_rial,
    from ack_log
    group by agency_id, asset_ref, case_id

),

held_rows as (

    select
        case_order.case_id,
        case_order.person_id,
        case_order.owed_rial,
        case_order.case_pos,
        held.agency_id,
        held.asset_ref,
        held.held_rial,
        usable_all.asset_kind,
        usable_all.liquidity_rank,
        usable_all.value_rial,
        usable_all.capacity_rial,
    from held
    inner join case_order using (case_id)
    inner join usable_all
        on usable_all.person_id = case_order.person_id
        and usable_all.agency_id = held.agency_id
        and usable_all.asset_ref = held.asset_ref
    where held.held_rial > 0 and usable_all.capacity_rial > 0

),

whole_released as (

    -- pass 0: a whole asset held stays held only while those before it leave the whole assets' share uncovered
    select whole_held.person_id, whole_held.agency_id, whole_held.asset_ref,
    from (
        select
            person_id, agency_id, asset_ref, capacity_rial,
            coalesce(sum(capacity_rial) over (
                partition by person_id order by liquidity_rank, agency_id, asset_ref
                rows between unbounded preceding and 1 preceding
            ), 0) as covered_before,
        from (
            select distinct person_id, agency_id, asset_ref, liquidity_rank, capacity_rial,
            from held_rows
            where asset_kind in ('vehicle', 'property')
        )
    ) as whole_held
    inner join full_totals using (person_id)
    where whole_held.covered_before >= full_totals.whole_needed_rial

),

kept_rounds as (

    -- passes 1-3, per debtor until passes 2 and 3 cut nothing: a hold they cut then counts in pass 1 only as what
    -- they left of it (cap_rial), so its case's other holds keep what the cut frees
    with recursive rounds as (
        select
            held_rows.case_id, held_rows.person_id, held_rows.agency_id, held_rows.asset_kind, held_rows.asset_ref,
            held_rows.liquidity_rank, held_rows.value_rial, held_rows.capacity_rial, held_rows.owed_rial,
            held_rows.case_pos,
            full_totals.debtor_kind = 'natural' and held_rows.asset_kind = 'bank_account' as subsistence_bound,
            full_totals.freezable_bank_rial,
            held_rows.held_rial::bigint as cap_rial,
            0::bigint as kept_rial,
            false as settled,
        from held_rows
        inner join full_totals using (person_id)
        anti join whole_released using (person_id, agency_id, asset_ref)
        union all
        select
            * exclude (cap_rial, wanted_rial, new_kept_rial),
            (case when new_kept_rial < wanted_rial then new_kept_rial else cap_rial end)::bigint as cap_rial,
            new_kept_rial::bigint as kept_rial,
            not bool_or(new_kept_rial < wanted_rial) over (partition by person_id) as settled,
        from (
            -- pass 3: a natural person's bank holds, in the accounts' fixed order, within what may be frozen
            select
                * exclude (upto, by_asset_rial),
                case
                    when subsistence_bound
                        then greatest(least(upto, freezable_bank_rial) - (upto - by_asset_rial), 0)
                    else by_asset_rial
                end as new_kept_rial,
            from (
                select
                    *,
                    sum(by_asset_rial) over (
                        partition by person_id, subsistence_bound order by agency_id, asset_ref, case_pos
                        rows between unbounded preceding and current row
                    ) as upto,
                from (
                    -- pass 2: each asset keeps those, older cases first, up to what it can give
                    select
                        * exclude (upto),
                        greatest(least(upto, capacity_rial) - (upto - wanted_rial), 0) as by_asset_rial,
                    from (
                        select
                            *,
                            sum(wanted_rial) over (
                                partition by person_id, agency_id, asset_ref order by case_pos
                                rows between unbounded preceding and current row
                            ) as upto,
                        from (
                            -- pass 1: each case keeps its holds, in the assets' fixed order, up to what it owes
                            select
                                * exclude (upto),
                                greatest(least(upto, owed_rial) - (upto - cap_rial), 0) as wanted_rial,
                            from (
                                select
                                    * exclude (kept_rial, settled),
                                    sum(cap_rial) over (
                                        partition by case_id order by liquidity_rank, agency_id, asset_ref
                                        rows between unbounded preceding and current row
                                    ) as upto,
                                from rounds
                                where not settled
                            )
                        )
                    )
                )
            )
        )
    )
    select * from rounds

),

kept as (

    select case_id, person_id, agency_id, asset_kind, asset_ref, liquidity_rank, value_rial, kept_rial,
    from kept_rounds
    where settled

),

kept_of_case as (

    select case_id, sum(kept_rial) as kept_rial,
    from kept
    group by case_id

),

kept_on_asset as (

    select person_id, agency_id, asset_ref, sum(kept_rial) as kept_rial,
    from kept
    group by person_id, agency_id, asset_ref

),

case_axis as (

    -- what the kept holds leave of each case, oldest first along the debtor's axis of cumulative need:
    -- [need_from, need_to)
    select
        case_id,
        person_id,
        owed_rial,
        sum(owed_rial) over (
            partition by person_id order by case_pos rows between unbounded preceding and current row
        ) as need_to,
        debtor_kind,
    from (
        select case_order.* replace (case_order.owed_rial - coalesce(kept_of_case.kept_rial, 0) as owed_rial),
        from case_order
        left join kept_of_case using (case_id)
    )
    where owed_rial > 0

),

debtors as (

    select person_id, max(need_to) as need_rial, any_value(debtor_kind) as debtor_kind,
    from case_axis
    group by person_id

),

usable as (

    -- what the kept holds leave of each asset; whole assets already held are restricted: they come first
    select
        usable_all.* replace (usable_all.capacity_rial - coalesce(kept_on_asset.kept_rial, 0) as capacity_rial),
        usable_all.asset_kind in ('vehicle', 'property') and coalesce(kept_on_asset.kept_rial, 0) > 0
            as is_restricted,
    from usable_all
    inner join debtors using (person_id)
    left join kept_on_asset using (person_id, agency_id, asset_ref)

),

liquid_totals as (

    -- per debtor: what bank balances give (a natural person keeps the subsistence minimum of them: the sum
    -- over the accounts of planner._with_subsistence), and what securities give
    select
        debtors.person_id,
        debtors.need_rial,
        case
            when debtors.debtor_kind = 'natural'
                then greatest(coalesce(sum(usable.capacity_rial) filter (where usable.asset_kind = 'bank_account'), 0)
                              - {{ minimum }}, 0)
            else coalesce(sum(usable.capacity_rial) filter (where usable.asset_kind = 'bank_account'), 0)
        end as freezable_bank_rial,
        coalesce(sum(usable.capacity_rial) filter (
            where usable.asset_kind not in ('bank_account', 'vehicle', 'property')), 0) as other_liquid_rial,
        coalesce(sum(greatest(usable.capacity_rial, 0)) filter (where usable.is_restricted), 0) as restricted_rial,
    from debtors
    left join usable using (person_id)
    group by debtors.person_id, debtors.need_rial, debtors.debtor_kind

),

shortfall as (

    -- what liquid assets leave uncovered, per debtor (only those with something left)
    select person_id, need_rial - freezable_bank_rial - other_liquid_rial - restricted_rial as remainder_rial,
    from liquid_totals
    where need_rial - freezable_bank_rial - other_liquid_rial - restricted_rial > 0

),

indivisible as (

    -- vehicles and properties of short debtors, largest first, with the running total
    select
        usable.*,
        shortfall.remainder_rial,
        row_number() over by_size as size_pos,
        sum(capacity_rial) over (by_size rows between unbounded preceding and current row) as running_rial,
    from usable
    inner join shortfall using (person_id)
    where usable.asset_kind in ('vehicle', 'property') and usable.capacity_rial > 0 and not usable.is_restricted
    window by_size as (partition by person_id order by capacity_rial desc, liquidity_rank, agency_id, asset_ref)

),

cover_point as (

    -- the first position whose running total reaches the remainder, and what is left to cover there
    select person_id, min(size_pos) as cover_pos,
        arg_min(remainder_rial - (running_rial - capacity_rial), size_pos) as left_rial,
    from indivisible
    where running_rial >= remainder_rial
    group by person_id

),

cover as (

    -- the smallest asset at or after that position that covers what is left alone
    select indivisible.person_id, indivisible.agency_id, indivisible.asset_ref,
    from indivisible
    inner join cover_point using (person_id)
    where indivisible.size_pos >= cover_point.cover_pos and indivisible.capacity_rial >= cover_point.left_rial
    qualify row_number() over (
        partition by indivisible.person_id
        order by indivisible.capacity_rial, indivisible.liquidity_rank, indivisible.agency_id, indivisible.asset_ref
    ) = 1

),

chosen as (

    -- every larger asset before the cover point (all of them when even all fall short), then the cover
    select indivisible.*, 1 as stage, indivisible.size_pos as stage_pos,
    from indivisible
    left join cover_point using (person_id)
    where cover_point.cover_pos is null or indivisible.size_pos < cover_point.cover_pos

    union all

    select indivisible.*, 2 as stage, 0 as stage_pos,
    from indivisible
    inner join cover using (person_id, agency_id, asset_ref)

),

axis_assets as (

    -- liquid first in freezing order (rank, largest first, agency, reference), then the whole assets already
    -- restricted, then the chosen indivisible ones
    select person_id, agency_id, asset_kind, asset_ref, value_rial, liquidity_rank, capacity_rial,
        0 as stage, liquidity_rank as sort_a, -capacity_rial as sort_b, agency_id as sort_c, asset_ref as sort_d,
    from usable
    where asset_kind not in ('vehicle', 'property') and capacity_rial > 0

    union all

    -- whole assets already restricted, what is left of them, in their fixed order
    select person_id, agency_id, asset_kind, asset_ref, value_rial, liquidity_rank, capacity_rial,
        1 as stage, liquidity_rank as sort_a, 0 as sort_b, agency_id as sort_c, asset_ref as sort_d,
    from usable
    where is_restricted and capacity_rial > 0

    union all

    select person_id, agency_id, asset_kind, asset_ref, value_rial, liquidity_rank, capacity_rial,
        stage + 1 as stage, stage_pos as sort_a, 0 as sort_b, '' as sort_c, '' as sort_d,
    from chosen

),

running as (

    -- running totals along the axis: bank balances as reported, and everything else
    select
        axis_assets.*,
        sum(case when asset_kind = 'bank_account' then capacity_rial else 0 end) over along as bank_to,
        sum(case when asset_kind = 'bank_account' then 0 else capacity_rial end) over along as other_to,
    from axis_assets
    window along as (
        partition by person_id order by stage, sort_a, sort_b, sort_c, sort_d
        rows between unbounded preceding and current row
    )

),

asset_axis as (

    -- each asset's interval [cap_from, cap_to) on the axis; bank balances stop at what may be frozen of them,
    -- so the last accounts in freezing order keep the subsistence minimum (an empty interval: not planned)
    select
        running.person_id, running.agency_id, running.asset_kind, running.asset_ref, running.value_rial,
        running.liquidity_rank,
        least(running.bank_to, liquid_totals.freezable_bank_rial) + running.other_to as cap_to,
        least(running.bank_to - case when running.asset_kind = 'bank_account' then running.capacity_rial else 0 end,
              liquid_totals.freezable_bank_rial)
            + running.other_to - case when running.asset_kind = 'bank_account' then 0 else running.capacity_rial end
            as cap_from,
    from running
    inner join liquid_totals using (person_id)

),

fill as (

    select
        case_axis.case_id,
        case_axis.person_id,
        asset_axis.agency_id,
        asset_axis.asset_kind,
        asset_axis.asset_ref,
        cast(
            least(case_axis.need_to, asset_axis.cap_to)
            - greatest(case_axis.need_to - case_axis.owed_rial, asset_axis.cap_from)
            as bigint
        ) as planned_freeze_rial,
        cast(asset_axis.liquidity_rank as integer) as liquidity_rank,
        cast(asset_axis.value_rial as bigint) as asset_value_rial,
        asset_axis.asset_kind in ('vehicle', 'property') as blocks_whole_asset,
    from case_axis
    inner join asset_axis
        on asset_axis.person_id = case_axis.person_id
        and case_axis.need_to - case_axis.owed_rial < asset_axis.cap_to
        and asset_axis.cap_from < case_axis.need_to
    where asset_axis.cap_from < asset_axis.cap_to

),

final as (

    -- what is kept plus what is planned afresh, per case and asset
    select
        case_id, person_id, agency_id, asset_kind, asset_ref,
        cast(sum(planned_freeze_rial) as bigint) as planned_freeze_rial,
        liquidity_rank, asset_value_rial, blocks_whole_asset,
    from (
        select * from fill

        union all

        select
            case_id, person_id, agency_id, asset_kind, asset_ref, kept_rial as planned_freeze_rial,
            cast(liquidity_rank as integer) as liquidity_rank, cast(value_rial as bigint) as asset_value_rial,
            asset_kind in ('vehicle', 'property') as blocks_whole_asset,
        from kept
        where kept_rial > 0
    )
    group by all

)

select * from final
