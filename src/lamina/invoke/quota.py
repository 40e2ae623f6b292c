"""How much of the asynchronous queue one function may fill: a pure decision, tested with plain values.

Events wait on disk, but each still costs the host disk space and the queue a little memory for
scheduling, and a function can send events to itself or another in a loop. So each function may
have at most ``Quota.events`` events, and ``Quota.bytes`` bytes of content, stored at once (waiting
or being attempted); an ``Invoke`` that would pass either is refused and nothing is stored.

Only new invocations are refused. What the queue itself writes for an event it accepted earlier
(an invocation record for a destination function) is stored whatever the destination's quota says,
so that nothing accepted is lost; a retry keeps its event's place and is never counted twice.

AWS does not publish a limit of its own queue, or an error for it: ``Invoke`` documents
``TooManyRequestsException`` (429) for limit errors (aws/docs/API_Invoke.md), and "If Lambda isn't
able to add the event to the queue, the error message appears in the command output"
(aws/docs/invocation-async.md). Of botocore's ``ThrottleReason`` values the one about a single
function's volume, not its concurrency or the caller, is ``FunctionInvocationRateLimitExceeded``:
the function is invoked faster than it works its events off. SDKs retry that error with backoff,
which is what a caller of a full queue should do.
"""

from __future__ import annotations

from dataclasses import dataclass

from lamina.errors import TooManyRequests

QUEUE_FULL_REASON = "FunctionInvocationRateLimitExceeded"


@dataclass(frozen=True)
class Quota:
    events: int  # events stored at once, per function
    bytes: int  # bytes of content (payload and client context) stored at once, per function


@dataclass(frozen=True)
class Usage:
    """What one function has in the queue."""

    events: int = 0
    bytes: int = 0

    def plus(self, size: int) -> Usage:
        return Usage(self.events + 1, self.bytes + size)

    def minus(self, size: int) -> Usage:
        return Usage(self.events - 1, self.bytes - size)


def refusal(function: str, usage: Usage, size: int, quota: Quota) -> TooManyRequests | None:
    """The error that refuses a new event of ``size`` bytes for ``function``, or None to accept it."""
    if usage.events < quota.events and usage.bytes + size <= quota.bytes:
        return None
    return TooManyRequests(
        f"The asynchronous event queue of function {function} is full: {usage.events} events "
        f"({usage.bytes} bytes) are waiting; the quota is {quota.events} events and {quota.bytes} bytes.",
        reason=QUEUE_FULL_REASON,
    )
