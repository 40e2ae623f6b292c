"""The native data plane's Python side (``lamina_native.DataPlane``; docs/architecture.md, "The two planes").

The plane (native/src/plane/) owns the public listener; ``NativePlane`` is everything Python does
for it, on the event loop:

- it takes the plane's events in batches whenever its wake pipe is readable: a connection handed
  over (``conn``: adopted by the front door with the bytes read so far, for good); a miss
  (``miss``: a plain Invoke answered by the front door's own code, ``FrontDoor.answer``, whose
  bytes the plane writes); a completion (``done``: an invocation the plane ran and answered,
  whose bookkeeping is the environment's, ``Environment.native_done``; ``ran``: one Python
  started, ``run``, whose outcome goes to the future it awaits); an invocation given back
  (``back``: its time was up, its runtime's connection ended, something the plane does not read
  came: the environment ends it, ``Environment.resume``, and the answer goes back to the plane, or
  the outcome to the future of an invocation Python started);
- it is the pools' ``Lender`` (scheduler/lending.py): environments are lent to it, taken back
  (at once, with their invocation, when their runtime opens another connection), asked how long
  they have been idle, and handed the invocations Python starts for a lane with an idle one
  (``run``: a queued event, a trigger, a mapping's batch, a miss) instead of being taken back;
- it grants permits (``Grant``) for callers the front door allowed on a miss, renews those in
  use by deciding again (``renew``: the key still known and unexpired, IAM still allowing), and
  revokes them all when told to (dataplane/permits.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Awaitable

from lamina import ids
from lamina.api.errors import error_parts
from lamina.api.invoke import result_headers
from lamina.dataplane import head, wire
from lamina.dataplane.frontdoor import FrontDoor
from lamina.dataplane.handovers import Handovers
from lamina.dataplane.permits import PERMIT_SECONDS
from lamina.errors import ServiceError
from lamina.iam.context import transport_keys
from lamina.identity.principals import Caller
from lamina.invoke.service import InvokeResult
from lamina.sandbox.environment import RUNTIME_TURNAROUND_S, Environment
from lamina.sandbox.provider import EnvironmentGone, EnvState, Outcome
from lamina.scheduler.lending import Lane, Returns
from lamina.settings import Settings

log = logging.getLogger(__name__)
Returned = tuple[int, bytes, bool]  # an environment given back: its connection's descriptor, unread bytes, whether it waits

# The output a native invocation may print before its environment goes back to Python (which then
# reads its pipe itself, within the log's budget).
OUTPUT_CAP = 1024 * 1024
# How often the idle lent environments are looked at for a runtime that is ending (``_sweep``).
SWEEP_SECONDS = 0.25

try:
    import lamina_native
except ImportError:  # built only when cargo was on PATH: Lamina works without it
    lamina_native = None  # type: ignore[assignment]


def available() -> bool:
    """Whether the native module has a data plane (it is built, and recent enough)."""
    return lamina_native is not None and hasattr(lamina_native, "DataPlane")


@dataclass
class _Lent:
    env: Environment
    arn: str
    owner: Returns


class NativePlane:
    """The plane, started on the listening socket ``listener`` (which stays Python's to close)."""

    def __init__(self, listener: socket.socket, door: FrontDoor, settings: Settings, server: str) -> None:
        assert lamina_native is not None
        self._door = door
        self._settings = settings
        self._loop = asyncio.get_running_loop()
        limits = settings.limits
        self._plane = lamina_native.DataPlane(
            listener.fileno(), region=settings.region, verify=settings.verify_signatures,
            payload_limit=limits.sync_payload_bytes, max_response=limits.sync_response_bytes,
            header_timeout=settings.header_timeout_seconds, body_timeout=settings.body_timeout_seconds,
            turnaround=RUNTIME_TURNAROUND_S, output_cap=OUTPUT_CAP, server=server,
        )  # fmt: skip
        self._next_id = 0
        self._lent: dict[int, _Lent] = {}
        self._ids: dict[str, int] = {}  # environment id -> the plane's
        self._runs: dict[int, tuple[asyncio.Future[Outcome], str]] = {}  # run()'s token -> its outcome, ARN
        self._completed: dict[int, int] = {}  # the plane's id -> completions taken of invocations it started there
        # Taken back idle before the completion of its last invocation was taken: handed back to its
        # pool only once it is (its bookkeeping first; nothing may run there before).
        self._deferred: dict[int, Returned] = {}
        self._handovers = Handovers()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._stopped = False
        self._loop.add_reader(self._plane.fileno(), self._wake)
        self._sweeping = self._loop.call_later(SWEEP_SECONDS, self._sweep)
        door.give_back = self._adopt_back

    def _adopt_back(self, fd: int) -> None:
        try:
            self._plane.adopt(fd)
        except OSError:
            os.close(fd)

    def counts(self) -> dict[str, int]:
        served, missed, handed_over, given_back, in_flight, taken_back, lent, reclaimed, ran = self._plane.counts()
        return {"served": served, "missed": missed, "handedOver": handed_over, "givenBack": given_back,
                "inFlight": in_flight, "takenBack": taken_back, "lent": lent, "reclaimed": reclaimed,
                "ran": ran}  # fmt: skip

    # -- scheduler/lending.py's Lender -----------------------------------------------------

    def lend(self, env: Environment, lane: Lane, arn: str, owner: Returns) -> bool:
        if self._closing:
            return False
        self._next_id += 1
        plane_id = self._next_id
        sock_fd, pipe_fd, http = env.lend(lambda: self.reclaim(env, now=True))
        self._lent[plane_id] = _Lent(env, arn, owner)
        self._ids[env.id] = plane_id
        lane_parts = (lane.account, lane.region, lane.function, lane.qualifier)
        retire_in = None if env.retire_at is None else env.retire_at - time.monotonic()
        try:
            self._plane.lend(plane_id, lane_parts, sock_fd, pipe_fd, arn=arn, version=env.fn.version,
                             timeout=env.fn.timeout_s, sampled=env.fn.tracing_mode == "Active",
                             retire_in=retire_in, http=http)  # fmt: skip
        except ValueError:  # closing: the connection is still this side's
            self._take_back(plane_id, (sock_fd, b"", True))
        except OSError as exc:  # the plane closed the connection: the environment is done for
            log.warning("environment %s could not be lent to the data plane: %s", env.id, exc)
            self._take_back(plane_id, (-1, b"", False))
        return True

    def run(self, lane: Lane, request_id: str, payload: bytes, arn: str,
            client_context: str | None) -> asyncio.Future[Outcome] | None:  # fmt: skip
        """Run an invocation Python started in an idle environment lent to ``lane`` (``Lender.run``):
        its outcome, once the plane's completion (or the invocation given back) comes; None if the
        lane has no idle environment."""
        if self._closing:
            return None
        lane_parts = (lane.account, lane.region, lane.function, lane.qualifier)
        context = client_context.encode() if client_context is not None else None
        token = self._plane.run(lane_parts, request_id, payload, arn=arn, client_context=context)
        if token is None:
            return None
        outcome: asyncio.Future[Outcome] = self._loop.create_future()
        self._runs[token] = (outcome, arn)
        return outcome

    def reclaim(self, env: Environment, *, now: bool = False) -> None:
        """Take ``env`` back (``Lender.reclaim``); ``now``: a busy one at once, its invocation with it."""
        plane_id = self._ids.get(env.id)
        if plane_id is None:
            return
        if self._stopped:  # the plane's thread has ended: what it held goes with it
            self._take_back(plane_id, (-1, b"", False))
            return
        back = self._plane.reclaim(plane_id, now=now)
        if back is None:
            return
        fd, data, waiting, started = back
        if self._completed.get(plane_id, 0) < started:
            self._deferred[plane_id] = (fd, data, waiting)  # its last completion is on its way
        else:
            self._take_back(plane_id, (fd, data, waiting))

    def _sweep(self) -> None:
        """Take back the idle lent environments whose runtime is ending or broken: Python sees their
        connection end and their process exit, and stops them (the plane reads an idle connection
        only when it hands it an event)."""
        for plane_id in self._plane.unsettled():
            lent = self._lent.get(plane_id)
            if lent is not None:
                self.reclaim(lent.env)
        if not self._closing:
            self._sweeping = self._loop.call_later(SWEEP_SECONDS, self._sweep)

    def idle_for(self, env: Environment) -> float | None:
        plane_id = self._ids.get(env.id)
        return self._plane.idle_for(plane_id) if plane_id is not None else None

    def _take_back(self, plane_id: int, returned: Returned, *, dead: bool = False) -> None:
        self._completed.pop(plane_id, None)
        self._deferred.pop(plane_id, None)
        lent = self._lent.pop(plane_id, None)
        if lent is None:
            return
        self._ids.pop(lent.env.id, None)
        fd, data, waiting = returned

        async def take_back() -> None:
            if fd >= 0:
                await lent.env.take_back(socket.socket(fileno=fd), data, waiting=waiting)
            if dead or fd < 0:
                lent.env.state = EnvState.DEAD
            lent.owner.returned(lent.env)

        self._spawn(take_back())

    # -- frontdoor.Grant -------------------------------------------------------------------

    def epoch(self) -> int:
        return self._plane.epoch()

    def allowed(self, request: head.FastInvoke, caller: Caller | None, epoch: int, peer: str) -> None:
        """A permit for ``caller``'s lane, from ``peer``: invocations of the function by its plain
        name and the qualifier as invoked, in the caller's own cell."""
        if ":" not in request.function:  # by ARN: maybe another account's, which its resource policy decides
            self._grant(request.function, request.qualifier or "", caller, epoch, peer)

    def _grant(self, function: str, qualifier: str, caller: Caller | None, epoch: int, peer: str) -> None:
        if caller is None:
            s = self._settings
            lane = (s.account_id, s.region, function, qualifier)
            self._plane.permit(peer, "", s.region, function, qualifier, lane, secret="", token=None,
                               key_expires=None, ttl=PERMIT_SECONDS, epoch=epoch)  # fmt: skip
            return
        key = caller.key
        lane = (caller.account_id, caller.region, function, qualifier)
        expires = key.expires_at.timestamp() if key.expires_at is not None else None
        self._plane.permit(peer, key.access_key_id, caller.region, function, qualifier, lane,
                           secret=key.secret_access_key, token=key.session_token, key_expires=expires,
                           ttl=PERMIT_SECONDS, epoch=epoch)  # fmt: skip

    async def _renew(self, access_key_id: str, region: str, function: str, qualifier: str, peer: str) -> None:
        """Decide again, as a miss would, whether a key in use may go on invoking a lane (its
        signatures the plane verifies with the key's secret): granted a new permit, or left to end."""
        epoch = self.epoch()
        door = self._door
        if not self._settings.verify_signatures:
            self._grant(function, qualifier, None, epoch, peer)
            return
        key = door.ring.find(access_key_id)
        if key is None or (key.expires_at is not None and key.expires_at <= datetime.now(timezone.utc)):
            return
        caller = Caller(key, region, "lambda")
        svc = door.cells.started(caller.account_id, region)
        if svc is None:
            return
        if door.authorize is not None and await door.authorize(svc, caller, function, qualifier or None,
                                                               transport_keys(False, peer)) is not None:  # fmt: skip
            return
        self._grant(function, qualifier, caller, epoch, peer)

    def revoke(self) -> None:
        self._plane.revoke()

    # -- events ----------------------------------------------------------------------------

    def _wake(self) -> None:
        for event in self._plane.take():
            kind = event[0]
            if kind == "done":
                self._done(*event[1:])
            elif kind == "ran":
                self._ran(*event[1:])
            elif kind == "miss":
                self._spawn(self._miss(*event[1:]))
            elif kind == "renew":
                self._spawn(self._renew(*event[1:]))
            elif kind == "conn":
                self._spawn(self._adopt(*event[1:]))
            elif kind == "back":
                self._spawn(self._back(*event[1:]))

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = self._loop.create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _adopt(self, fd: int, data: bytes) -> None:
        sock = socket.socket(fileno=fd)
        try:
            host, port = sock.getpeername()[:2]
            keep_for = self._handovers.handed_over(f"{host}:{port}")
            await self._loop.connect_accepted_socket(lambda: self._door.adopted(data, keep_for), sock)
        except OSError:
            sock.close()

    async def _miss(self, token: int, raw_head: bytes, body: bytes, close: bool, peer: str) -> None:
        answer: bytes | None = None
        try:
            routed = head.route(raw_head, self._door.payload_limit)
            # Else (never, as the plane reads heads more strictly): the connection goes to Python.
            if isinstance(routed, head.FastInvoke):
                answer = await self._door.answer(routed, body, close=lambda: close, secure=False, peer=peer, grant=self)
        finally:
            self._plane.answer(token, answer)

    def _done(self, plane_id: int, request_id: str, start: float, duration_ms: float, error_type: str | None,
              before: bytes, output: bytes, returned: tuple[int, bytes, bool] | None, eof: bool,
              result: bytes = b"", arn: str | None = None) -> Outcome | None:  # fmt: skip
        lent = self._lent.get(plane_id)
        if lent is None:
            return None
        self._completed[plane_id] = self._completed.get(plane_id, 0) + 1
        outcome = None
        try:
            outcome = lent.env.native_done(request_id, arn or lent.arn, start, duration_ms, error_type, before, output,
                                           result)  # fmt: skip
        except Exception:
            log.exception("the bookkeeping of invocation %s failed", request_id)
        deferred = self._deferred.pop(plane_id, None)
        if returned is not None:
            self._take_back(plane_id, returned)
        elif deferred is not None:  # taken back while this completion was on its way
            self._take_back(plane_id, deferred)
        elif lent.env.state is not EnvState.LENT:  # not to be reused (out of memory, after the fact)
            self.reclaim(lent.env)
        return outcome

    def _ran(self, token: int, result: bytes, plane_id: int, request_id: str, start: float, duration_ms: float,
             error_type: str | None, before: bytes, output: bytes, returned: tuple[int, bytes, bool] | None,
             eof: bool) -> None:  # fmt: skip
        """An invocation Python started (``run``), run by the plane: its bookkeeping, as ``done``'s,
        and its outcome to the future that awaits it."""
        future, arn = self._runs.pop(token, (None, None))
        outcome = self._done(plane_id, request_id, start, duration_ms, error_type, before, output, returned, eof,
                             result, arn)  # fmt: skip
        if future is None or future.done():
            return
        if outcome is None:
            future.set_exception(ServiceError("An internal error occurred; see the Lamina server log."))
        else:
            future.set_result(outcome)

    async def _back(self, plane_id: int, token: int, request_id: str, start: float, elapsed_ms: float,
                    deadline_ms: int, trace_id: str, before: bytes, output: bytes, returned: tuple[int, bytes, bool],
                    close: bool, request: tuple[bytes, bytes] | None, peer: str) -> None:  # fmt: skip
        run = self._runs.pop(token, None)
        if run is not None:  # an invocation Python started: its outcome to the future that awaits it
            future, arn = run
            try:
                outcome = await self._resume(plane_id, request_id, arn, start, elapsed_ms, deadline_ms, trace_id, before,
                                             output, returned, request is not None)  # fmt: skip
            except Exception as exc:
                failure: Exception = exc
                if not isinstance(exc, (EnvironmentGone, ServiceError)):
                    log.exception("an invocation the data plane gave back failed")
                    failure = ServiceError("An internal error occurred; see the Lamina server log.")
                if not future.done():
                    future.set_exception(failure)
            else:
                if not future.done():
                    future.set_result(outcome)
            return
        answer: bytes | None = None
        try:
            lent = self._lent.pop(plane_id, None)
            if lent is None:
                return
            env = lent.env
            self._ids.pop(env.id, None)
            fd, data, _ = returned
            sock = socket.socket(fileno=fd) if fd >= 0 else None
            if request is not None or sock is None:
                # Never handed to the runtime (its connection failed): the environment is done for,
                # and the request runs elsewhere, as Python runs it.
                if sock is not None:
                    await env.take_back(sock, data, waiting=False)
                env.state = EnvState.DEAD
                lent.owner.returned(env)
                if request is not None:
                    routed = head.route(request[0], self._door.payload_limit)
                    if isinstance(routed, head.FastInvoke):
                        answer = await self._door.answer(routed, request[1], close=lambda: close, secure=False,
                                                         peer=peer, grant=self)  # fmt: skip
                return
            outcome = await env.resume(request_id, lent.arn, start, elapsed_ms, deadline_ms, trace_id, before, output,
                                       sock, data, env.fn.timeout_s)  # fmt: skip
            lent.owner.returned(env)
            result = outcome.result
            headers = result_headers(InvokeResult(200, request_id, env.fn.version, result.body,
                                                  function_error=None if result.ok else "Unhandled"))  # fmt: skip
            answer = wire.response(200, headers.items(), "application/json", result.body, date=self._door.date(),
                                   close=close)  # fmt: skip
        except Exception:
            log.exception("an invocation the data plane gave back failed")
            status, headers_, body = error_parts(ServiceError("An internal error occurred; see the Lamina server log."),
                                                 ids.request_id())  # fmt: skip
            answer = wire.response(status, headers_.items(), "application/json", body, date=self._door.date(),
                                   close=close)  # fmt: skip
        finally:
            self._plane.answer(token, answer)

    async def _resume(self, plane_id: int, request_id: str, arn: str, start: float, elapsed_ms: float,
                      deadline_ms: int, trace_id: str, before: bytes, output: bytes,
                      returned: tuple[int, bytes, bool], unsent: bool) -> Outcome:  # fmt: skip
        """An invocation Python started that the plane gave back, ended here (``Environment.resume``);
        ``EnvironmentGone`` if the runtime never got its event (``unsent``): it runs elsewhere."""
        lent = self._lent.pop(plane_id, None)
        if lent is None:
            raise ServiceError("An internal error occurred; see the Lamina server log.")
        env = lent.env
        self._ids.pop(env.id, None)
        fd, data, _ = returned
        sock = socket.socket(fileno=fd) if fd >= 0 else None
        if unsent or sock is None:
            if sock is not None:
                await env.take_back(sock, data, waiting=False)
            env.state = EnvState.DEAD
            lent.owner.returned(env)
            if unsent:
                raise EnvironmentGone(env.id)
            raise ServiceError("An internal error occurred; see the Lamina server log.")
        try:
            return await env.resume(request_id, arn, start, elapsed_ms, deadline_ms, trace_id, before, output, sock,
                                    data, env.fn.timeout_s)  # fmt: skip
        finally:
            lent.owner.returned(env)

    # -- stopping --------------------------------------------------------------------------

    async def close(self, grace: float) -> None:
        """Stop accepting, let what is in flight finish (for ``grace`` seconds at most), and stop
        the plane's thread; lent environments are taken back by their pools as they stop."""
        self._closing = True
        self._sweeping.cancel()
        self._door.give_back = None
        self._plane.close()
        until = self._loop.time() + grace
        while self._plane.counts()[4] and self._loop.time() < until:
            await asyncio.sleep(0.01)
        self._wake()
        if self._tasks:  # misses and invocations given back, answered within the grace too
            await asyncio.wait(list(self._tasks), timeout=max(0.0, until - self._loop.time()))
        await asyncio.to_thread(self._plane.join, 2.0)
        self._stopped = True
        self._wake()
        self._loop.remove_reader(self._plane.fileno())
        for future, _ in self._runs.values():  # never ended by the plane: the caller is told so
            if not future.done():
                future.set_exception(ServiceError("Lamina is shutting down."))
        self._runs.clear()

