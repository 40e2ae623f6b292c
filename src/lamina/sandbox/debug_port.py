"""An environment's side of ``lamina dev --debug``: its timeouts held while a debugger is attached,
and the connection to its debug adapter (``debug/forwarder.py`` forwards debuggers to it).

The rule for timeouts (SAM CLI's debug mode ignores the function's timeout altogether; Lamina only
while someone is looking): while a debugger is attached to an environment, neither its init
timeout nor its function's timeout runs out, so an invocation paused at a breakpoint is never
killed; when the debugger detaches, the invocation still running gets the whole timeout again,
from then. A runtime told to wait for its debugger (``--debug=wait``) waits for it without any
init timeout.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, Awaitable, Callable

# While the adapter is not listening yet (the runtime is starting), how often to try again.
CONNECT_RETRY_SECONDS = 0.05


class DebuggerClock:
    """Whether a debugger is attached, and waits whose timeout is held meanwhile (see the module docstring)."""

    def __init__(self) -> None:
        self.attached = False
        self._changed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def set(self, attached: bool) -> None:
        self.attached = attached
        changed, self._changed = self._changed, asyncio.get_running_loop().create_future()
        changed.set_result(None)

    async def wait(self, futures: list[asyncio.Future[Any]], timeout_s: float | None) -> None:
        """Until one of ``futures`` is done, or ``timeout_s`` (None: no limit) passes with no debugger
        attached: an attachment stops the clock, a detachment starts it again from zero."""
        while not any(f.done() for f in futures):
            changed = self._changed
            limit = None if self.attached else timeout_s
            done, _ = await asyncio.wait([*futures, changed], timeout=limit, return_when=asyncio.FIRST_COMPLETED)
            if not done:
                return  # the timeout ran out with no debugger attached


async def connect(port: int, make_socket: Callable[[], Awaitable[socket.socket | None]], exited: asyncio.Future[Any]) -> socket.socket:
    """A socket connected to 127.0.0.1:``port`` as ``make_socket`` makes them (inside an environment's
    namespace), tried again while the adapter is not listening yet (``make_socket`` returns None
    while it cannot make one yet); OSError once ``exited`` is done."""
    loop = asyncio.get_running_loop()
    while not exited.done():
        sock = await make_socket()
        if sock is not None:
            try:
                await loop.sock_connect(sock, ("127.0.0.1", port))
                return sock
            except ConnectionRefusedError:
                sock.close()
            except BaseException:
                sock.close()
                raise
        await asyncio.wait([exited], timeout=CONNECT_RETRY_SECONDS)
    raise OSError("the environment has exited")


def free_port() -> int:
    """A port free on the host's loopback now (for an environment without a namespace of its own)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
