"""Fault injection in the simulators: each fault looks to the hub as it should, deterministically from a seed."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors import wire_client_for
from estelam.contracts import registry as contracts
from estelam.contracts.registry import load_agency_registry
from estelam.core.domain import AckStatus, AgencyInstance, FreezeOrder, OrderKind, Protocol
from estelam.core.exceptions import AgencyAnswerMalformed, AgencyFault, AgencyUnavailable
from estelam.core.kinds import mapping_at
from estelam.ingest.validation import validate
from estelam.inquiry.rounds import asset_record
from simulators.agency_state import AgencyState
from simulators.faults import (
    Fault,
    FaultProfile,
    FaultyApplication,
    everywhere,
    profile_for,
    with_faults,
)
from simulators.mapped_app import mapped_application
from simulators.server import Request, Response, RunningServer
from simulators.world import World, generate
from tests.mapping_support import drawn_assets, unprotected_assets

REGISTRY = load_agency_registry()
WORLD: World = generate(REGISTRY.instances, n_persons=80, dirty_share=0.0)
#: Short client timeouts, and holds that outlast them, so timeouts take a fraction of a second.
CLIENT_TIMEOUT_S = 0.3
HOLD_S = 1.0
ANSWER_FEEDS = {i.kind: REGISTRY.kinds[i.kind].answer_feed for i in REGISTRY.instances}


def _only(fault: Fault, seed: int = 1) -> FaultProfile:
    return FaultProfile(rates={fault: 1.0}, hold_s=HOLD_S, latency_s=(0.2, 0.2), seed=seed)


def _app(instance: AgencyInstance) -> tuple[AgencyState, object]:
    state = AgencyState(instance, [])  # every agency kind's simulator is its mapping's generated one
    return state, mapped_application(state, mapping_at(Path(str(instance.mapping_file))), WORLD, None)


def _assets(agency_id: str) -> list[tuple[str, str]]:
    """(owner, asset reference) of every asset the agency's generated simulator draws."""
    return [(owner, ref) for owner, ref, _ in drawn_assets(WORLD, REGISTRY.instance(agency_id))]


@pytest.fixture
def agency(request: pytest.FixtureRequest) -> Iterator[tuple[AgencyInstance, AgencyState, FaultyApplication, object]]:
    """(instance bound to a running faulty simulator, its state, the faulty app, a wire client)."""
    agency_id, fault = request.param
    instance = REGISTRY.instance(agency_id)
    state, app = _app(instance)
    faulty = with_faults(app, _only(fault), protocol=instance.protocol, agency_id=agency_id)  # type: ignore[arg-type]
    assert isinstance(faulty, FaultyApplication)
    server = RunningServer(faulty)
    bound = replace(instance, endpoint=server.url, timeout_s=CLIENT_TIMEOUT_S)
    client = wire_client_for(bound)
    try:
        yield bound, state, faulty, client
    finally:
        client.close()
        faulty.stop()
        server.stop()


def _richest_owner(agency_id: str) -> str:
    owners = Counter(owner for owner, _ in _assets(agency_id))
    return owners.most_common(1)[0][0]


# --- profiles -------------------------------------------------------------------------------------


def test_profiles_refuse_rates_that_cannot_be_shares() -> None:
    with pytest.raises(ValueError, match="more than 1"):
        FaultProfile(rates={Fault.TIMEOUT: 0.6, Fault.SERVER_ERROR: 0.6})
    with pytest.raises(ValueError, match="negative"):
        FaultProfile(rates={Fault.TIMEOUT: -0.1})
    # answer-only and order-only faults never hit the same request, so each side may reach 1
    FaultProfile(rates={Fault.CONTRACT_BREACH: 1.0, Fault.LATE_ACK: 1.0})


def test_everywhere_gives_each_instance_its_share_and_its_own_seed() -> None:
    profiles = everywhere(REGISTRY.instances, 0.2, seed=5)
    assert set(profiles) == {i.agency_id for i in REGISTRY.instances}
    for instance in REGISTRY.instances:
        profile = profiles[instance.agency_id]
        assert profile.total_rate == pytest.approx(0.2)
        order_share = sum(v for k, v in profile.rates.items()
                          if k not in {Fault.CONTRACT_BREACH, Fault.DUPLICATE})
        assert order_share == pytest.approx(0.2)  # orders see the same share of faults
        assert (Fault.SOAP_FAULT in profile.rates) is (instance.protocol is Protocol.SOAP)
    assert len({p.seed for p in profiles.values()}) == len(profiles)


def _echo(request: Request) -> Response:
    return Response(200, json.dumps({"personId": request.path, "holdings": []}).encode(),
                    {"Content-Type": "application/json"})


def _outcomes(app: FaultyApplication, paths: list[str]) -> list[int]:
    return [app(Request("GET", p, {}, {}, b"")).status for p in paths]


def test_faults_hit_about_their_share_and_the_same_seed_repeats_the_same_run() -> None:
    profile = FaultProfile(rates={Fault.SERVER_ERROR: 0.2}, seed=42)
    paths = [f"/v1/holders/{n}/holdings" for n in range(3000)]
    first = _outcomes(FaultyApplication(_echo, profile, protocol=Protocol.REST), paths)
    again = _outcomes(FaultyApplication(_echo, profile, protocol=Protocol.REST), paths)
    other = _outcomes(FaultyApplication(_echo, replace(profile, seed=43), protocol=Protocol.REST), paths)
    assert first == again
    assert first != other
    assert 0.17 < first.count(503) / len(paths) < 0.23


def test_a_retry_of_the_same_request_gets_a_fresh_draw() -> None:
    app = FaultyApplication(_echo, FaultProfile(rates={Fault.SERVER_ERROR: 0.5}, seed=1), protocol=Protocol.REST)
    statuses = _outcomes(app, ["/v1/holders/1/holdings"] * 40)
    assert {200, 503} <= set(statuses)  # the same request fails, then succeeds: transient, as it should be


def test_no_profile_means_the_application_itself() -> None:
    assert with_faults(_echo, None, protocol=Protocol.REST) is _echo


def test_the_contract_document_is_never_faulted() -> None:
    app = FaultyApplication(_echo, FaultProfile(rates={Fault.SERVER_ERROR: 1.0}), protocol=Protocol.REST)
    assert app(Request("GET", "/openapi.yaml", {}, {}, b"")).status == 200


# --- transport faults, as the wire clients see them -----------------------------------------------


@pytest.mark.parametrize("agency", [("bank_melli", Fault.SERVER_ERROR), ("csdi", Fault.SERVER_ERROR)],
                         indirect=True)
def test_server_errors_are_transient_faults(agency) -> None:  # type: ignore[no-untyped-def]
    instance, _, faulty, client = agency
    with pytest.raises(AgencyFault) as raised:
        client.inquire(_richest_owner(instance.agency_id), "req-1")
    assert raised.value.status_code == 503 and raised.value.transient
    assert [f.fault for f in faulty.journal] == [Fault.SERVER_ERROR]


@pytest.mark.parametrize("agency", [("land_registry", Fault.SOAP_FAULT)], indirect=True)
def test_soap_server_faults_are_transient_faults(agency) -> None:  # type: ignore[no-untyped-def]
    instance, _, _, client = agency
    with pytest.raises(AgencyFault, match="simulated outage") as raised:
        client.inquire(_richest_owner(instance.agency_id), "req-1")
    assert raised.value.transient


@pytest.mark.parametrize("agency", [("bank_mellat", Fault.MALFORMED), ("traffic_police", Fault.MALFORMED)],
                         indirect=True)
def test_malformed_bodies_are_malformed_answers_not_retried(agency) -> None:  # type: ignore[no-untyped-def]
    instance, _, _, client = agency
    with pytest.raises(AgencyAnswerMalformed) as raised:
        client.inquire(_richest_owner(instance.agency_id), "req-1")
    assert not raised.value.transient


@pytest.mark.parametrize("agency", [("bank_saderat", Fault.TIMEOUT), ("csdi", Fault.TIMEOUT)], indirect=True)
def test_timeouts_hold_past_the_client_timeout(agency) -> None:  # type: ignore[no-untyped-def]
    instance, _, _, client = agency
    started = time.perf_counter()
    with pytest.raises(AgencyUnavailable):
        client.inquire(_richest_owner(instance.agency_id), "req-1")
    assert CLIENT_TIMEOUT_S * 0.9 <= time.perf_counter() - started < HOLD_S


@pytest.mark.parametrize("agency", [("bank_melli", Fault.LATENCY)], indirect=True)
def test_latency_delays_a_good_answer(agency) -> None:  # type: ignore[no-untyped-def]
    instance, _, faulty, client = agency
    started = time.perf_counter()
    answer = client.inquire(_richest_owner(instance.agency_id), "req-1")
    assert time.perf_counter() - started >= 0.2 and answer.assets
    assert faulty.journal[0].fault is Fault.LATENCY


def test_stopping_answers_held_requests_at_once() -> None:
    app = FaultyApplication(_echo, FaultProfile(rates={Fault.TIMEOUT: 1.0}, hold_s=30.0), protocol=Protocol.REST)
    app.stop()
    started = time.perf_counter()
    assert app(Request("GET", "/v1/holders/1/holdings", {}, {}, b"")).status == 504
    assert time.perf_counter() - started < 1.0


# --- content faults: readable on the wire, caught by validation -----------------------------------


def _validated(instance: AgencyInstance, answer_assets: tuple[object, ...]):  # type: ignore[no-untyped-def]
    rows = [asset_record("inq-1", instance.agency_id, a, datetime.now(UTC)) for a in answer_assets]
    return validate(contracts.feed(ANSWER_FEEDS[instance.kind]), rows)


@pytest.mark.parametrize("agency", [(a, Fault.CONTRACT_BREACH) for a in
                                    ("bank_melli", "land_registry", "csdi", "traffic_police")], indirect=True)
def test_contract_breaches_pass_the_wire_and_fail_validation(agency) -> None:  # type: ignore[no-untyped-def]
    instance, state, faulty, client = agency
    person_id = _richest_owner(instance.agency_id)
    answer = client.inquire(person_id, "req-1")
    [breach] = faulty.journal
    assert breach.fault is Fault.CONTRACT_BREACH and breach.person_id == person_id
    assert breach.asset_ref in {a.asset_ref for a in state.assets_of(person_id)}
    outcome = _validated(instance, answer.assets)
    assert outcome.rejected_rows == 1, breach.detail
    assert outcome.valid_rows == len(state.assets_of(person_id)) - 1  # the others are untouched
    assert outcome.reasons_summary(), "a quarantined row carries its reasons"


@pytest.mark.parametrize("agency", [("bank_mellat", Fault.DUPLICATE), ("traffic_police", Fault.DUPLICATE)],
                         indirect=True)
def test_duplicated_assets_keep_the_first_and_quarantine_the_repeat(agency) -> None:  # type: ignore[no-untyped-def]
    instance, state, faulty, client = agency
    person_id = _richest_owner(instance.agency_id)
    answer = client.inquire(person_id, "req-1")
    assert len(answer.assets) == len(state.assets_of(person_id)) + 1
    outcome = _validated(instance, answer.assets)
    assert outcome.valid_rows == len(state.assets_of(person_id)) and outcome.rejected_rows == 1
    assert any("duplicate primary key" in r for r in outcome.reasons_summary())
    assert faulty.journal[0].asset_ref in {a.asset_ref for a in state.assets_of(person_id)}


@pytest.mark.parametrize("agency", [("bank_saderat", Fault.UNKNOWN_ENUM)], indirect=True)
def test_unknown_enum_values_pass_the_wire_and_are_quarantined(agency) -> None:  # type: ignore[no-untyped-def]
    """The banks' generic client reads an account kind as the feed's string; the feed's rule (allowed values)
    quarantines the record at landing, the person's other accounts kept."""
    instance, _, faulty, client = agency
    answer = client.inquire(_richest_owner(instance.agency_id), "req-1")
    assert faulty.journal[0].fault is Fault.UNKNOWN_ENUM
    outcome = _validated(instance, answer.assets)
    assert outcome.rejected_rows == 1 and outcome.valid_rows == len(answer.assets) - 1
    assert any("account_kind" in r for r in outcome.reasons_summary()), outcome.reasons_summary()


# --- acknowledgements -----------------------------------------------------------------------------


def _order(instance: AgencyInstance, state: AgencyState, order_id: str, amount: int) -> FreezeOrder:
    ref = unprotected_assets(WORLD, instance)[0][1]  # not protected by law (a salary or pension account)
    return FreezeOrder(order_id=order_id, kind=OrderKind.FREEZE, case_id="1403-000001",
                       agency_id=instance.agency_id, asset_ref=ref, amount_rial=amount,
                       issued_at=datetime.now(UTC))


@pytest.mark.parametrize("agency", [("bank_melli", Fault.LATE_ACK), ("traffic_police", Fault.LATE_ACK)],
                         indirect=True)
def test_a_late_acknowledgement_is_applied_and_a_resend_gets_it(agency) -> None:  # type: ignore[no-untyped-def]
    instance, state, faulty, client = agency
    order = _order(instance, state, "ord-late-1", 1_000_000)
    with pytest.raises(AgencyUnavailable):
        client.freeze(order)
    assert state.applied_orders() == 1  # the agency did it; only the acknowledgement was late
    started = time.perf_counter()
    ack = client.freeze(order)  # the resend
    assert time.perf_counter() - started < HOLD_S
    assert ack.order_id == order.order_id and ack.status is AckStatus.DONE
    assert ack.acknowledged_amount_rial == 1_000_000
    assert state.applied_orders() == 1 and [f.fault for f in faulty.journal] == [Fault.LATE_ACK]


@pytest.mark.parametrize("agency", [("land_registry", Fault.PARTIAL_ACK), ("csdi", Fault.PARTIAL_ACK)],
                         indirect=True)
def test_a_partial_acknowledgement_blocks_less_and_says_so(agency) -> None:  # type: ignore[no-untyped-def]
    instance, state, faulty, client = agency
    order = _order(instance, state, "ord-partial-1", 1_000_000)
    ack = client.freeze(order)
    assert ack.status is AckStatus.PARTIAL and ack.acknowledged_amount_rial == 500_000
    assert "lower than asked" in ack.reason
    assert sum(state.held_freezes().values()) == 500_000  # what the agency holds matches what it said
    assert faulty.journal[0].fault is Fault.PARTIAL_ACK


def test_profile_for_rest_has_no_soap_faults() -> None:
    profile = profile_for(Protocol.REST, 0.1)
    assert Fault.SOAP_FAULT not in profile.rates and profile.total_rate == pytest.approx(0.1)
