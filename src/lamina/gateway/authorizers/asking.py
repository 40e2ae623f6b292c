"""Asking a Lambda authorizer: its function invoked with the authorizer event, its answer read.

``AuthorizerCalls.ask`` invokes synchronously through the ``Invoker`` (the function's limits,
throttling, logs and billing apply) in a task of its own, and waits at most ``timeout_seconds``
for it, API Gateway's bound: a caller that goes away, or an authorizer slower than that, leaves
the invocation to end as invocations do (the tasks are kept until then). The answer is the
function's result parsed as JSON (None when it is not JSON; a large one parsed off the event loop),
or ``Failed`` with the error's type and message when it failed, could not be invoked or did not
answer in time.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Mapping

from lamina import ids, jsonbody
from lamina.errors import ApiError
from lamina.gateway.authorizers.decision import Failed
from lamina.invoke.service import InvokeRequest, InvokeResult, Invoker

log = logging.getLogger(__name__)


class AuthorizerCalls:
    def __init__(self, invoker: Invoker, timeout_seconds: float, *, name: str) -> None:
        self._invoker = invoker
        self._timeout = timeout_seconds
        self._name = name  # the tasks' names: "<name>-<request id>"
        self._running: set[asyncio.Task[InvokeResult]] = set()

    async def ask(self, function: str, event: Mapping[str, object]) -> object | Failed:
        request = InvokeRequest(function=function, payload=json.dumps(event).encode(), request_id=ids.request_id())
        invocation = asyncio.create_task(self._invoker.invoke(request), name=f"{self._name}-{request.request_id}")
        self._running.add(invocation)
        invocation.add_done_callback(self._forget)
        done, _ = await asyncio.wait({invocation}, timeout=self._timeout)
        if not done:
            log.info("authorizer %s did not answer in %s s", function, self._timeout)
            return Failed("Timeout", "the authorizer did not answer in time")
        try:
            result = invocation.result()
        except ApiError as exc:
            log.info("could not invoke authorizer %s: %s %s", function, exc.code, exc.message)
            return Failed(exc.code, exc.message)
        if len(result.payload) <= jsonbody.INLINE_BYTES:
            answer = _parsed(result.payload)
        else:
            answer = await asyncio.to_thread(_parsed, result.payload)
        if result.function_error:
            error = answer if isinstance(answer, dict) else {}
            return Failed(str(error.get("errorType", result.function_error)), str(error.get("errorMessage", "")))
        return answer

    def _forget(self, task: asyncio.Task[InvokeResult]) -> None:
        self._running.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: the request that waited answered for it


def _parsed(payload: bytes) -> object:
    try:
        return json.loads(payload) if payload else None
    except (ValueError, RecursionError):
        return None
