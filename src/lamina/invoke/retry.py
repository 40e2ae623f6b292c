"""What happens to an asynchronous event next: pure decisions from its attempts, its timestamps,
the function's event-invoke configuration and ``now`` (epoch milliseconds). No I/O, no clock.

- Before each attempt, an event older than its maximum age is abandoned (``EventAgeExceeded``).
- After a function error, it is retried after ``retry_delays[attempt]`` (AWS: about 1 then 2
  minutes) until ``MaximumRetryAttempts`` retries are used (``RetriesExhausted``); a retry that
  would come after the maximum age is not waited for (``EventAgeExceeded`` at once).
- A throttled attempt is not a retry: the function waits with exponential backoff (from
  ``throttle_base`` up to ``throttle_cap`` seconds) as long as its age allows.
"""

from __future__ import annotations

from dataclasses import dataclass

from lamina.model import EventInvokeConfig

DEFAULT_RETRIES = 2
DEFAULT_MAX_AGE_SECONDS = 6 * 60 * 60
AWS_RETRY_DELAYS = (60.0, 120.0)

SUCCESS = "Success"
RETRIES_EXHAUSTED = "RetriesExhausted"
EVENT_AGE_EXCEEDED = "EventAgeExceeded"


@dataclass(frozen=True)
class Policy:
    max_retries: int = DEFAULT_RETRIES
    max_age_ms: int = DEFAULT_MAX_AGE_SECONDS * 1000
    retry_delays: tuple[float, ...] = AWS_RETRY_DELAYS  # seconds before retry 1, 2, ...
    throttle_base: float = 1.0
    throttle_cap: float = 300.0


def policy_for(
    config: EventInvokeConfig | None, retry_delays: tuple[float, ...] = AWS_RETRY_DELAYS,
    throttle_base: float = 1.0, throttle_cap: float = 300.0,
) -> Policy:  # fmt: skip
    """The policy a configuration (None: Lambda's defaults) asks for."""
    retries = DEFAULT_RETRIES if config is None or config.maximum_retry_attempts is None \
        else config.maximum_retry_attempts  # fmt: skip
    age = DEFAULT_MAX_AGE_SECONDS if config is None or config.maximum_event_age_seconds is None \
        else config.maximum_event_age_seconds  # fmt: skip
    return Policy(retries, age * 1000, retry_delays or AWS_RETRY_DELAYS, throttle_base, throttle_cap)


@dataclass(frozen=True)
class Retry:
    at_ms: int


@dataclass(frozen=True)
class GiveUp:
    condition: str  # RETRIES_EXHAUSTED or EVENT_AGE_EXCEEDED


def expired(enqueued_ms: int, now_ms: int, policy: Policy) -> bool:
    """Whether an event accepted at ``enqueued_ms`` is too old to be attempted at ``now_ms``."""
    return now_ms - enqueued_ms > policy.max_age_ms


def retry_delay(retry: int, policy: Policy) -> float:
    """Seconds before retry number ``retry`` (1-based); the last configured delay repeats."""
    return policy.retry_delays[min(retry, len(policy.retry_delays)) - 1]


def after_failure(attempts: int, enqueued_ms: int, now_ms: int, policy: Policy) -> Retry | GiveUp:
    """After the ``attempts``-th attempt failed with a function error: retry when, or give up why."""
    if attempts > policy.max_retries:
        return GiveUp(RETRIES_EXHAUSTED)
    at = now_ms + round(retry_delay(attempts, policy) * 1000)
    if expired(enqueued_ms, at, policy):
        return GiveUp(EVENT_AGE_EXCEEDED)
    return Retry(at)


def after_throttle(throttles: int, enqueued_ms: int, now_ms: int, policy: Policy) -> Retry | GiveUp:
    """After the ``throttles``-th throttle in a row: try again when (backoff), or give up (too old)."""
    delay = min(policy.throttle_cap, policy.throttle_base * 2 ** min(max(throttles - 1, 0), 30))
    at = now_ms + round(delay * 1000)
    if expired(enqueued_ms, at, policy):
        return GiveUp(EVENT_AGE_EXCEEDED)
    return Retry(at)
