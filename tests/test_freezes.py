"""Reconciliation sends only the difference between the plan and what agencies hold."""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from estelam import freezes
from estelam.domain import Acknowledgement, AckStatus, FreezeOrder, OrderKind
from estelam.exceptions import AgencyUnavailable
from estelam.freezes import HeldFreeze, plan_orders, push_orders

NOW = datetime(2026, 11, 1, tzinfo=UTC)
K1 = ("1403-000001", "bank_melli", "IR000000000000000000000001")
K2 = ("1403-000001", "csdi", "0499370899:FOOLAD")
K3 = ("1403-000002", "traffic_police", "12ب345-67")


def test_new_freeze_top_up_release_and_no_op() -> None:
    plan = {K1: 1_000, K2: 500, K3: 0}
    held = {K2: HeldFreeze(200, 1), K3: HeldFreeze(300, 1)}
    orders = {(o.case_id, o.agency_id, o.asset_ref): o for o in plan_orders(plan, held, cycle_id="c", issued_at=NOW)}
    assert orders[K1].kind is OrderKind.FREEZE and orders[K1].amount_rial == 1_000
    assert orders[K2].kind is OrderKind.FREEZE and orders[K2].amount_rial == 300  # top-up
    assert orders[K3].kind is OrderKind.RELEASE and orders[K3].amount_rial == 300


def test_a_case_no_longer_planned_is_released_in_full() -> None:
    orders = plan_orders({}, {K1: HeldFreeze(700, 2)}, cycle_id="c", issued_at=NOW)
    assert [(o.kind, o.amount_rial) for o in orders] == [(OrderKind.RELEASE, 700)]


def test_nothing_to_send_when_agencies_hold_the_plan() -> None:
    assert plan_orders({K1: 1_000}, {K1: HeldFreeze(1_000, 1)}, cycle_id="c", issued_at=NOW) == []


def test_idempotency_key_is_stable_until_an_acknowledgement_arrives() -> None:
    first = plan_orders({K1: 1_000}, {}, cycle_id="a", issued_at=NOW)
    again = plan_orders({K1: 1_000}, {}, cycle_id="b", issued_at=NOW)
    assert first[0].order_id == again[0].order_id
    after_partial = plan_orders({K1: 1_000}, {K1: HeldFreeze(400, 1)}, cycle_id="c", issued_at=NOW)
    later = plan_orders({K1: 1_000}, {K1: HeldFreeze(400, 2)}, cycle_id="d", issued_at=NOW)
    assert after_partial[0].order_id != first[0].order_id
    assert later[0].order_id != after_partial[0].order_id


class _DownAgency:
    def freeze(self, order: FreezeOrder) -> Acknowledgement:
        raise AgencyUnavailable("connection refused", agency_id=order.agency_id, operation="freeze",
                                request_id=order.order_id)

    release = freeze


class _Bank:
    def freeze(self, order: FreezeOrder) -> Acknowledgement:
        return Acknowledgement(order.order_id, order.agency_id, order.case_id, order.asset_ref, AckStatus.DONE,
                               order.amount_rial, order.amount_rial, NOW)

    release = freeze


def test_an_order_an_agency_could_not_take_is_recorded_failed_with_its_reason() -> None:
    orders = plan_orders({K1: 1_000, K2: 500}, {}, cycle_id="c", issued_at=NOW)
    log, acks = push_orders(orders, {"bank_melli": _Bank(), "csdi": _DownAgency()})  # type: ignore[dict-item]
    by_agency = {entry["agency_id"]: entry for entry in log}
    assert by_agency["bank_melli"]["delivery"] == "delivered"
    assert by_agency["csdi"]["delivery"] == "failed"
    assert "connection refused" in str(by_agency["csdi"]["reason"])
    assert [a.agency_id for a in acks] == ["bank_melli"]


def test_held_state_is_the_latest_acknowledgement_per_case_and_asset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESTELAM_DATA_DIR", str(tmp_path))
    from estelam.landing import validate_and_land

    def ack(order_id: str, total: int, minute: int) -> dict[str, object]:
        return {"order_id": order_id, "agency_id": K1[1], "case_id": K1[0], "asset_ref": K1[2], "status": "done",
                "acknowledged_amount_rial": total, "frozen_total_rial": total,
                "acknowledged_at": NOW.replace(minute=minute), "reason": None}

    validate_and_land("freeze_acknowledgements", [ack("o1", 900, 1)], batch_id="c1", partition=date(2026, 11, 1))
    validate_and_land("freeze_acknowledgements", [ack("o2", 400, 5)], batch_id="c2", partition=date(2026, 11, 1))
    assert freezes.load_held() == {K1: HeldFreeze(400, 2)}
