"""Per-agency circuit breakers and rate limits shared by every caller, not owned by one client object.

A client is built per task and per on-demand request, so a breaker or token bucket inside it would never
open (each request starts fresh) and would give every caller its own burst: the agency would see the sum
of everyone's uncoordinated traffic. Here the state belongs to the agency instance:

- :class:`InProcessState` (the embedded default): one breaker and one bucket per agency for the whole
  process, shared by every thread and client in it;
- :class:`RedisState` (``ESTELAM_RESILIENCE_STORE=redis://…``): the same, shared by every process on every
  host — API replicas and Airflow workers — kept in Redis with atomic scripts on the server's clock.

:func:`shared_state` picks one from a URL (``None``: the process's own).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

import redis.exceptions

from connectors.resilience import (
    DEFAULT_BREAKER_COOL_DOWN_S,
    DEFAULT_BREAKER_FAILURE_THRESHOLD,
    DEFAULT_RATE_BURST_S,
    Breaker,
    BreakerState,
    Bucket,
    CircuitBreaker,
    TokenBucket,
)
from estelam.core.exceptions import AgencyUnavailable

logger = logging.getLogger(__name__)

#: Redis keys live under this prefix; breaker keys expire when unused for a day, buckets after an hour.
KEY_PREFIX = "estelam:resilience"
BREAKER_TTL_S = 86_400
BUCKET_TTL_S = 3_600


class SharedState(Protocol):
    def breaker(self, agency_id: str) -> Breaker: ...

    def bucket(self, agency_id: str, rate_per_s: float) -> Bucket: ...


_REDIS_ERRORS = (redis.exceptions.RedisError, OSError)
#: How often an unreachable shared store is logged (once per this many seconds, not per call).
UNREACHABLE_LOG_EVERY_S = 60.0
_last_logged = 0.0


def _unreachable(exc: BaseException) -> None:
    global _last_logged
    now = time.monotonic()
    if now - _last_logged >= UNREACHABLE_LOG_EVERY_S:
        _last_logged = now
        logger.warning("resilience store unreachable (%s): each process keeps its own breakers and rate limits "
                       "until it is back", exc)


class InProcessState:
    """One breaker and one bucket per agency for this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._breakers: dict[str, CircuitBreaker] = {}
        self._buckets: dict[tuple[str, float], TokenBucket] = {}

    def breaker(self, agency_id: str) -> Breaker:
        with self._lock:
            return self._breakers.setdefault(agency_id, CircuitBreaker(agency_id))

    def bucket(self, agency_id: str, rate_per_s: float) -> Bucket:
        with self._lock:
            return self._buckets.setdefault((agency_id, rate_per_s), TokenBucket(rate_per_s))


# --- Redis: atomic scripts on the server's clock ------------------------------------------------------

_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) + tonumber(t[2]) / 1000000 "

#: KEYS: failures, opened_at, trial. ARGV: cool_down_s, ttl. Returns {state, failures, seconds to next trial}.
_ADMIT = _NOW + """
local opened = redis.call('GET', KEYS[2])
if not opened then return {'closed', 0, '0'} end
local waited = now - tonumber(opened)
if waited < tonumber(ARGV[1]) then
  return {'open', tonumber(redis.call('GET', KEYS[1]) or '0'), tostring(tonumber(ARGV[1]) - waited)}
end
if redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[2]) then return {'trial', 0, '0'} end
return {'open', tonumber(redis.call('GET', KEYS[1]) or '0'), '0'}
"""
#: KEYS: failures, opened_at, trial. ARGV: threshold, ttl. Opens (again) at the threshold or after a failed trial.
_FAILURE = _NOW + """
local failures = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
local was_trial = redis.call('DEL', KEYS[3])
if was_trial == 1 or failures >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], tostring(now), 'EX', ARGV[2])
  return 1
end
return 0
"""
#: KEYS: failures, opened_at, trial. ARGV: cool_down_s.
_STATE = _NOW + """
local opened = redis.call('GET', KEYS[2])
if not opened then return 'closed' end
if now - tonumber(opened) < tonumber(ARGV[1]) then return 'open' end
return 'half_open'
"""
#: KEYS: bucket hash. ARGV: rate, capacity, ttl. Takes a token; returns the seconds to wait before using it.
_RESERVE = _NOW + """
local rate, capacity = tonumber(ARGV[1]), tonumber(ARGV[2])
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens') or ARGV[2])
local updated = tonumber(redis.call('HGET', KEYS[1], 'updated') or tostring(now))
tokens = math.min(capacity, tokens + (now - updated) * rate) - 1
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('EXPIRE', KEYS[1], ARGV[3])
if tokens >= 0 then return '0' end
return tostring(-tokens / rate)
"""
#: KEYS: bucket hash. ARGV: capacity.
_GIVE_BACK = """
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens') or ARGV[1])
redis.call('HSET', KEYS[1], 'tokens', tostring(math.min(tonumber(ARGV[1]), tokens + 1)))
return 1
"""


class RedisBreaker:
    """A circuit breaker whose state every process shares through Redis (same rules as ``CircuitBreaker``).

    While Redis cannot be reached, the process's own breaker for the agency stands in (logged): an outage of
    the shared store must not stop the calls it only coordinates.
    """

    def __init__(self, redis: Any, agency_id: str, *, failure_threshold: int = DEFAULT_BREAKER_FAILURE_THRESHOLD,
                 cool_down_s: float = DEFAULT_BREAKER_COOL_DOWN_S, fallback: Breaker | None = None) -> None:
        self._fallback = fallback or CircuitBreaker(agency_id, failure_threshold=failure_threshold,
                                                    cool_down_s=cool_down_s)
        self.agency_id = agency_id
        self.failure_threshold = failure_threshold
        self.cool_down_s = cool_down_s
        base = f"{KEY_PREFIX}:breaker:{agency_id}"
        self._keys = [f"{base}:failures", f"{base}:opened_at", f"{base}:trial"]
        self._admit = redis.register_script(_ADMIT)
        self._failure = redis.register_script(_FAILURE)
        self._state = redis.register_script(_STATE)
        self._redis = redis

    @property
    def state(self) -> BreakerState:
        try:
            value = self._state(keys=self._keys, args=[self.cool_down_s])
        except _REDIS_ERRORS as exc:
            _unreachable(exc)
            return self._fallback.state
        return BreakerState(value.decode() if isinstance(value, bytes) else str(value))

    def admit(self, operation: str, request_id: str | None) -> None:
        try:
            state, failures, wait = self._admit(keys=self._keys, args=[self.cool_down_s, BREAKER_TTL_S])
        except _REDIS_ERRORS as exc:
            _unreachable(exc)
            self._fallback.admit(operation, request_id)
            return
        if (state.decode() if isinstance(state, bytes) else state) in ("closed", "trial"):
            return
        raise AgencyUnavailable(
            f"circuit open after {int(failures)} consecutive transient failures (shared by every caller); "
            f"next trial in {float(wait):.1f} s", agency_id=self.agency_id, operation=operation,
            request_id=request_id)

    def record_success(self) -> None:
        self._fallback.record_success()
        try:
            self._redis.delete(*self._keys)
        except _REDIS_ERRORS as exc:
            _unreachable(exc)

    def record_failure(self) -> None:
        self._fallback.record_failure()
        try:
            self._failure(keys=self._keys, args=[self.failure_threshold, BREAKER_TTL_S])
        except _REDIS_ERRORS as exc:
            _unreachable(exc)


class RedisBucket:
    """A token bucket every process draws from through Redis: the agency's rate holds for the sum of callers."""

    def __init__(self, redis: Any, agency_id: str, rate_per_s: float, *, capacity: float | None = None) -> None:
        if rate_per_s <= 0:
            raise ValueError(f"rate_per_s must be positive, got {rate_per_s}")
        self._fallback = TokenBucket(rate_per_s, capacity=capacity)
        self.rate_per_s = rate_per_s
        self.capacity = capacity if capacity is not None else max(1.0, rate_per_s * DEFAULT_RATE_BURST_S)
        self._key = [f"{KEY_PREFIX}:bucket:{agency_id}"]
        self._reserve = redis.register_script(_RESERVE)
        self._give_back = redis.register_script(_GIVE_BACK)

    def reserve(self) -> float:
        try:
            return max(float(self._reserve(keys=self._key, args=[self.rate_per_s, self.capacity, BUCKET_TTL_S])), 0.0)
        except _REDIS_ERRORS as exc:
            _unreachable(exc)
            return self._fallback.reserve()

    def give_back(self) -> None:
        try:
            self._give_back(keys=self._key, args=[self.capacity])
        except _REDIS_ERRORS as exc:
            _unreachable(exc)
            self._fallback.give_back()


class RedisState:
    """Breakers and buckets kept in Redis, shared by every process and host that uses the same server."""

    def __init__(self, url: str) -> None:
        import redis as redis_client

        self._redis = redis_client.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)

    def breaker(self, agency_id: str) -> Breaker:
        return RedisBreaker(self._redis, agency_id, fallback=_in_process.breaker(agency_id))

    def bucket(self, agency_id: str, rate_per_s: float) -> Bucket:
        return RedisBucket(self._redis, agency_id, rate_per_s)


_in_process = InProcessState()
_redis_states: dict[str, RedisState] = {}
_redis_lock = threading.Lock()


def forget_in_process_state() -> None:
    """Start this process's breakers and buckets afresh (tests: one test's down agency is not the next one's)."""
    global _in_process
    _in_process = InProcessState()


def let_time_pass(seconds: float) -> None:
    """This process's open circuits see ``seconds`` more pass (the demo's simulated days: a night between two
    mornings ends every cool-down, as it would, though the days run a minute apart)."""
    with _in_process._lock:
        breakers = list(_in_process._breakers.values())
    for breaker in breakers:
        breaker.let_time_pass(seconds)


def shared_state(url: str | None = None) -> SharedState:
    """The state for ``url`` (``redis://…``), or the process's own without one."""
    if not url:
        return _in_process
    with _redis_lock:
        state = _redis_states.get(url)
        if state is None:
            state = _redis_states[url] = RedisState(url)
        return state


__all__ = ["Breaker", "Bucket", "InProcessState", "RedisBreaker", "RedisBucket", "RedisState", "SharedState",
           "forget_in_process_state", "let_time_pass", "shared_state"]
