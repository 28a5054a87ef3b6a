"""A full inquiry round against every agency of the registry (30 banks and the others) with 20 % faults.

What must hold, whatever the agencies do:
- every inquiry has exactly one final state, with a reason unless it was answered;
- nothing valid is lost: every asset the world holds for a person whose answer arrived is landed,
  except the ones the simulators corrupted on purpose, which are in quarantine with reasons;
- nothing is silently dropped: the landed and quarantined assets of answered persons account for
  every asset of the world (and for every duplicate the simulators sent).

One bank is down for the whole round (every call times out): its persons end ``deadline_missed`` or,
once its circuit opens, ``failed`` with "circuit open".
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from connectors import wire_client_for
from connectors.resilience import CircuitBreaker, ResilientClient, RetryPolicy
from estelam.contracts import registry as contracts
from estelam.contracts.registry import load_agency_registry
from estelam.core.domain import FeedRecord, InquiryStatus
from estelam.ingest.validation import validate
from estelam.inquiry.rounds import InquiryTarget, asset_record, run_round
from simulators.faults import Fault, FaultProfile, everywhere
from simulators.fleet import Fleet
from simulators.world import generate
from tests.mapping_support import drawn_assets
from tests.settings_support import override

FAULT_SHARE = 0.2
SEED = 20
PERSONS = 60
DAY = date(2026, 11, 2)
ROUND = "fault-round-1"
#: Short timings keep the round fast: a hold outlasts the client timeout, a deadline fits two attempts.
TIMEOUT_S = 0.25
HOLD_S = 0.6
DEADLINE_S = 1.2
PERSONS_PER_CALL = 4
DOWN_BANK_DEADLINE_S = 0.45
FINAL_STATES = {str(s) for s in InquiryStatus}


def _ref_of_row(feed: str, row: dict[str, object]) -> str:
    """An asset's reference from a landed or quarantined row (rows in quarantine are strings)."""
    if feed == "bank_accounts":
        return str(row["iban"])
    return f"{row['person_id']}:{row['symbol']}"


def _rows(root: Path, feed: str) -> list[dict[str, object]]:
    return [r for f in sorted((root / feed).glob("dt=*/*.parquet")) for r in pq.read_table(f).to_pylist()]


@pytest.fixture(scope="module")
def fault_round(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    data = tmp_path_factory.mktemp("fault-round")
    patch = pytest.MonkeyPatch()
    override(patch, data_dir=data)
    registry = load_agency_registry()
    banks = contracts.iban_account_holders(registry.instances)
    assert len(banks) >= 30, "the registry should hold 30 banks"
    down_bank = banks[-1].agency_id
    quick = tuple(replace(i, timeout_s=TIMEOUT_S,
                          reply_deadline_s=DOWN_BANK_DEADLINE_S if i.agency_id == down_bank else DEADLINE_S)
                  for i in registry.instances)
    registry = replace(registry, instances=quick)
    world = generate(registry.instances, seed=SEED, n_persons=PERSONS, n_cases=4)
    profiles = everywhere(registry.instances, FAULT_SHARE, seed=SEED, latency_s=(0.01, 0.05), hold_s=HOLD_S)
    profiles[down_bank] = FaultProfile(rates={Fault.TIMEOUT: 1.0}, hold_s=HOLD_S, seed=SEED)
    targets = [InquiryTarget(p.person_id, None) for p in world.persons]
    summaries = {}
    with Fleet.start(registry, world, faults=profiles) as fleet:
        for instance in registry.instances:
            bound = replace(instance, endpoint=fleet.endpoints[instance.agency_id])
            client = ResilientClient(wire_client_for(bound),
                                     retry=RetryPolicy(max_attempts=3, base_s=0.02, cap_s=0.1),
                                     breaker=CircuitBreaker(instance.agency_id, failure_threshold=4),
                                     rng=random.Random(SEED))
            try:
                summaries[instance.agency_id] = run_round(bound, targets, round_id=ROUND, today=DAY,
                                                          inquiry_batch_size=PERSONS_PER_CALL, client=client)
            finally:
                client.close()
        journals = {agency_id: app.faults() for agency_id, app in fleet.faulty.items()}
        requests = sum(app.requests for app in fleet.faulty.values() if app.agency_id != down_bank)
    yield {"data": data, "registry": registry, "world": world, "summaries": summaries, "journals": journals,
           "targets": targets, "down_bank": down_bank, "requests": requests}
    patch.undo()


def test_every_inquiry_has_exactly_one_final_state_with_its_reason(fault_round) -> None:  # type: ignore[no-untyped-def]
    data, registry, targets = fault_round["data"], fault_round["registry"], fault_round["targets"]
    log = _rows(data / "landing", "inquiries")
    assert not list((data / "quarantine" / "inquiries").glob("dt=*/*.parquet")), "the inquiry log itself is valid"
    per_inquiry = Counter((r["agency_id"], r["person_id"]) for r in log)
    expected = {(i.agency_id, t.person_id) for i in registry.instances for t in targets}
    assert set(per_inquiry) == expected and set(per_inquiry.values()) == {1}
    assert {r["status"] for r in log} <= FINAL_STATES
    for row in log:
        if row["status"] == "answered":
            assert row["responded_at"] is not None and row["attempts"] >= 1
        else:
            assert row["reason"], f"{row['status']} without a reason: {row}"
    for agency_id, summary in fault_round["summaries"].items():
        assert summary.sent == len(targets)
        assert summary.answered + summary.rejected + summary.failed + summary.deadline_missed == summary.sent, agency_id
    states = Counter(r["status"] for r in log)
    assert states["answered"] > states["rejected"] > 0 and states["failed"] > 0 and states["deadline_missed"] > 0


def test_faults_were_injected_at_about_the_configured_share(fault_round) -> None:  # type: ignore[no-untyped-def]
    journals, down_bank = fault_round["journals"], fault_round["down_bank"]
    injected = sum(len(j) for a, j in journals.items() if a != down_bank)
    assert 0.1 < injected / fault_round["requests"] < 0.3
    kinds = Counter(f.fault for a, j in journals.items() if a != down_bank for f in j)
    for kind in (Fault.LATENCY, Fault.SERVER_ERROR, Fault.CONTRACT_BREACH, Fault.MALFORMED, Fault.TIMEOUT):
        assert kinds[kind] > 0, f"no {kind} was injected: {kinds}"


def test_transient_faults_were_retried_to_an_answer(fault_round) -> None:  # type: ignore[no-untyped-def]
    log = _rows(fault_round["data"] / "landing", "inquiries")
    retried = [r for r in log if r["status"] in {"answered", "rejected"} and r["attempts"] > 1]
    assert retried, "some answers should have needed a retry"


def test_the_down_bank_ends_in_deadline_missed_then_circuit_open(fault_round) -> None:  # type: ignore[no-untyped-def]
    """A bank down all round never answered: every one of its inquiries missed its deadline (first by timing out,
    then with its circuit open), none is recorded as a failed answer."""
    log = [r for r in _rows(fault_round["data"] / "landing", "inquiries") if r["agency_id"] == fault_round["down_bank"]]
    assert log and {r["status"] for r in log} == {"deadline_missed"}
    assert all("reply deadline" in r["reason"] or "circuit open" in r["reason"] for r in log)
    assert any("circuit open" in r["reason"] for r in log) and any("reply deadline" in r["reason"] for r in log)


def test_nothing_valid_is_lost_and_corrupted_assets_are_in_quarantine(fault_round) -> None:  # type: ignore[no-untyped-def]
    data, registry, world, journals = (fault_round[k] for k in ("data", "registry", "world", "journals"))
    log = _rows(data / "landing", "inquiries")
    got_answer = {(r["agency_id"], r["person_id"]) for r in log if r["status"] in {"answered", "rejected"}}
    # corrupted asset -> its reference as the corrupted answer wrote it (how quarantine knows it)
    # (an unknown account kind at a bank is the feed's rule: its generic client reads it, the landing quarantines it)
    corrupted = {(f.agency_id, f.person_id, f.asset_ref): (f.agency_id, f.person_id, f.sent_ref or f.asset_ref)
                 for j in journals.values() for f in j if f.fault in {Fault.CONTRACT_BREACH, Fault.UNKNOWN_ENUM}}
    duplicated = Counter((f.agency_id, f.person_id, f.asset_ref) for j in journals.values() for f in j
                         if f.fault is Fault.DUPLICATE)
    checked = 0
    for kind, kind_contract in registry.kinds.items():
        if not contracts.holds_iban_accounts(kind_contract):  # the banks' (the others': tests/contracts/test_kinds.py)
            continue
        feed = kind_contract.answer_feed
        landed = Counter((r["agency_id"], r["person_id"], _ref_of_row(feed, r)) for r in _rows(data / "landing", feed))
        quarantined: dict[tuple[str, str, str], list[list[str]]] = defaultdict(list)
        for r in _rows(data / "quarantine", feed):
            quarantined[(str(r["agency_id"]), str(r["person_id"]), _ref_of_row(feed, r))].append(r["_reasons"])
        # what each agency holds of the persons it answered about: the records its generated simulator draws (its
        # mapping's world data)
        held: list[tuple[str, str, str, object]] = [
            (i.agency_id, owner, ref, FeedRecord(owner, row)) for i in registry.of_kind(kind)
            for owner, ref, row in drawn_assets(world, i)]
        held = [h for h in held if (h[0], h[1]) in got_answer]
        # The oracle: what the contract itself says of the world's records, with no fault injected.
        oracle = validate(contracts.feed(feed), [asset_record(f"{agency_id}-{owner}", agency_id, a,
                                                              datetime.now(UTC)) for agency_id, owner, _, a in held])
        valid_in_world = {(r["agency_id"], r["person_id"], _ref_of_row(feed, r)) for r in oracle.valid.to_pylist()}
        for agency_id, owner, ref, _ in held:
            key = (agency_id, owner, ref)
            checked += 1
            if key in corrupted:
                sent = corrupted[key]
                assert landed[key] == landed[sent] == 0 and quarantined[sent], f"corrupted {key} not in quarantine"
                assert all(reasons for reasons in quarantined[sent]), f"{key} is quarantined without reasons"
            elif key in valid_in_world:
                assert landed[key] == 1, f"valid asset {key} was lost (landed {landed[key]} times)"
                assert len(quarantined.get(key, [])) == duplicated[key], f"{key}: only its duplicates are rejected"
            else:
                assert landed[key] == 0 and quarantined[key], f"the world's own bad record {key} must be quarantined"
    assert checked > 100 and corrupted, "the round should have checked many assets, some corrupted"


def test_every_rejected_inquiry_names_the_broken_rule(fault_round) -> None:  # type: ignore[no-untyped-def]
    log = _rows(fault_round["data"] / "landing", "inquiries")
    for row in log:
        if row["status"] == "rejected":
            assert ":" in row["reason"], row  # reasons read "<column>: <rule>"
