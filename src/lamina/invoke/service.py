"""The invocation path: resolve the target, admit, take an environment, run, release.

``Invoker.invoke`` never raises for what the function did: crashes, timeouts and init failures
are ``InvokeResult``s with a function error, as Lambda reports them. It raises ``ApiError`` for
what the caller did wrong (unknown function, bad payload, throttled).

A request is resolved once (``invoke/resolver.py``) into an immutable ``Target`` (``invoke/target.py``):
the configuration that runs (an alias with a routing configuration draws its version there), the
ARN as invoked and the concurrency limits. The target flows down: the scheduler admits, leases and
releases by it, and nothing asks the control plane again. The runtime's context reports the ARN as
invoked (qualified with the alias when invoked through one, as on Lambda) and
``X-Amz-Executed-Version`` the version that ran.

Asynchronous (``Event``) invocations are stored in the durable queue (``invoke/queue.py``) before
the 202; its workers run each attempt through ``attempt``, the same admission and environments as
synchronous calls.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

from lamina import ids, jsonbody
from lamina.invoke.queue import AsyncQueue, ContentSource
from lamina.invoke.resolver import Resolver
from lamina.invoke.target import Target
from lamina.errors import InvalidParameterValue, RequestTooLarge, ServiceError, TooManyRequests
from lamina.model import FunctionConfig
from lamina.sandbox.provider import EnvironmentGone, ExecutionEnvironment, Outcome
from lamina.scheduler.lending import Lane
from lamina.scheduler.pool import Scheduler
from lamina.settings import Settings
from lamina.store.base import EventContent, QueuedEvent
from lamina.tasks import wait_set

log = logging.getLogger(__name__)

REQUEST_RESPONSE = "RequestResponse"
EVENT = "Event"
DRY_RUN = "DryRun"
INVOCATION_TYPES = (REQUEST_RESPONSE, EVENT, DRY_RUN)
CLIENT_CONTEXT_MAX_BYTES = 3583
# How many environments an invocation may try when they exit before taking its event.
ENVIRONMENT_ATTEMPTS = 3


@dataclass(frozen=True)
class InvokeSource:
    """A service invoking a function for one of Lamina's triggers (an event bus rule, an API, a
    bucket): the function's resource-based policy must allow it (``Invoker.check_sources_with``)."""

    service: str  # its service principal, e.g. events.amazonaws.com
    arn: str  # aws:SourceArn: the rule, the API's route, the bucket
    account: str  # aws:SourceAccount


@dataclass(frozen=True)
class InvokeRequest:
    function: str
    payload: bytes
    qualifier: str | None = None
    invocation_type: str = REQUEST_RESPONSE
    log_tail: bool = False
    client_context: str | None = None  # base64 JSON, as in X-Amz-Client-Context
    # Chosen by the caller: the API request's own id, or the one a function URL's event names.
    request_id: str | None = None
    # The payload is JSON that Lamina wrote itself (an HTTP API's event): not parsed again to check it.
    built: bool = False
    source: InvokeSource | None = None  # a trigger's service, whose permission is checked
    # A caller's own Invoke (the Lambda API): refused while the function is Pending, as Lambda
    # refuses it; Lamina's own callers (triggers, URLs, queues) wait the milliseconds it takes.
    refuse_pending: bool = False


@dataclass(frozen=True)
class InvokeResult:
    status: int
    request_id: str
    executed_version: str
    payload: bytes = b""
    function_error: str | None = None
    log_result: str | None = None


class Invoker:
    def __init__(self, resolver: Resolver, scheduler: Scheduler, settings: Settings) -> None:
        self._resolver = resolver
        self._scheduler = scheduler
        self._settings = settings
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._check_source: Callable[[str, str | None, InvokeSource], Awaitable[None]] | None = None
        self._throttled: Callable[[str, str | None, str], None] = lambda function, qualifier, reason: None
        self._queue: AsyncQueue | None = None

    def check_sources_with(self, check: Callable[[str, str | None, InvokeSource], Awaitable[None]]) -> None:
        """Have ``check`` (IAM's: the function's resource-based policy) approve invocations that name
        their ``source`` (function name, qualifier as invoked, source); it raises to refuse."""
        self._check_source = check

    def count_throttles_with(self, throttled: Callable[[str, str | None, str], None]) -> None:
        """Tell ``throttled`` (the metrics) of every invocation refused for concurrency or rate:
        the function, the qualifier as invoked, and the reason."""
        self._throttled = throttled

    def attach(self, queue: AsyncQueue) -> None:
        """The queue ``Event`` invocations are accepted into."""
        self._queue = queue

    async def invoke(self, req: InvokeRequest) -> InvokeResult:
        if req.invocation_type not in INVOCATION_TYPES:
            raise InvalidParameterValue(
                f"1 validation error detected: Value '{req.invocation_type}' at 'invocationType' failed to satisfy "
                f"constraint: Member must satisfy enum value set: [{', '.join(INVOCATION_TYPES)}]"
            )
        target = await self._resolver.resolve(req.function, req.qualifier, wait_pending=not req.refuse_pending)
        if req.source is not None and self._check_source is not None:
            await self._check_source(target.fn.name, target.qualifier, req.source)
        fn = target.fn
        limit = (
            self._settings.limits.async_payload_bytes if req.invocation_type == EVENT
            else self._settings.limits.sync_payload_bytes
        )  # fmt: skip
        payload = req.payload
        if len(payload) > limit:
            raise RequestTooLarge(f"Request must be smaller than {limit} bytes for the InvokeFunction operation")
        if not payload or payload.isspace():
            payload = b"{}"
        elif req.built:
            pass
        elif len(payload) <= jsonbody.INLINE_BYTES:
            jsonbody.loads(payload)  # a warm invocation's payload: on the loop, no thread hop
        else:
            await jsonbody.check_large(payload)  # off the event loop, and without the GIL
        client_context = _client_context(req.client_context)
        request_id = req.request_id or ids.request_id()
        if req.invocation_type == DRY_RUN:
            return InvokeResult(204, request_id, fn.version)
        if req.invocation_type == EVENT:
            if self._queue is None:
                raise ServiceError("Asynchronous invocation is not available.")
            try:
                await self._queue.accept(fn.name, target.qualifier, payload, request_id, client_context)
            except TooManyRequests as exc:  # the queue's quota for the function is used up
                self._throttled(fn.name, target.qualifier, exc.reason)
                raise
            return InvokeResult(202, request_id, fn.version)
        outcome = await self._run(target, EventContent(payload, client_context), request_id)
        return InvokeResult(
            200, request_id, fn.version, outcome.result.body,
            function_error=None if outcome.result.ok else "Unhandled",
            log_result=outcome.log_tail if req.log_tail else None,
        )  # fmt: skip

    async def _run(self, target: Target, content: EventContent | ContentSource, request_id: str) -> Outcome:
        """Run ``target`` in an environment. ``content`` is a synchronous invocation's own, or (a queued
        event's) asked for once an environment is leased (admitted). An idle environment lent to the
        native data plane for the target's lane runs it there (``Scheduler.run_lent``), whoever
        invoked, rather than being taken back; after an invocation here, the environment is lent
        (``release`` with the lane), so the lane's next invocations, a caller's Invoke and this
        path's alike, find it in the plane."""
        self._entered()
        try:
            lane = self._lane(target)
            if lane is not None and self._scheduler.idle_lent(target):
                if not isinstance(content, EventContent):
                    content = await content()  # admitted: the lent environment's lease holds it
                running = self._scheduler.run_lent(target, lane, request_id, content.payload, content.client_context)
                if running is not None:
                    try:
                        return await running
                    except EnvironmentGone:
                        pass  # its runtime exited before it took the event: another runs it, below
            for attempt in range(ENVIRONMENT_ATTEMPTS):
                try:
                    env, failure = await self._scheduler.acquire(target)
                except TooManyRequests as exc:
                    self._throttled(target.fn.name, target.qualifier, exc.reason)
                    raise
                outcome = None
                try:
                    if failure is not None:
                        return env.init_failure_outcome(request_id, failure)
                    event = content if isinstance(content, EventContent) else await content()
                    outcome = await env.invoke(request_id, event.payload, function_arn=target.invoked_arn,
                                               client_context=event.client_context, timeout_s=target.fn.timeout_s)
                    return outcome
                except EnvironmentGone:
                    if attempt == ENVIRONMENT_ATTEMPTS - 1:
                        raise ServiceError("Execution environments kept exiting before they could run the "
                                           "invocation; see the function's logs.") from None  # fmt: skip
                finally:
                    if outcome is not None and outcome.finishing is not None:
                        self._release_when_finished(env, outcome.finishing)
                    else:
                        self._scheduler.release(env, lane, target.invoked_arn)
            raise AssertionError("unreachable")
        finally:
            self._left()

    def _lane(self, target: Target) -> Lane | None:
        """Where the native data plane may run this target's next invocations (scheduler/lending.py):
        not through an alias whose routing draws a version per invocation."""
        if target.weighted:
            return None
        s = self._settings
        return Lane(s.account_id, s.region, target.fn.name, target.qualifier or "")

    def _release_when_finished(self, env: ExecutionEnvironment, finishing: asyncio.Future[None]) -> None:
        """Keep ``env`` leased (and counted in flight, which a drain waits for) until its invoke phase
        ends: the caller has its answer, the extensions are not done yet."""
        self._entered()

        def release(ended: asyncio.Future[None]) -> None:
            if not ended.cancelled() and ended.exception() is not None:
                log.error("the invoke phase in %s ended in an error", env.id, exc_info=ended.exception())
            self._scheduler.release(env)
            self._left()

        finishing.add_done_callback(release)

    def _entered(self) -> None:
        self._in_flight += 1
        self._idle.clear()

    def _left(self) -> None:
        """One invocation (or a held invoke phase) less in flight; a drain waits for none."""
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()

    async def attempt(self, event: QueuedEvent, content: ContentSource) -> tuple[FunctionConfig, Outcome]:
        """Run one attempt of a queued asynchronous event (raises ``TooManyRequests`` when throttled,
        before its content is read)."""
        target = await self._resolver.resolve(event.function, event.qualifier)
        return target.fn, await self._run(target, content, event.request_id)

    def configuration(self, event: QueuedEvent) -> FunctionConfig | None:
        """The configuration a queued event's qualifier names now (None: the function or qualifier is gone)."""
        return self._resolver.configuration(event.function, event.qualifier)

    def turned_off(self, function: str) -> bool:
        """Whether ``function``'s reserved concurrency is 0: it takes no invocation at all."""
        return self._resolver.limits(function).reserved == 0

    async def drain(self, deadline: float) -> bool:
        """Wait for in-flight invocations, at most until ``deadline`` (monotonic); True if all finished."""
        return await wait_set(self._idle, max(0.0, deadline - time.monotonic()))


def _client_context(value: str | None) -> str | None:
    if not value:
        return None
    try:
        decoded = base64.b64decode(value, validate=True)
        if len(decoded) > CLIENT_CONTEXT_MAX_BYTES:
            raise InvalidParameterValue(f"Client context must be smaller than {CLIENT_CONTEXT_MAX_BYTES} bytes")
        doc = json.loads(decoded)
    except (binascii.Error, ValueError, RecursionError) as exc:
        raise InvalidParameterValue("Client context must be a valid Base64-encoded JSON object.") from exc
    if not isinstance(doc, dict):
        raise InvalidParameterValue("Client context must be a valid Base64-encoded JSON object.")
    text = decoded.decode()
    if any(c < " " or c == "\x7f" for c in text):
        # JSON may have CR, LF or tabs between its tokens: written as they are into the runtime's
        # Client-Context header, they would end it and start others. The same document, without them.
        return json.dumps(doc, ensure_ascii=False)
    return text
