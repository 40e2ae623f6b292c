"""What happens to a failed delivery to a rule's target next: pure decisions from its attempts, the
event's age, the target's RetryPolicy and ``now`` (epoch milliseconds). No I/O, no clock, no
randomness of its own (the jitter is passed in).

- A delivery that failed for a reason retrying cannot change (the target does not exist:
  ``NO_RESOURCE``; a request the target refuses) is not retried: it goes to the dead-letter queue at
  once, as EventBridge documents.
- A retriable failure (the function throttled, a fault of the service) is retried with exponential backoff and full
  jitter, from ``base`` seconds doubling up to ``cap``, until ``MaximumRetryAttempts`` retries are
  used (``MaximumRetryAttempts``) or the next try would come after ``MaximumEventAgeInSeconds``
  (``MaximumEventAgeInSeconds``): the exhausted condition a dead letter's attributes name.
"""

from __future__ import annotations

from dataclasses import dataclass

from lamina.events.model import RetryPolicy

NO_RESOURCE = "NO_RESOURCE"
THROTTLING = "THROTTLING"
MAX_ATTEMPTS = "MaximumRetryAttempts"
MAX_AGE = "MaximumEventAgeInSeconds"


@dataclass(frozen=True)
class Backoff:
    base: float = 1.0  # seconds before the first retry, at most
    cap: float = 300.0  # the longest wait between two tries


@dataclass(frozen=True)
class Retry:
    at_ms: int


@dataclass(frozen=True)
class GiveUp:
    condition: str  # MAX_ATTEMPTS or MAX_AGE


def expired(created_ms: int, now_ms: int, policy: RetryPolicy) -> bool:
    return now_ms - created_ms > policy.maximum_event_age_seconds * 1000


def delay(retry: int, backoff: Backoff, jitter: float) -> float:
    """Seconds before retry number ``retry`` (1-based): full jitter (``jitter`` in [0, 1)) over an
    exponentially growing window, never less than a tenth of ``base``."""
    window: float = min(backoff.cap, backoff.base * 2.0 ** min(retry - 1, 30))
    return float(max(backoff.base / 10, window * jitter))


def after_failure(
    attempts: int, retriable: bool, created_ms: int, now_ms: int, policy: RetryPolicy, backoff: Backoff,
    jitter: float,
) -> Retry | GiveUp:  # fmt: skip
    """After the ``attempts``-th try failed (``retriable`` or not): retry when, or give up why."""
    if not retriable or attempts > policy.maximum_retry_attempts:
        return GiveUp(MAX_ATTEMPTS)
    at = now_ms + round(delay(attempts, backoff, jitter) * 1000)
    if expired(created_ms, at, policy):
        return GiveUp(MAX_AGE)
    return Retry(at)
