"""What the warm pools lend to the native data plane, and the seam they lend through.

A pool that would put an environment back idle lends it instead, when the data plane takes it
(``Lender``: dataplane/native.py's ``NativePlane``) and the invocation that just ended was of an
eligible ``Lane``: its runtime waiting for an event on its one Runtime API connection (framed, or
HTTP/1.1 kept alive), without extensions, invoked by name and qualifier, by whoever invoked it
(not through an alias whose routing draws between versions). A lent
environment stays counted busy (its lease is kept), so reserved and account concurrency still
hold; the data plane runs the lane's warm invocations in it, a caller's Invoke and those Python
starts alike (``Lender.run``: a queued event, a trigger, a mapping's batch), and reports each one
back (``Environment.native_done``): an environment is lent once, not lent and taken back per
invocation.
The pool takes it back (``reclaim``) when the change stream says its function changed, when it has
been idle past the keep-alive or its credentials' time, when a Python-path invocation of its version
that the plane cannot run (another lane's) wants an idle environment, and at shutdown; an environment whose process ends while lent is taken
back at once, and so is one whose runtime opens another connection to its Runtime API (with the
invocation it runs, if any).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import NamedTuple, Protocol

from lamina.sandbox.environment import Environment
from lamina.sandbox.provider import Outcome


class Lane(NamedTuple):
    """Where the data plane serves a lent environment's invocations: the caller's cell, the
    function's name and the qualifier as invoked ("" for none)."""

    account: str
    region: str
    function: str
    qualifier: str


class Returns(Protocol):
    def returned(self, env: Environment) -> None:
        """``env`` is no longer lent (the data plane gave it back): release it as after an invocation."""
        ...


class Lender(Protocol):
    def lend(self, env: Environment, lane: Lane, arn: str, owner: Returns) -> bool:
        """Lend ``env`` (lendable) to ``lane``, its invocations invoked as ``arn``; False if the
        data plane does not take it (it stays the pool's)."""
        ...

    def run(self, lane: Lane, request_id: str, payload: bytes, arn: str,
            client_context: str | None) -> asyncio.Future[Outcome] | None:  # fmt: skip
        """Run an invocation in an idle environment lent to ``lane``, invoked as ``arn``: its outcome
        to come (``EnvironmentGone`` if its runtime exited before it took the event), or None when
        the lane has none idle."""
        ...

    def reclaim(self, env: Environment) -> None:
        """Take ``env`` back: an idle one now, a busy one once its invocation ends; ``owner.returned``
        follows once it is served here again."""
        ...

    def idle_for(self, env: Environment) -> float | None:
        """How long a lent ``env`` has been idle, in seconds (None: it runs an invocation)."""
        ...


class Lends(Protocol):
    def lend_through(self, lender: Lender) -> None: ...


class Lenders:
    """Every cell's pools, and the lender they lend through once the data plane runs (the host's)."""

    def __init__(self) -> None:
        self._pools: weakref.WeakSet[Lends] = weakref.WeakSet()
        self._lender: Lender | None = None

    def add(self, pool: Lends) -> None:
        self._pools.add(pool)
        if self._lender is not None:
            pool.lend_through(self._lender)

    def use(self, lender: Lender) -> None:
        self._lender = lender
        for pool in list(self._pools):
            pool.lend_through(lender)
