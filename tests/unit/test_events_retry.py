"""EventBridge's delivery retries as pure decisions of plain values."""

from __future__ import annotations

from lamina.events import retry
from lamina.events.model import RetryPolicy

BACKOFF = retry.Backoff(base=1.0, cap=300.0)
HOUR_MS = 3600 * 1000


def test_a_failure_retrying_cannot_change_goes_to_the_dead_letter_queue_at_once() -> None:
    assert retry.after_failure(1, False, 0, 0, RetryPolicy(), BACKOFF, 0.5) == retry.GiveUp(retry.MAX_ATTEMPTS)


def test_throttles_are_retried_with_growing_jittered_backoff_up_to_the_cap() -> None:
    assert retry.after_failure(1, True, 0, 1000, RetryPolicy(), BACKOFF, 0.5) == retry.Retry(1500)
    assert retry.after_failure(4, True, 0, 1000, RetryPolicy(), BACKOFF, 0.5) == retry.Retry(5000)
    assert retry.delay(30, BACKOFF, 0.999) <= 300.0
    assert retry.delay(30, BACKOFF, 0.999) > 299.0
    assert retry.delay(1, BACKOFF, 0.0) == 0.1  # never at once


def test_retries_stop_at_maximum_retry_attempts() -> None:
    policy = RetryPolicy(maximum_retry_attempts=2, maximum_event_age_seconds=86400)
    assert isinstance(retry.after_failure(2, True, 0, 0, policy, BACKOFF, 0.5), retry.Retry)
    assert retry.after_failure(3, True, 0, 0, policy, BACKOFF, 0.5) == retry.GiveUp(retry.MAX_ATTEMPTS)
    zero = RetryPolicy(maximum_retry_attempts=0)
    assert retry.after_failure(1, True, 0, 0, zero, BACKOFF, 0.5) == retry.GiveUp(retry.MAX_ATTEMPTS)


def test_a_retry_that_would_come_after_the_maximum_age_is_not_waited_for() -> None:
    policy = RetryPolicy(maximum_retry_attempts=185, maximum_event_age_seconds=3600)
    assert retry.after_failure(1, True, 0, HOUR_MS - 400, policy, BACKOFF, 0.5) == retry.GiveUp(retry.MAX_AGE)
    assert retry.after_failure(1, True, 0, HOUR_MS - 600, policy, BACKOFF, 0.5) == retry.Retry(HOUR_MS - 100)
    assert retry.expired(0, HOUR_MS + 1, policy) and not retry.expired(0, HOUR_MS, policy)


def test_defaults_are_eventbridges() -> None:
    assert RetryPolicy() == RetryPolicy(maximum_retry_attempts=185, maximum_event_age_seconds=86400)
