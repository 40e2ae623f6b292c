"""Real debugger clients for ``lamina dev --debug``'s tests: the Debug Adapter Protocol as VS Code
speaks it to debugpy (Content-Length framed JSON over TCP)."""

from __future__ import annotations

import json
import socket
import time
from typing import Any


class DapClient:
    """A blocking DAP client on one TCP connection: requests, their responses, and events."""

    def __init__(self, port: int, timeout: float = 60) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self._buffer = b""
        self._seq = 0
        self.messages: list[dict[str, Any]] = []  # every message received, in order

    def close(self) -> None:
        self.sock.close()

    def send(self, command: str, **arguments: Any) -> int:
        self._seq += 1
        body = json.dumps({"seq": self._seq, "type": "request", "command": command, "arguments": arguments}).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self._seq

    def request(self, command: str, **arguments: Any) -> dict[str, Any]:
        seq = self.send(command, **arguments)
        return self.wait(lambda m: m.get("type") == "response" and m.get("request_seq") == seq)

    def event(self, name: str) -> dict[str, Any]:
        return self.wait(lambda m: m.get("type") == "event" and m.get("event") == name)

    def wait(self, match: Any) -> dict[str, Any]:
        """The first message received (or to come) that ``match``es; TimeoutError or EOFError if none comes."""
        for message in self.messages:
            if match(message):
                self.messages.remove(message)
                return message
        while True:
            message = self._read()
            if match(message):
                return message
            self.messages.append(message)

    def at_eof(self) -> bool:
        """Whether the other side has closed the connection (waits for it, up to the socket's timeout)."""
        try:
            while True:
                self._read()
        except EOFError:
            return True

    def _read(self) -> dict[str, Any]:
        while b"\r\n\r\n" not in self._buffer:
            self._fill()
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        length = int(dict(line.split(b": ", 1) for line in head.split(b"\r\n"))[b"Content-Length"])
        while len(self._buffer) < length:
            self._fill()
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        message: dict[str, Any] = json.loads(body)
        return message

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("the debug connection was closed")
        self._buffer += data


def attach(port: int, local_root: str, source: str, line: int) -> DapClient:
    """Attach as VS Code's "attach" configuration does, with a breakpoint at ``source``:``line``:
    initialize, attach (path mappings from /var/task to ``local_root``), setBreakpoints once
    initialized, configurationDone, then the attach's response."""
    dap = DapClient(port)
    dap.request("initialize", adapterID="debugpy", clientID="lamina-test", pathFormat="path", linesStartAt1=True,
                columnsStartAt1=True)  # fmt: skip
    attach_seq = dap.send("attach", justMyCode=False,
                          pathMappings=[{"localRoot": local_root, "remoteRoot": "/var/task"}])  # fmt: skip
    dap.event("initialized")
    answer = dap.request("setBreakpoints", source={"path": source}, breakpoints=[{"line": line}])
    assert answer["success"], answer
    dap.request("configurationDone")
    assert dap.wait(lambda m: m.get("type") == "response" and m.get("request_seq") == attach_seq)["success"]
    return dap


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def until(check: Any, timeout: float = 30) -> Any:
    """Poll ``check`` until it returns something true (a wait, not a pass/fail timing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("the condition never held")


class Inspector:
    """A client of Node.js's inspector (the Chrome DevTools Protocol over a WebSocket), as VS Code's
    "attach" configuration is: the target from /json/list, then commands and events."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self._id = 0
        self.events: list[dict[str, Any]] = []

    @staticmethod
    async def targets(port: int) -> list[dict[str, Any]]:
        import aiohttp

        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/json/list", headers={"Connection": "close"}) as answer:
                found: list[dict[str, Any]] = await answer.json(content_type=None)
                return found

    async def command(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        await self.ws.send_json({"id": self._id, "method": method, "params": params})
        while True:
            message: dict[str, Any] = await self.ws.receive_json()
            if message.get("id") == self._id:
                return message
            self.events.append(message)

    async def event(self, method: str) -> dict[str, Any]:
        for message in self.events:
            if message.get("method") == method:
                self.events.remove(message)
                return message
        while True:
            received: dict[str, Any] = await self.ws.receive_json()
            if received.get("method") == method:
                return received
            self.events.append(received)
