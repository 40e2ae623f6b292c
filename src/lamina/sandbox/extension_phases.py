"""An environment's extensions through its phases: init, each invocation, shutdown.

What the environment (environment.py) waits for, and how long, once its process runs: external
extensions registering (or exiting first), every extension asking for its next event after init and
after each invocation, and the SHUTDOWN event's deadline. Each returns what went wrong, as a
``Failure`` the environment reports, or None.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from lamina.runtime import constants as rc
from lamina.runtime import extensions as rx
from lamina.runtime.api import RuntimeApiEndpoint
from lamina.sandbox.extension_processes import children_alive
from lamina.sandbox.spawn import Process

# As Lambda reports them: an extension that posted to init/error or exit/error, or that exited.
EXTENSION_INIT_ERROR = "Extension.InitError"
EXTENSION_EXIT_ERROR = "Extension.ExitError"
EXTENSION_CRASH = "Extension.Crash"
EXTENSION_TIMEOUT = "Extension.Timeout"  # an invocation's extensions did not finish in its time
# How often an initialising environment looks whether its external extensions are still running,
# and a shutting-down one whether they have exited.
INIT_POLL_S = 0.05
SHUTDOWN_POLL_S = 0.02


@dataclass(frozen=True)
class Failure:
    error_type: str
    message: str
    detail: str = ""  # for the log, when the message does not say which extension


def _reported(failed: rx.ExtensionError) -> Failure:
    error_type = EXTENSION_INIT_ERROR if failed.during_init else EXTENSION_EXIT_ERROR
    return Failure(error_type, f"Extension {failed.name} reported an error: {failed.error_type}")


async def watch_registrations(
    endpoint: RuntimeApiEndpoint, process: Process, exited: asyncio.Future[int], external: frozenset[str]
) -> Failure:
    """Returns (``Extension.Crash``) if the external extensions exit before every one of them
    registered; else waits until cancelled. They are the launcher's children: none left, none will
    register. Judged once they were started: the launcher waits for their registrations (after it
    started them all), or one was seen running."""
    seen = False
    while True:
        extensions = endpoint.extensions
        if extensions is not None and extensions.external_registered:
            await asyncio.Future()  # nothing more to watch: the other waiters decide
        if not exited.done():
            alive = children_alive(process.pid)
            if not alive and (seen or (extensions is not None and extensions.launcher_waiting)):
                break
            seen = seen or alive
        await asyncio.sleep(INIT_POLL_S)
    registered = {ext.name for ext in extensions.by_id.values()} if extensions is not None else set()
    return Failure(EXTENSION_CRASH, f"Extension exited before it was ready: {', '.join(sorted(external - registered))}")


async def init(
    extensions: rx.Extensions, process: Process | None, exited: asyncio.Future[int], deadline: float, timeout_s: float
) -> Failure | None:
    """Once the runtime is ready: wait, until ``deadline`` (``time.monotonic()``), for every external
    extension to register and every registered one to call next; then close registration."""
    settling = asyncio.ensure_future(extensions.wait_settled())
    crashed = False
    try:
        while not settling.done() and not exited.done() and time.monotonic() < deadline:
            await _first_of(settling, exited, timeout=min(INIT_POLL_S, max(deadline - time.monotonic(), 0.0)))
            if not settling.done() and extensions.external and process is not None and not children_alive(process.pid):
                crashed = True
                break
    finally:
        settling.cancel()
    extensions.close_registration()
    if extensions.failed is not None:
        return _reported(extensions.failed)
    registered = {ext.name for ext in extensions.by_id.values()}
    if crashed:
        gone = sorted(ext.name for ext in extensions.by_id.values() if not ext.idle)
        gone += sorted(extensions.external - registered)
        return Failure(EXTENSION_CRASH, f"Extension exited before it was ready: {', '.join(gone)}")
    if not extensions.settled():
        missing = [f"{name} did not register" for name in sorted(extensions.external - registered)]
        waiting = [f"{ext.name} did not call next" for ext in extensions.by_id.values() if not ext.idle]
        return Failure(rc.ERROR_INIT_TIMEOUT, f"Init timed out after {timeout_s:.2f} seconds",
                       "Extensions not ready: " + ", ".join(missing + waiting))  # fmt: skip
    return None


async def invocation(extensions: rx.Extensions, exited: asyncio.Future[int], deadline: float) -> Failure | None:
    """After the runtime's result: wait until every extension called next again, at most until the
    invocation's ``deadline`` (``time.monotonic()``). A failure if they did not, or one reported an error."""
    if not extensions.settled():
        settling = asyncio.ensure_future(extensions.wait_settled())
        await _first_of(settling, exited, timeout=max(deadline - time.monotonic(), 0.0))
        settling.cancel()
    if extensions.failed is not None:
        return _reported(extensions.failed)
    if not extensions.settled():
        waiting = sorted(ext.name for ext in extensions.by_id.values() if not ext.idle)
        return Failure(EXTENSION_TIMEOUT, f"Extensions did not finish within the timeout: {', '.join(waiting)}")
    return None


async def shut_down(extensions: rx.Extensions, process: Process | None, exited: asyncio.Future[int], reason: str) -> None:
    """Deliver SHUTDOWN to the extensions registered for it, and give them until its deadline to
    call next again or exit."""
    limit_ms = extensions.shutdown_limit_ms()
    if process is None or exited.done() or not limit_ms:
        return
    deadline_ms = int(time.time() * 1000) + limit_ms
    if not extensions.deliver(rx.SHUTDOWN, rx.shutdown_event(reason, deadline_ms)):
        return
    end = time.monotonic() + limit_ms / 1000
    while time.monotonic() < end and not exited.done():
        if extensions.settled() or not children_alive(process.pid):
            break
        await asyncio.sleep(SHUTDOWN_POLL_S)


async def _first_of(*futures: asyncio.Future[Any], timeout: float) -> None:
    await asyncio.wait(futures, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
