"""The per-function quota of the asynchronous queue, with plain values."""

from __future__ import annotations

from lamina.errors import TooManyRequests
from lamina.invoke.quota import QUEUE_FULL_REASON, Quota, Usage, refusal
from lamina.settings import MB, Settings

QUOTA = Quota(events=3, bytes=100)


def test_events_are_accepted_up_to_both_limits() -> None:
    assert refusal("f", Usage(), 100, QUOTA) is None  # exactly the byte quota
    assert refusal("f", Usage(2, 60), 40, QUOTA) is None  # the third event, to the byte
    assert refusal("f", Usage(3, 3), 1, QUOTA) is not None  # a fourth event, however small
    assert refusal("f", Usage(1, 60), 41, QUOTA) is not None  # one byte over
    assert refusal("f", Usage(), 101, QUOTA) is not None  # larger than the quota on its own


def test_the_refusal_is_aws_throttle_error_with_a_reason() -> None:
    error = refusal("my-fn", Usage(3, 30), 1, QUOTA)
    assert isinstance(error, TooManyRequests)
    assert (error.status, error.code, error.reason) == (429, "TooManyRequestsException", QUEUE_FULL_REASON)
    assert error.body()["Reason"] == "FunctionInvocationRateLimitExceeded"
    assert "my-fn" in error.message and "3 events" in error.message


def test_usage_counts_events_and_bytes_both_ways() -> None:
    usage = Usage().plus(10).plus(5)
    assert usage == Usage(2, 15)
    assert usage.minus(10) == Usage(1, 5)


def test_settings_read_the_quota_from_the_environment() -> None:
    defaults = Settings.from_env({})
    assert (defaults.async_queue_events, defaults.async_queue_bytes) == (100_000, 1024 * MB)
    configured = Settings.from_env({"LAMINA_ASYNC_QUEUE_EVENTS": "7", "LAMINA_ASYNC_QUEUE_BYTES": "2048"})
    assert (configured.async_queue_events, configured.async_queue_bytes) == (7, 2048)
