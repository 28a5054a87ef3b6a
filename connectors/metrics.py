"""Prometheus metrics of every agency call, kept by the process that makes the calls.

Per agency instance and operation: calls by outcome, call latency, retries, and whether the circuit is
open. The API serves them at ``/metrics`` with its own; a worker process that makes calls keeps them
in ``PROMETHEUS_MULTIPROC_DIR`` when that is set (prometheus-client's multi-process mode), and
``estelam metrics`` serves that folder for the host.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from estelam.core.exceptions import (
    AgencyAnswerMalformed,
    AgencyDeadlineMissed,
    AgencyError,
    AgencyFault,
    AgencyUnavailable,
)

#: Latency buckets in seconds: agencies answer in tens of milliseconds to their reply deadlines.
LATENCY_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)

CALLS = Counter("estelam_agency_calls", "Attempts to call an agency, by outcome",
                ["agency_id", "operation", "outcome"])
LATENCY = Histogram("estelam_agency_call_seconds", "Time of one attempt to call an agency",
                    ["agency_id", "operation"], buckets=LATENCY_BUCKETS_S)
RETRIES = Counter("estelam_agency_retries", "Retries of agency calls after a transient failure",
                  ["agency_id", "operation"])
BREAKER_OPEN = Gauge("estelam_agency_breaker_open", "1 while the agency's circuit breaker is open or half-open",
                     ["agency_id"], multiprocess_mode="max")
DEADLINE_MISSED = Counter("estelam_agency_deadline_missed", "Calls that ended without an answer within the "
                          "agency's reply deadline", ["agency_id", "operation"])


def outcome_of(error: AgencyError | None) -> str:
    """The ``outcome`` label of an attempt: ok, or the kind of failure."""
    if error is None:
        return "ok"
    if isinstance(error, AgencyDeadlineMissed):
        return "deadline_missed"
    if isinstance(error, AgencyUnavailable):
        return "unavailable"
    if isinstance(error, AgencyAnswerMalformed):
        return "malformed"
    if isinstance(error, AgencyFault):
        return "fault"
    return "refused_unsent"


def observe_attempt(agency_id: str, operation: str, seconds: float, error: AgencyError | None) -> None:
    CALLS.labels(agency_id, operation, outcome_of(error)).inc()
    LATENCY.labels(agency_id, operation).observe(seconds)


__all__ = ["BREAKER_OPEN", "CALLS", "DEADLINE_MISSED", "LATENCY", "RETRIES", "observe_attempt", "outcome_of"]
