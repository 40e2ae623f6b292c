"""Concurrency's pure decisions: admission, the account's unreserved pool, the checks of reserved and
provisioned concurrency, provisioned environments to start and stop, and a configuration's status."""

from __future__ import annotations

from lamina.control.concurrency import (
    BELOW_MINIMUM,
    OVER_RESERVED,
    listing_order,
    provisioned_error,
    provisioned_status,
    reservation_error,
)
from lamina.scheduler.decisions import (
    ACCOUNT_LIMIT,
    RESERVED_LIMIT,
    FunctionLimits,
    keeps_provisioned,
    on_demand_throttle,
    provisioning,
    unreserved_concurrency,
)


def test_unreserved_concurrency_is_what_reservations_and_unreserved_provisioning_leave() -> None:
    assert unreserved_concurrency(1000, [], 0) == 1000
    assert unreserved_concurrency(1000, [100, 50], 0) == 850
    # Provisioned concurrency of functions without a reservation comes out of the pool too.
    assert unreserved_concurrency(1000, [100], 25) == 875
    assert unreserved_concurrency(10, [20], 0) == 0  # never negative (the account's limit was lowered)


def test_a_reservation_is_a_cap_on_the_function() -> None:
    limits = FunctionLimits(reserved=2, provisioned=0, unreserved=998)
    assert on_demand_throttle(limits, function_in_use=0, unreserved_in_use=0) is None
    assert on_demand_throttle(limits, function_in_use=1, unreserved_in_use=0) is None
    assert on_demand_throttle(limits, function_in_use=2, unreserved_in_use=0) == RESERVED_LIMIT
    # ...whatever the unreserved pool is doing: its reservation is its own.
    assert on_demand_throttle(limits, function_in_use=1, unreserved_in_use=998) is None


def test_a_reservation_of_zero_throttles_every_invocation() -> None:
    assert on_demand_throttle(FunctionLimits(0, 0, 1000), 0, 0) == RESERVED_LIMIT


def test_provisioned_concurrency_takes_its_share_of_the_reservation() -> None:
    # Reserved 5 with 3 provisioned: on demand, at most 2 more (the provisioned environments run the rest).
    limits = FunctionLimits(reserved=5, provisioned=3, unreserved=995)
    assert on_demand_throttle(limits, 1, 0) is None
    assert on_demand_throttle(limits, 2, 0) == RESERVED_LIMIT
    # All of it provisioned: every invocation runs on a provisioned environment, or is throttled.
    assert on_demand_throttle(FunctionLimits(3, 3, 997), 0, 0) == RESERVED_LIMIT


def test_functions_without_a_reservation_share_the_unreserved_pool() -> None:
    limits = FunctionLimits(reserved=None, provisioned=0, unreserved=100)
    assert on_demand_throttle(limits, function_in_use=0, unreserved_in_use=99) is None
    # The others' invocations count: the pool is shared.
    assert on_demand_throttle(limits, function_in_use=0, unreserved_in_use=100) == ACCOUNT_LIMIT
    assert on_demand_throttle(FunctionLimits(None, 0, 0), 0, 0) == ACCOUNT_LIMIT


def test_reservations_keep_100_unreserved() -> None:
    # Account 1000, nothing reserved: 900 may be reserved, 901 may not.
    assert reservation_error(900, 0, unreserved_now=1000, unreserved_after=100) is None
    assert reservation_error(901, 0, unreserved_now=1000, unreserved_after=99) == BELOW_MINIMUM
    assert reservation_error(0, 0, unreserved_now=1000, unreserved_after=1000) is None
    # An account already below the minimum (its limit lowered) may still lower or drop reservations.
    assert reservation_error(1, 0, unreserved_now=50, unreserved_after=52) is None
    assert reservation_error(5, 0, unreserved_now=50, unreserved_after=48) == BELOW_MINIMUM


def test_a_reservation_covers_the_functions_provisioned_concurrency() -> None:
    assert reservation_error(3, 3, 1000, 997) is None
    assert reservation_error(2, 3, 1000, 998) == (
        "ReservedConcurrentExecutions 2 should not be lower than function's total provisioned concurrency [3]."
    )


def test_provisioned_concurrency_fits_the_reservation_or_the_unreserved_pool() -> None:
    # With a reservation: every version's and alias's provisioned concurrency together fits in it.
    assert provisioned_error(3, other_provisioned=2, reserved=5, unreserved_now=995, unreserved_after=995) is None
    over = provisioned_error(4, other_provisioned=2, reserved=5, unreserved_now=995, unreserved_after=995)
    assert over == OVER_RESERVED
    # Without: out of the unreserved pool, which keeps 100.
    assert provisioned_error(900, 0, None, unreserved_now=1000, unreserved_after=100) is None
    assert provisioned_error(901, 0, None, unreserved_now=1000, unreserved_after=99) == BELOW_MINIMUM


def test_provisioning_starts_what_is_missing_a_few_at_a_time() -> None:
    assert provisioning(3, starting=0, idle=[], busy=0, failed=False, max_starting=4) == (3, [])
    assert provisioning(10, starting=0, idle=[], busy=0, failed=False, max_starting=4) == (4, [])
    assert provisioning(10, starting=4, idle=["a"], busy=0, failed=False, max_starting=4) == (0, [])
    assert provisioning(10, starting=1, idle=["a"], busy=2, failed=False, max_starting=4) == (3, [])
    assert provisioning(2, starting=1, idle=["a"], busy=0, failed=False, max_starting=4) == (0, [])
    # After an initialisation failed, nothing more starts (until the configuration changes).
    assert provisioning(3, starting=0, idle=["a"], busy=0, failed=True, max_starting=4) == (0, [])


def test_provisioning_stops_surplus_idle_environments_first() -> None:
    assert provisioning(1, starting=0, idle=["a", "b", "c"], busy=0, failed=False, max_starting=4) == (0, ["a", "b"])
    assert provisioning(1, starting=0, idle=["a", "b"], busy=1, failed=False, max_starting=4) == (0, ["a", "b"])
    assert provisioning(0, starting=1, idle=["a"], busy=1, failed=False, max_starting=4) == (0, ["a"])
    # Busy ones finish their invocation; then keeps_provisioned decides.
    assert provisioning(1, starting=0, idle=[], busy=2, failed=False, max_starting=4) == (0, [])
    assert keeps_provisioned(wanted=1, others=1) is False
    assert keeps_provisioned(wanted=2, others=1) is True
    assert keeps_provisioned(wanted=0, others=0) is False


def test_status_of_a_configuration() -> None:
    assert provisioned_status(2, ready=0, failure=None).status == "IN_PROGRESS"
    assert provisioned_status(2, ready=1, failure=None).allocated == 1
    ready = provisioned_status(2, ready=2, failure=None)
    assert (ready.status, ready.allocated, ready.available, ready.reason) == ("READY", 2, 2, None)
    assert provisioned_status(2, ready=3, failure=None).allocated == 2  # never more than requested
    failed = provisioned_status(2, ready=1, failure="FUNCTION_ERROR_INIT_FAILURE")
    assert (failed.status, failed.reason) == ("FAILED", "FUNCTION_ERROR_INIT_FAILURE")


def test_configurations_are_listed_versions_first() -> None:
    assert sorted(["live", "10", "2", "beta"], key=listing_order) == ["2", "10", "beta", "live"]
