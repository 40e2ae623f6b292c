"""Pure decisions: placement, reaping, admission, billing, validation (plain values, fixed times)."""

from __future__ import annotations

import pytest

from lamina.control import validation as v
from lamina.errors import InvalidParameterValue, ValidationError
from lamina.metering.billing import billed_ms, gb_seconds
from lamina.scheduler.decisions import IdleView, admit, expired
from lamina.settings import Limits

IDLE = [IdleView("a", 10.0), IdleView("b", 30.0), IdleView("c", 50.0)]


def test_expired() -> None:
    assert expired(IDLE, now=40.0, keep_alive=10.0) == ["a", "b"]
    assert expired(IDLE, now=40.0, keep_alive=100.0) == []


def test_an_environment_past_its_retirement_expires_however_recently_used() -> None:
    views = [IdleView("old", 39.0, retire_at=35.0), IdleView("young", 39.0, retire_at=45.0), IdleView("plain", 39.0)]
    assert expired(views, now=40.0, keep_alive=100.0) == ["old"]


def test_admit() -> None:
    assert admit(0, 1)
    assert not admit(1, 1)


@pytest.mark.parametrize(("duration", "billed"), [(0.0, 1), (0.2, 1), (1.0, 1), (1.01, 2), (999.5, 1000)])
def test_billed_duration_rounds_up_to_the_millisecond(duration: float, billed: int) -> None:
    assert billed_ms(duration) == billed


def test_gb_seconds() -> None:
    assert gb_seconds(1000, 1024) == 1.0
    assert gb_seconds(500, 128) == pytest.approx(0.0625)


def test_identifiers() -> None:
    assert v.function_identifier("f") == ("f", None)
    assert v.function_identifier("f:$LATEST") == ("f", "$LATEST")
    assert v.function_identifier("arn:aws:lambda:us-east-1:123456789012:function:f:prod") == ("f", "prod")
    assert v.function_identifier("123456789012:function:f") == ("f", None)
    with pytest.raises(ValidationError):
        v.function_identifier("has space")
    assert v.function_identifier("x" * 65) == ("x" * 65, None)  # the model allows it; no function has it
    with pytest.raises(ValidationError):
        v.function_identifier("x" * 141)


def test_numeric_limits() -> None:
    limits = Limits()
    assert v.memory_size(128, limits) == 128
    for bad in (127, 10241):
        with pytest.raises(ValidationError):
            v.memory_size(bad, limits)
    with pytest.raises(InvalidParameterValue):
        v.timeout("3", limits)
    with pytest.raises(InvalidParameterValue):
        v.timeout(True, limits)


def test_environment_variables() -> None:
    assert v.environment({"Variables": {"KEY_1": "v"}}) == {"KEY_1": "v"}
    with pytest.raises(InvalidParameterValue, match="AWS_REGION"):
        v.environment({"Variables": {"AWS_REGION": "x"}})
    with pytest.raises(ValidationError):
        v.environment({"Variables": {"1BAD": "x"}})
    with pytest.raises(InvalidParameterValue, match="4KB"):
        v.environment({"Variables": {"BIG": "x" * 4096}})


def test_scale_up_rate() -> None:
    from lamina.scheduler.decisions import scale_up_wait

    assert scale_up_wait([], now=100.0, limit=2, window=10.0) == 0.0
    assert scale_up_wait([95.0], now=100.0, limit=2, window=10.0) == 0.0
    # Two starts in the window: the next may start when the older leaves it.
    assert scale_up_wait([95.0, 99.0], now=100.0, limit=2, window=10.0) == pytest.approx(5.0)
    # Starts older than the window no longer count.
    assert scale_up_wait([80.0, 85.0, 99.0], now=100.0, limit=2, window=10.0) == 0.0
