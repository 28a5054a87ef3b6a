"""The resilient client: transient-only retries with bounded jitter, the reply deadline, the breaker, the rate limit.

Everything runs on a fake clock: sleeping advances it, so the tests are instant and exact.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import DEFAULT_INQUIRY_BATCH_SIZE, FREEZE_AND_RELEASE
from connectors.resilience import (
    BreakerState,
    CircuitBreaker,
    ResilientClient,
    RetryPolicy,
    TokenBucket,
)
from estelam.core.domain import (
    Acknowledgement,
    AckStatus,
    AgencyInstance,
    AgencyKind,
    FreezeOrder,
    InquiryAnswer,
    OrderKind,
    Protocol,
)
from estelam.core.exceptions import (
    AgencyAnswerMalformed,
    AgencyDeadlineMissed,
    AgencyError,
    AgencyFault,
    AgencyUnavailable,
)
from tests.settings_support import override

INSTANCE = AgencyInstance("bank_test", AgencyKind("bank"), "Test Bank", Protocol.SOAP, "kinds/bank.wsdl",
                          "http://127.0.0.1:1", reply_deadline_s=10.0, timeout_s=2.0)
WHERE = {"agency_id": "bank_test", "operation": "inquire", "request_id": "r"}


@dataclass
class FakeClock:
    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class ScriptedAgency:
    """An agency client that fails as scripted, then answers; each attempt may take ``call_s`` of fake time."""

    clock: FakeClock
    failures: list[AgencyError | None] = field(default_factory=list)  # None: that attempt succeeds
    call_s: float = 0.0
    calls: int = 0
    instance: AgencyInstance = INSTANCE
    sent_at: list[float] = field(default_factory=list)
    max_batch_size = DEFAULT_INQUIRY_BATCH_SIZE
    order_kinds = FREEZE_AND_RELEASE

    def _attempt(self) -> None:
        self.calls += 1
        self.sent_at.append(self.clock.now)
        self.clock.now += self.call_s
        failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            raise failure

    def inquire(self, person_id: str, request_id: str) -> InquiryAnswer:
        self._attempt()
        return InquiryAnswer(INSTANCE.agency_id, person_id, request_id, (), datetime.now(UTC))

    def inquire_batch(self, person_ids: Sequence[str], request_id: str) -> dict[str, InquiryAnswer]:
        self._attempt()
        return {p: InquiryAnswer(INSTANCE.agency_id, p, request_id, (), datetime.now(UTC)) for p in person_ids}

    def freeze(self, order: object) -> object:
        raise NotImplementedError

    release = transfer = freeze

    def close(self) -> None:
        pass


def unavailable() -> AgencyUnavailable:
    return AgencyUnavailable("timed out", **WHERE)


def fault(status: int) -> AgencyFault:
    return AgencyFault(f"HTTP {status}", status_code=status, **WHERE)


def resilient(agency: ScriptedAgency, **options: object) -> ResilientClient:
    options.setdefault("rng", random.Random(7))
    return ResilientClient(agency, clock=agency.clock, **options)  # type: ignore[arg-type]


# --- backoff --------------------------------------------------------------------------------------


@given(retry=st.integers(min_value=1, max_value=30), seed=st.integers(min_value=0, max_value=2**32))
def test_backoff_is_full_jitter_below_an_exponential_ceiling_capped(retry: int, seed: int) -> None:
    policy = RetryPolicy(max_attempts=5, base_s=0.1, cap_s=2.0)
    pause = policy.backoff_s(retry, random.Random(seed))
    assert 0.0 <= pause <= min(2.0, 0.1 * 2 ** (retry - 1))


def test_backoff_ceiling_doubles_then_stops_at_the_cap() -> None:
    policy = RetryPolicy(base_s=0.25, cap_s=1.0)
    assert [policy.ceiling_s(n) for n in (1, 2, 3, 4, 5)] == [0.25, 0.5, 1.0, 1.0, 1.0]


def test_jitter_spreads_pauses_instead_of_synchronising_retries() -> None:
    policy = RetryPolicy(base_s=1.0, cap_s=1.0)
    rng = random.Random(1)
    pauses = [policy.backoff_s(1, rng) for _ in range(200)]
    assert min(pauses) < 0.1 and max(pauses) > 0.9  # the whole [0, ceiling] range is used


# --- which errors are retried ---------------------------------------------------------------------


@pytest.mark.parametrize("error", [unavailable, lambda: fault(503), lambda: fault(500)])
def test_transient_errors_are_retried_until_an_answer(error: Callable[[], AgencyError]) -> None:
    agency = ScriptedAgency(FakeClock(), failures=[error(), error()])
    client = resilient(agency)
    answer = client.inquire("0012345679", "r")
    assert answer.person_id == "0012345679"
    assert agency.calls == 3 and client.last_attempts == 3
    assert len(agency.clock.sleeps) == 2
    assert agency.clock.sleeps[0] <= client.retry.ceiling_s(1) and agency.clock.sleeps[1] <= client.retry.ceiling_s(2)


@pytest.mark.parametrize("error", [
    lambda: fault(400), lambda: fault(404), lambda: fault(422),
    lambda: AgencyAnswerMalformed("not XML", **WHERE),
    lambda: AgencyError("asset_ref cannot be named", **WHERE),
])
def test_non_transient_errors_are_never_retried(error: Callable[[], AgencyError]) -> None:
    agency = ScriptedAgency(FakeClock(), failures=[error()])
    client = resilient(agency)
    with pytest.raises(AgencyError) as raised:
        client.inquire("0012345679", "r")
    assert not raised.value.transient
    assert agency.calls == 1 and client.last_attempts == 1 and agency.clock.sleeps == []


def test_retries_stop_after_max_attempts_with_the_last_error() -> None:
    agency = ScriptedAgency(FakeClock(), failures=[fault(503)] * 5)
    client = resilient(agency, retry=RetryPolicy(max_attempts=3, base_s=0.01, cap_s=0.01))
    with pytest.raises(AgencyFault, match="HTTP 503") as raised:
        client.inquire("0012345679", "r")
    assert not isinstance(raised.value, AgencyDeadlineMissed)
    assert agency.calls == 3 and client.last_attempts == 3


def test_batch_calls_get_the_same_resilience() -> None:
    agency = ScriptedAgency(FakeClock(), failures=[unavailable()])
    client = resilient(agency)
    answers = client.inquire_batch(["0012345679", "0023456781"], "b1")
    assert set(answers) == {"0012345679", "0023456781"} and client.last_attempts == 2


# --- the deadline ---------------------------------------------------------------------------------


def test_the_deadline_covers_all_attempts_and_ends_in_deadline_missed() -> None:
    clock = FakeClock()
    # every attempt takes 4 s of a 10 s deadline and times out: the third could not finish in time
    agency = ScriptedAgency(clock, failures=[unavailable()] * 10, call_s=4.0)
    client = resilient(agency, retry=RetryPolicy(max_attempts=10, base_s=0.5, cap_s=0.5))
    with pytest.raises(AgencyDeadlineMissed) as raised:
        client.inquire("0012345679", "r")
    missed = raised.value
    assert isinstance(missed, AgencyUnavailable)  # a non-answer, in the tree where callers expect it
    assert missed.deadline_s == 10.0 and missed.attempts == client.last_attempts
    assert 2 <= missed.attempts <= 3
    assert "10 s reply deadline" in str(missed) and "bank_test.inquire [r]" in str(missed)
    assert clock.now <= 10.0 + 4.0  # never starts an attempt after the deadline


def test_no_backoff_sleeps_past_the_deadline() -> None:
    clock = FakeClock()
    agency = ScriptedAgency(clock, failures=[unavailable()] * 10, call_s=0.1)
    client = resilient(agency, retry=RetryPolicy(max_attempts=50, base_s=1.0, cap_s=5.0), deadline_s=3.0)
    with pytest.raises(AgencyDeadlineMissed):
        client.inquire("0012345679", "r")
    assert clock.now < 3.0  # gave up instead of sleeping into the deadline


def test_an_answer_within_the_deadline_is_not_a_miss() -> None:
    clock = FakeClock()
    agency = ScriptedAgency(clock, failures=[unavailable()], call_s=3.0)
    client = resilient(agency)
    assert client.inquire("0012345679", "r").person_id == "0012345679"


def test_the_instance_reply_deadline_is_the_default() -> None:
    client = resilient(ScriptedAgency(FakeClock()))
    assert client.deadline_s == INSTANCE.reply_deadline_s


# --- the circuit breaker --------------------------------------------------------------------------


def test_breaker_opens_after_consecutive_transient_failures_then_fails_fast() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("bank_test", failure_threshold=3, cool_down_s=30.0, clock=clock)
    agency = ScriptedAgency(clock, failures=[unavailable()] * 3)
    client = resilient(agency, breaker=breaker, retry=RetryPolicy(max_attempts=5, base_s=0.0, cap_s=0.0))
    with pytest.raises(AgencyUnavailable, match="circuit open") as raised:
        client.inquire("0012345679", "r")
    assert isinstance(raised.value.__cause__, AgencyUnavailable)  # the failure that opened it is kept
    assert breaker.state is BreakerState.OPEN and agency.calls == 3
    with pytest.raises(AgencyUnavailable, match="circuit open"):
        client.inquire("0023456781", "r2")
    assert agency.calls == 3 and client.last_attempts == 0  # failed fast: nothing was sent


def test_breaker_half_opens_after_the_cool_down_and_closes_on_success() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("bank_test", failure_threshold=2, cool_down_s=30.0, clock=clock)
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.now += 29.9
    assert breaker.state is BreakerState.OPEN
    clock.now += 0.1
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.admit("inquire", "trial")  # the one trial call
    with pytest.raises(AgencyUnavailable, match="circuit open"):
        breaker.admit("inquire", "second")  # only one trial at a time
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.consecutive_failures == 0


def test_a_failed_trial_opens_the_circuit_again_for_a_full_cool_down() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("bank_test", failure_threshold=2, cool_down_s=10.0, clock=clock)
    breaker.record_failure()
    breaker.record_failure()
    clock.now += 10.0
    breaker.admit("inquire", "trial")
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.now += 9.0
    assert breaker.state is BreakerState.OPEN
    clock.now += 1.0
    assert breaker.state is BreakerState.HALF_OPEN


def test_non_transient_answers_and_successes_reset_the_failure_count() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("bank_test", failure_threshold=3, clock=clock)
    agency = ScriptedAgency(clock, failures=[unavailable(), unavailable(), fault(400)])
    client = resilient(agency, breaker=breaker, retry=RetryPolicy(max_attempts=5, base_s=0.0, cap_s=0.0))
    with pytest.raises(AgencyFault):
        client.inquire("0012345679", "r")
    assert breaker.state is BreakerState.CLOSED and breaker.consecutive_failures == 0


# --- the rate limit -------------------------------------------------------------------------------


def test_token_bucket_allows_a_burst_then_spaces_calls_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(5.0, capacity=2.0, clock=clock)
    waits = [bucket.reserve() for _ in range(5)]
    assert waits[:2] == [0.0, 0.0]
    assert waits[2:] == pytest.approx([0.2, 0.4, 0.6])
    clock.now += 10.0  # idle time refills only up to the capacity
    assert [bucket.reserve() for _ in range(3)] == pytest.approx([0.0, 0.0, 0.2])


def test_calls_through_a_rate_limited_client_never_exceed_the_rate() -> None:
    from dataclasses import replace

    clock = FakeClock()
    limited = replace(INSTANCE, rate_limit_per_s=4.0, reply_deadline_s=60.0)
    agency = ScriptedAgency(clock, instance=limited)
    client = ResilientClient(agency, clock=clock)  # type: ignore[arg-type]
    assert client.limiter is not None and client.limiter.rate_per_s == 4.0
    for n in range(20):
        client.inquire("0012345679", f"r{n}")
    starts = agency.sent_at
    # beyond the one-second burst, 20 calls at 4/s need at least (20 - 4) / 4 s
    assert starts[-1] >= (20 - 4) / 4 - 1e-9
    capacity = client.limiter.capacity
    for i in range(len(starts)):  # the bucket's promise: in any window T, at most capacity + rate * T calls
        for j in range(i, len(starts)):
            assert j - i + 1 <= capacity + 4.0 * (starts[j] - starts[i]) + 1e-9


def test_a_rate_limit_that_leaves_no_slot_before_the_deadline_is_a_deadline_miss() -> None:
    clock = FakeClock()
    agency = ScriptedAgency(clock)
    bucket = TokenBucket(0.1, capacity=1.0, clock=clock)  # one call per 10 s
    client = resilient(agency, limiter=bucket, deadline_s=5.0)
    client.inquire("0012345679", "r1")
    with pytest.raises(AgencyDeadlineMissed, match="rate limit"):
        client.inquire("0012345679", "r2")
    assert agency.calls == 1 and client.last_attempts == 0


def test_no_rate_limit_when_the_instance_declares_none() -> None:
    assert resilient(ScriptedAgency(FakeClock())).limiter is None


# --- what the inquiry round records of it ---------------------------------------------------------


def test_the_round_records_one_final_state_per_person_with_reasons_and_attempts(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Calls of 2 persons: the first is retried to an answer, one person of it refused alone; the second
    misses its deadline; the third fails for good. Every person gets exactly one row."""
    from datetime import date

    import pyarrow.parquet as pq

    from estelam.core.identifiers import iran_national_code_check_digit
    from estelam.inquiry.rounds import InquiryTarget, run_round

    override(monkeypatch, data_dir=tmp_path)
    persons = [f"{n:09d}{iran_national_code_check_digit(f'{n:09d}')}" for n in range(123456781, 123456787)]
    clock = FakeClock()

    class BatchAgency(ScriptedAgency):
        max_batch_size = 2

        def inquire_batch(self, person_ids: Sequence[str], request_id: str):  # type: ignore[no-untyped-def]
            answers = super().inquire_batch(person_ids, request_id)
            if persons[1] in answers:
                answers[persons[1]] = AgencyFault("refused for this person: invalid_person_id", **WHERE)
            return answers

    script = [fault(503), None, unavailable(), unavailable(), unavailable(), AgencyAnswerMalformed("not XML", **WHERE)]
    agency = BatchAgency(clock, failures=script, call_s=1.0)
    client = resilient(agency, retry=RetryPolicy(max_attempts=5, base_s=0.0, cap_s=0.0), deadline_s=2.5)
    summary = run_round(INSTANCE, [InquiryTarget(p, None) for p in persons], round_id="r1",
                        today=date(2026, 11, 1), inquiry_batch_size=50, client=client)
    rows = {r["person_id"]: r for f in (tmp_path / "landing" / "inquiries").glob("*/*.parquet")
            for r in pq.read_table(f).to_pylist()}
    assert set(rows) == set(persons)
    states = [rows[p]["status"] for p in persons]
    assert states == ["answered", "failed", "deadline_missed", "deadline_missed", "failed", "failed"]
    assert [rows[p]["attempts"] for p in persons] == [2, 2, 3, 3, 1, 1]
    assert "invalid_person_id" in rows[persons[1]]["reason"]
    assert "reply deadline" in rows[persons[2]]["reason"] and "not XML" in rows[persons[4]]["reason"]
    assert (summary.sent, summary.answered, summary.failed, summary.deadline_missed) == (6, 1, 3, 2)


# --- transfers (collection orders) ----------------------------------------------------------------


@dataclass
class ScriptedBank(ScriptedAgency):
    """A scripted agency whose contract has a transfer operation."""

    order_kinds = frozenset(OrderKind)

    def transfer(self, order: FreezeOrder) -> Acknowledgement:
        self._attempt()
        return Acknowledgement(order.order_id, INSTANCE.agency_id, order.case_id, order.asset_ref, AckStatus.DONE,
                               order.amount_rial, 0, datetime.now(UTC))


TRANSFER = FreezeOrder("C1/t1", OrderKind.TRANSFER, "C1", INSTANCE.agency_id, "IR" + "0" * 24, 1_000,
                       datetime(2026, 11, 1, tzinfo=UTC))


def test_transfers_are_retried_like_freezes() -> None:
    agency = ScriptedBank(FakeClock(), failures=[unavailable(), fault(503)])
    client = resilient(agency)
    ack = client.transfer(TRANSFER)
    assert (ack.status, ack.acknowledged_amount_rial) == (AckStatus.DONE, 1_000)
    assert agency.calls == 3 and client.last_attempts == 3
    assert len(agency.clock.sleeps) == 2


def test_a_refused_transfer_is_final_and_an_open_circuit_stops_transfers() -> None:
    agency = ScriptedBank(FakeClock(), failures=[fault(400)])
    client = resilient(agency)
    with pytest.raises(AgencyFault):
        client.transfer(TRANSFER)
    assert agency.calls == 1
    agency = ScriptedBank(FakeClock(), failures=[unavailable()] * 10)
    client = resilient(agency, breaker=CircuitBreaker("a", failure_threshold=2, clock=agency.clock),
                       retry=RetryPolicy(max_attempts=5))
    with pytest.raises(AgencyUnavailable, match="circuit open"):
        client.transfer(TRANSFER)
    assert agency.calls == 2


def test_a_client_without_transfer_is_refused_at_once_without_a_call() -> None:
    agency = ScriptedAgency(FakeClock())
    client = resilient(agency)
    with pytest.raises(AgencyError, match="no transfer operation") as raised:
        client.transfer(TRANSFER)
    assert not raised.value.transient
    assert agency.calls == 0 and client.last_attempts == 0


def test_a_night_passed_ends_an_open_circuits_cool_down_and_no_more() -> None:
    from connectors import shared_state
    from connectors.resilience import DEFAULT_BREAKER_FAILURE_THRESHOLD

    shared_state.forget_in_process_state()
    breaker = shared_state.shared_state().breaker("bank_test")
    for _ in range(DEFAULT_BREAKER_FAILURE_THRESHOLD):
        breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    shared_state.let_time_pass(1.0)  # a second is not the cool-down
    assert breaker.state is BreakerState.OPEN
    shared_state.let_time_pass(24 * 3600.0)  # a simulated night is
    assert breaker.state is BreakerState.HALF_OPEN
    closed = shared_state.shared_state().breaker("bank_other")
    shared_state.let_time_pass(24 * 3600.0)  # a closed circuit stays closed
    assert closed.state is BreakerState.CLOSED
    with pytest.raises(ValueError, match="forwards"):
        CircuitBreaker("bank_test").let_time_pass(-1.0)
    shared_state.forget_in_process_state()
