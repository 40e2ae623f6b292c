"""The asynchronous retry policy, with fixed times."""

from __future__ import annotations

from lamina.invoke.retry import (
    EVENT_AGE_EXCEEDED,
    RETRIES_EXHAUSTED,
    GiveUp,
    Policy,
    Retry,
    after_failure,
    after_throttle,
    expired,
    policy_for,
)
from lamina.model import EventInvokeConfig

T0 = 1_700_000_000_000


def test_defaults_are_lambdas() -> None:
    policy = policy_for(None)
    assert policy.max_retries == 2
    assert policy.max_age_ms == 6 * 3600 * 1000
    assert policy.retry_delays == (60.0, 120.0)
    config = EventInvokeConfig("f", "$LATEST", maximum_retry_attempts=0, maximum_event_age_seconds=60)
    assert (policy_for(config).max_retries, policy_for(config).max_age_ms) == (0, 60_000)
    partial = EventInvokeConfig("f", "$LATEST", maximum_retry_attempts=1)
    assert (policy_for(partial).max_retries, policy_for(partial).max_age_ms) == (1, 6 * 3600 * 1000)


def test_retries_follow_the_delays_then_are_exhausted() -> None:
    policy = Policy(max_retries=2, retry_delays=(60.0, 120.0))
    assert after_failure(1, T0, T0 + 5_000, policy) == Retry(T0 + 65_000)
    assert after_failure(2, T0, T0 + 70_000, policy) == Retry(T0 + 190_000)
    assert after_failure(3, T0, T0 + 200_000, policy) == GiveUp(RETRIES_EXHAUSTED)


def test_zero_retries_gives_up_after_the_first_failure() -> None:
    assert after_failure(1, T0, T0, Policy(max_retries=0)) == GiveUp(RETRIES_EXHAUSTED)


def test_one_retry_and_the_last_delay_repeats() -> None:
    policy = Policy(max_retries=1, retry_delays=(0.5,))
    assert after_failure(1, T0, T0, policy) == Retry(T0 + 500)
    assert after_failure(2, T0, T0, policy) == GiveUp(RETRIES_EXHAUSTED)
    many = Policy(max_retries=2, retry_delays=(0.5,))
    assert after_failure(2, T0, T0, many) == Retry(T0 + 500)


def test_a_retry_past_the_maximum_age_is_not_waited_for() -> None:
    policy = Policy(max_retries=2, max_age_ms=60_000, retry_delays=(60.0, 120.0))
    assert after_failure(1, T0, T0 + 1, policy) == GiveUp(EVENT_AGE_EXCEEDED)
    assert after_failure(1, T0, T0, policy) == Retry(T0 + 60_000)  # exactly at the age is still in time


def test_expiry() -> None:
    policy = Policy(max_age_ms=60_000)
    assert not expired(T0, T0 + 60_000, policy)
    assert expired(T0, T0 + 60_001, policy)


def test_throttles_back_off_exponentially_up_to_the_cap_and_the_age() -> None:
    policy = Policy(throttle_base=1.0, throttle_cap=300.0)
    assert after_throttle(1, T0, T0, policy) == Retry(T0 + 1_000)
    assert after_throttle(2, T0, T0, policy) == Retry(T0 + 2_000)
    assert after_throttle(5, T0, T0, policy) == Retry(T0 + 16_000)
    assert after_throttle(40, T0, T0, policy) == Retry(T0 + 300_000)
    young = Policy(max_age_ms=60_000, throttle_base=1.0)
    assert after_throttle(7, T0, T0, young) == GiveUp(EVENT_AGE_EXCEEDED)  # 64 s would be too late
