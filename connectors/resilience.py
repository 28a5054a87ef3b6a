"""Resilience around any agency client: retries, a reply deadline, a circuit breaker, a rate limit.

``ResilientClient`` wraps an ``AgencyClient`` and is one itself. For every call:

- **rate limit**: a token bucket per instance honours ``instance.rate_limit_per_s`` (no limit when None);
- **circuit breaker**: after ``failure_threshold`` consecutive transient failures the breaker opens and
  calls fail fast with ``AgencyUnavailable("circuit open ...")``; after ``cool_down_s`` one trial call
  is let through (half-open): success closes it, a transient failure opens it again;
- **retries**: only transient errors (``AgencyError.transient``: unreachable, timed out, HTTP 5xx, SOAP
  Server faults) are retried, with exponential backoff and full jitter
  (``sleep = uniform(0, min(cap, base * 2**(retry-1)))``); a 4xx, a malformed answer or a SOAP Client
  fault is final at once;
- **deadline**: all attempts of one call share ``instance.reply_deadline_s``; when the next attempt could
  not start before it, the call ends with ``AgencyDeadlineMissed`` (the agency's non-answer, recorded as
  such for the compliance scoreboard). An answer that does arrive is kept, late or not: the inquiry log's
  latency shows how late it was.

Freeze, release and transfer orders are safe to retry: they carry an order id the agency applies at most once.
The clock (``monotonic`` and ``sleep``) and the jitter's random source are injectable, so tests are fast
and deterministic. Breaker and bucket belong to one client unless shared ones are passed in.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar

from connectors import metrics
from connectors.agency_http import reply_deadline
from connectors.base import AgencyClient, BatchAnswers
from estelam.core.domain import Acknowledgement, AgencyInstance, FreezeOrder, InquiryAnswer, OrderKind
from estelam.core.exceptions import AgencyDeadlineMissed, AgencyError, AgencyUnavailable, OperationNotInContract

logger = logging.getLogger(__name__)

#: Attempts per call, the first included.
DEFAULT_MAX_ATTEMPTS = 3
#: Backoff before the first retry is drawn from [0, base]; it doubles per retry up to the cap.
DEFAULT_BACKOFF_BASE_S = 0.25
DEFAULT_BACKOFF_CAP_S = 4.0
#: Consecutive transient failures that open an instance's circuit.
DEFAULT_BREAKER_FAILURE_THRESHOLD = 5
#: How long an open circuit fails fast before it lets one trial call through.
DEFAULT_BREAKER_COOL_DOWN_S = 30.0
#: A rate-limited agency may receive this many seconds' worth of calls in one burst.
DEFAULT_RATE_BURST_S = 1.0
#: Idle attempt threads kept for the next attempts; more than these end when their attempt does.
MAX_IDLE_ATTEMPT_THREADS = 64

_T = TypeVar("_T")


class Clock(Protocol):
    """Where time comes from: the system's, or a test's fake one."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real monotonic clock and ``time.sleep``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a call gets and how long to back off between them (full jitter)."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    base_s: float = DEFAULT_BACKOFF_BASE_S
    cap_s: float = DEFAULT_BACKOFF_CAP_S

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_s < 0 or self.cap_s < 0:
            raise ValueError(f"invalid retry policy: {self}")

    def ceiling_s(self, retry: int) -> float:
        """The longest pause before retry number ``retry`` (1 for the first retry)."""
        return float(min(self.cap_s, self.base_s * 2 ** (retry - 1)))

    def backoff_s(self, retry: int, rng: random.Random) -> float:
        """The pause before retry number ``retry``: uniform in [0, ceiling] (AWS's "full jitter")."""
        return rng.uniform(0.0, self.ceiling_s(retry))


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """One agency instance's circuit: closed -> open after consecutive transient failures -> half-open."""

    def __init__(self, agency_id: str, *, failure_threshold: int = DEFAULT_BREAKER_FAILURE_THRESHOLD,
                 cool_down_s: float = DEFAULT_BREAKER_COOL_DOWN_S, clock: Clock = SYSTEM_CLOCK) -> None:
        if failure_threshold < 1 or cool_down_s < 0:
            raise ValueError("failure_threshold must be >= 1 and cool_down_s >= 0")
        self.agency_id = agency_id
        self.failure_threshold = failure_threshold
        self.cool_down_s = cool_down_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state()

    @property
    def consecutive_failures(self) -> int:
        with self._lock:
            return self._failures

    def _state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock.monotonic() - self._opened_at >= self.cool_down_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def admit(self, operation: str, request_id: str | None) -> None:
        """Let a call through, or fail fast with ``AgencyUnavailable`` while the circuit is open."""
        with self._lock:
            state = self._state()
            if state is BreakerState.CLOSED:
                return
            if state is BreakerState.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True  # one trial call at a time probes the agency
                return
            assert self._opened_at is not None
            wait = max(self.cool_down_s - (self._clock.monotonic() - self._opened_at), 0.0)
        raise AgencyUnavailable(
            f"circuit open after {self._failures} consecutive transient failures; "
            f"next trial in {wait:.1f} s", agency_id=self.agency_id, operation=operation, request_id=request_id)

    def let_time_pass(self, seconds: float) -> None:
        """Age an open circuit by ``seconds`` of time the monotonic clock did not see (a simulated night)."""
        if seconds < 0:
            raise ValueError("time passes forwards only")
        with self._lock:
            if self._opened_at is not None:
                self._opened_at -= seconds

    def record_success(self) -> None:
        """The agency answered (even with a non-transient error): close the circuit."""
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False

    def record_failure(self) -> None:
        """A transient failure: count it; open the circuit at the threshold, or again after a failed trial."""
        with self._lock:
            self._failures += 1
            if self._trial_in_flight or self._failures >= self.failure_threshold:
                if self._opened_at is None or self._trial_in_flight:
                    logger.warning("circuit to %s opened after %d consecutive transient failures",
                                   self.agency_id, self._failures, extra={"agency_id": self.agency_id})
                self._opened_at = self._clock.monotonic()
            self._trial_in_flight = False


class Breaker(Protocol):
    """What a ResilientClient asks of a circuit breaker (``CircuitBreaker`` is one)."""

    @property
    def state(self) -> BreakerState: ...

    def admit(self, operation: str, request_id: str | None) -> None: ...

    def record_success(self) -> None: ...

    def record_failure(self) -> None: ...


class Bucket(Protocol):
    """What a ResilientClient asks of a rate limiter (``TokenBucket`` is one)."""

    def reserve(self) -> float: ...

    def give_back(self) -> None: ...


class TokenBucket:
    """A token bucket: on average ``rate_per_s`` calls per second, bursts up to ``capacity``."""

    def __init__(self, rate_per_s: float, *, capacity: float | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
        if rate_per_s <= 0:
            raise ValueError(f"rate_per_s must be positive, got {rate_per_s}")
        self.rate_per_s = rate_per_s
        self.capacity = capacity if capacity is not None else max(1.0, rate_per_s * DEFAULT_RATE_BURST_S)
        self._clock = clock
        self._tokens = self.capacity
        self._updated = clock.monotonic()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take one token now; the seconds to wait before using it (0 when one was there)."""
        with self._lock:
            now = self._clock.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate_per_s)
            self._updated = now
            self._tokens -= 1.0
            return max(-self._tokens / self.rate_per_s, 0.0)

    def give_back(self) -> None:
        """Return a reserved token that will not be used (the call was abandoned)."""
        with self._lock:
            self._tokens = min(self.capacity, self._tokens + 1.0)


class _Attempt:
    """One attempt handed to an attempt thread: what to run, in which context, and what came of it."""

    __slots__ = ("context", "done", "failure", "outcome", "send")

    def __init__(self, send: Callable[[], object], context: contextvars.Context) -> None:
        self.send = send
        self.context = context
        self.done = threading.Event()
        self.outcome: object = None
        self.failure: BaseException | None = None


class _AttemptThreads:
    """Daemon threads that run attempts, reused from one attempt to the next.

    Starting a thread per attempt costs more than the rest of the hub's overhead on a fast agency;
    a thread whose attempt was abandoned at the deadline finishes it (its answer discarded) and
    only then waits for another. Daemon threads: an abandoned attempt never holds up the process's exit.
    """

    def __init__(self, max_idle: int = MAX_IDLE_ATTEMPT_THREADS) -> None:
        self.max_idle = max_idle
        self._idle: list[queue.SimpleQueue[_Attempt]] = []
        self._lock = threading.Lock()
        self._started = 0

    def run(self, attempt: _Attempt) -> None:
        """Hand ``attempt`` to an idle thread (or a new one); returns at once."""
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
            if inbox is None:
                self._started += 1
                number = self._started
        if inbox is None:
            inbox = queue.SimpleQueue()
            threading.Thread(target=self._serve, args=(inbox,), name=f"agency-attempt-{number}", daemon=True).start()
        inbox.put(attempt)

    def _serve(self, inbox: queue.SimpleQueue[_Attempt]) -> None:
        while True:
            attempt = inbox.get()
            try:
                attempt.outcome = attempt.context.run(attempt.send)
            except BaseException as exc:  # noqa: BLE001  # whatever it was, the caller's thread raises it
                attempt.failure = exc
            attempt.done.set()
            del attempt
            with self._lock:
                if len(self._idle) >= self.max_idle:
                    return
                self._idle.append(inbox)


_ATTEMPT_THREADS = _AttemptThreads()


class ResilientClient:
    """An ``AgencyClient`` that retries, keeps the reply deadline, breaks the circuit and honours the rate limit.

    ``last_attempts`` says how many attempts the latest call made (0 when the circuit or the
    deadline stopped it before any); the inquiry log records it.
    """

    def __init__(self, inner: AgencyClient, *, retry: RetryPolicy | None = None,
                 breaker: Breaker | None = None, limiter: Bucket | None = None,
                 deadline_s: float | None = None, clock: Clock = SYSTEM_CLOCK,
                 rng: random.Random | None = None) -> None:
        self.instance: AgencyInstance = inner.instance
        self.inner = inner
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or CircuitBreaker(self.instance.agency_id, clock=clock)
        rate = self.instance.rate_limit_per_s
        self.limiter = limiter if limiter is not None else (TokenBucket(rate, clock=clock) if rate else None)
        self.deadline_s = deadline_s if deadline_s is not None else self.instance.reply_deadline_s
        self._clock = clock
        self._rng = rng or random.Random()
        self.last_attempts = 0
        #: whether the wrapped client bounds every socket operation by the reply deadline itself
        self._keeps_deadline = bool(getattr(inner, "keeps_reply_deadline", False))

    def inquire(self, person_id: str, request_id: str) -> InquiryAnswer:
        """Ask about one person, within the deadline."""
        return self._call("inquire", request_id, lambda: self.inner.inquire(person_id, request_id))

    @property
    def max_batch_size(self) -> int:
        """Persons per batch call, as the wrapped client's contract allows."""
        return self.inner.max_batch_size

    @property
    def order_kinds(self) -> frozenset[OrderKind]:
        """The order kinds the wrapped client's contract has operations for."""
        return self.inner.order_kinds

    def inquire_batch(self, person_ids: Sequence[str], request_id: str) -> BatchAnswers:
        """Ask about many persons in one batch call, within the deadline (a person refused alone is no retry)."""
        return self._call("inquire_batch", request_id, lambda: self.inner.inquire_batch(person_ids, request_id))

    def freeze(self, order: FreezeOrder) -> Acknowledgement:
        """Send a freeze order; a retry is safe because the agency applies an order id once."""
        return self._call("freeze", order.order_id, lambda: self.inner.freeze(order))

    def release(self, order: FreezeOrder) -> Acknowledgement:
        """Send a release order; a retry is safe because the agency applies an order id once."""
        return self._call("release", order.order_id, lambda: self.inner.release(order))

    def transfer(self, order: FreezeOrder) -> Acknowledgement:
        """Send a transfer order (frozen money to the court's account); a retry is safe as for freezes.

        When the wrapped client's contract has no transfer operation (``OrderKind.TRANSFER`` not in its
        ``order_kinds``) the call ends at once with ``OperationNotInContract``: nothing is sent and neither
        the breaker nor the rate limit is touched.
        """
        return self._call_if_in_contract(OrderKind.TRANSFER, order, lambda: self.inner.transfer(order))

    def pay_out(self, order: FreezeOrder) -> Acknowledgement:
        """Send a payout order (collected money to the creditor); as for transfers, a contract without the
        operation ends at once with ``OperationNotInContract``, touching neither breaker nor rate limit."""
        return self._call_if_in_contract(OrderKind.PAYOUT, order, lambda: self.inner.pay_out(order))

    def cancel(self, order: FreezeOrder) -> Acknowledgement:
        """Send a cancel order; a retry is safe because the agency applies an order id once."""
        return self._call("cancel", order.order_id, lambda: self.inner.cancel(order))

    def close(self) -> None:
        """Close the wrapped client."""
        self.inner.close()

    def _call_if_in_contract(self, kind: OrderKind, order: FreezeOrder,
                             send: Callable[[], Acknowledgement]) -> Acknowledgement:
        """``_call`` for an order kind the wrapped contract may lack: without it, ``OperationNotInContract`` at
        once (nothing sent, no attempt counted, breaker and rate limit untouched)."""
        if kind not in self.inner.order_kinds:
            self.last_attempts = 0
            raise OperationNotInContract(f"this agency's contract has no {kind} operation",
                                         agency_id=self.instance.agency_id, operation=str(kind),
                                         request_id=order.order_id)
        return self._call(str(kind), order.order_id, send)

    def _call(self, operation: str, request_id: str, send: Callable[[], _T]) -> _T:
        clock = self._clock
        agency_id = self.instance.agency_id
        deadline = clock.monotonic() + self.deadline_s
        attempts = 0
        last_error: AgencyError | None = None
        try:
            while True:
                try:
                    self.breaker.admit(operation, request_id)
                except AgencyUnavailable as open_circuit:
                    metrics.CALLS.labels(agency_id, operation, "circuit_open").inc()
                    metrics.BREAKER_OPEN.labels(agency_id).set(1)
                    if last_error is not None:
                        raise open_circuit from last_error
                    raise
                if self.limiter is not None:
                    wait = self.limiter.reserve()
                    if clock.monotonic() + wait >= deadline:
                        self.limiter.give_back()
                        raise self._deadline_missed(operation, request_id, attempts,
                                                    "the rate limit leaves no slot before it", last_error)
                    clock.sleep(wait)
                attempts += 1
                started = time.perf_counter()
                try:
                    result = self._before_deadline(send, deadline, operation, request_id, attempts)
                except AgencyError as exc:
                    metrics.observe_attempt(agency_id, operation, time.perf_counter() - started, exc)
                    if not exc.transient:
                        self.breaker.record_success()  # the agency is up; the answer was just bad
                        raise
                    self.breaker.record_failure()
                    metrics.BREAKER_OPEN.labels(agency_id).set(self.breaker.state is not BreakerState.CLOSED)
                    last_error = exc
                    if clock.monotonic() >= deadline:
                        raise self._deadline_missed(operation, request_id, attempts, str(exc), exc) from exc
                    if attempts >= self.retry.max_attempts:
                        raise
                    metrics.RETRIES.labels(agency_id, operation).inc()
                    pause = self.retry.backoff_s(attempts, self._rng)
                    logger.info("%s %s to %s failed (attempt %d: %s); retrying in %.2f s", operation, request_id,
                                self.instance.agency_id, attempts, exc, pause)
                    if clock.monotonic() + pause >= deadline:
                        raise self._deadline_missed(operation, request_id, attempts, str(exc), exc) from exc
                    clock.sleep(pause)
                else:
                    metrics.observe_attempt(agency_id, operation, time.perf_counter() - started, None)
                    self.breaker.record_success()
                    metrics.BREAKER_OPEN.labels(agency_id).set(0)
                    return result
        finally:
            self.last_attempts = attempts

    def _before_deadline(self, send: Callable[[], _T], deadline: float, operation: str, request_id: str,
                         attempts: int) -> _T:
        """One attempt, bounded as a whole by the reply deadline (connect, send, every read).

        An agency that trickles its answer a byte at a time never trips a per-read timeout. A client that keeps the
        deadline itself (``keeps_reply_deadline``: the generic client, whose pools bound every socket operation by
        it, ``connectors.agency_http``) runs the attempt in the caller's thread inside ``reply_deadline``: it ends
        at the deadline, its connection closed. Any other client's attempt runs in a thread of its own (a reused
        attempt thread) and is abandoned at the deadline: the call ends ``deadline_missed`` then, and the abandoned
        attempt ends when the agency does (or its connection times out), its answer discarded. With a test's fake
        clock the attempt runs inline (the fake clock decides what time it is).
        """
        if not isinstance(self._clock, SystemClock):
            return send()
        if self._keeps_deadline:
            with reply_deadline(deadline):
                return send()
        # the message log's exchange travels with the attempt
        attempt = _Attempt(send, contextvars.copy_context())
        _ATTEMPT_THREADS.run(attempt)
        if not attempt.done.wait(max(deadline - self._clock.monotonic(), 0.0)):
            # the caller turns this into deadline_missed: the deadline has passed
            raise AgencyUnavailable(f"the answer had not arrived whole by the {self.deadline_s:g} s reply deadline "
                                    "(attempt abandoned)", agency_id=self.instance.agency_id, operation=operation,
                                    request_id=request_id)
        if attempt.failure is not None:
            raise attempt.failure
        return attempt.outcome  # type: ignore[return-value]  # what ``send`` returned: a _T

    def _deadline_missed(self, operation: str, request_id: str, attempts: int, why: str,
                         last_error: AgencyError | None) -> AgencyDeadlineMissed:
        status = last_error.status_code if last_error is not None else None
        metrics.DEADLINE_MISSED.labels(self.instance.agency_id, operation).inc()
        return AgencyDeadlineMissed(
            f"no answer within the {self.deadline_s:g} s reply deadline after {attempts} attempt(s): {why}",
            deadline_s=self.deadline_s, attempts=attempts, agency_id=self.instance.agency_id,
            operation=operation, request_id=request_id, status_code=status)


__all__ = [
    "DEFAULT_BACKOFF_BASE_S",
    "DEFAULT_BACKOFF_CAP_S",
    "DEFAULT_BREAKER_COOL_DOWN_S",
    "DEFAULT_BREAKER_FAILURE_THRESHOLD",
    "DEFAULT_MAX_ATTEMPTS",
    "SYSTEM_CLOCK",
    "Breaker",
    "BreakerState",
    "Bucket",
    "CircuitBreaker",
    "Clock",
    "ResilientClient",
    "RetryPolicy",
    "SystemClock",
    "TokenBucket",
]
