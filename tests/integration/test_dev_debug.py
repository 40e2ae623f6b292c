"""``lamina dev --debug``: real debuggers attached through Lamina's forwarder to functions' environments.

Python: the Debug Adapter Protocol, as VS Code speaks it to debugpy (tests/debug_clients.py);
Node.js: the inspector's /json/list, then the Chrome DevTools Protocol over its WebSocket.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import aiohttp
import pytest

from tests.conftest import LaminaProcess, lambda_client
from tests.debug_clients import DapClient, Inspector, attach, until
from tests.integration.test_dev import lines_of, wait_for

APP = """\
import os


def handler(event, context):
    if event.get("die"):
        os._exit(3)
    total = event["a"] + event["b"]
    return {"total": total, "version": 1}
"""
BREAK_LINE = 7  # total = ...


class Dev:
    """A ``lamina dev --debug`` process and the port its debuggers attach to."""

    def __init__(self, lamina: LaminaProcess, folder: Path, name: str, runtime: str, handler: str,
                 debug: str = "--debug") -> None:  # fmt: skip
        env = {**os.environ, "LAMINA_ENDPOINT": lamina.endpoint}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lamina", "dev", str(folder), "--name", name, "--runtime", runtime, "--handler",
             handler, "--timeout", "1", debug, "--debug-port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )  # fmt: skip
        assert self.proc.stdout is not None
        self.output, self._reader = lines_of(self.proc.stdout)
        self.seen: list[str] = []
        try:
            line = self.wait_for("attach a debugger")
            found = re.search(r"127\.0\.0\.1:(\d+)", line)
            assert found is not None, line
            self.port = int(found[1])
            self.wait_for("Watching")
        except BaseException:
            self.stop()
            raise

    def wait_for(self, text: str) -> str:
        return wait_for(self.output, text, self.seen, timeout=60)

    def stop(self, how: signal.Signals = signal.SIGINT) -> int:
        self.proc.send_signal(how)
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        finally:
            self._reader.join(10)
            assert self.proc.stdout is not None
            self.proc.stdout.close()


def invoking(client: Any, name: str, payload: dict[str, Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Invoke in a thread of its own (the call returns only once the debugger lets it go)."""
    answer: dict[str, Any] = {}

    def run() -> None:
        response = client.invoke(FunctionName=name, Payload=json.dumps(payload).encode())
        answer.update(error=response.get("FunctionError"), payload=json.loads(response["Payload"].read()))

    thread = threading.Thread(target=run, name="lamina-debug-invoke", daemon=True)
    thread.start()
    return thread, answer


def session(lamina: LaminaProcess, name: str) -> dict[str, Any]:
    from lamina.cli.client import LambdaClient

    return LambdaClient(lamina.endpoint)._send("GET", f"/lamina/v1/functions/{name}/debug").json_object()


@pytest.fixture
def python_dev(lamina: LaminaProcess, tmp_path: Path, fn_name: str) -> Iterator[tuple[Dev, Path]]:
    (tmp_path / "app.py").write_text(APP)
    dev = Dev(lamina, tmp_path, fn_name, "python3.11", "app.handler")
    yield dev, tmp_path
    assert dev.stop() == 0, dev.seen


def test_a_breakpoint_stops_a_python_invocation_past_its_timeout_and_survives_a_reload(
    lamina: LaminaProcess, python_dev: tuple[Dev, Path], fn_name: str,
) -> None:  # fmt: skip
    dev, folder = python_dev
    source = str(folder / "app.py")
    dap = attach(dev.port, str(folder), source, BREAK_LINE)
    try:
        assert session(lamina, fn_name)["Attached"] is True
        # A second debugger is refused while one is attached: its connection closes at once.
        second = DapClient(dev.port, timeout=30)
        assert second.at_eof()
        second.close()
        client = lambda_client(lamina.endpoint)
        thread, answer = invoking(client, fn_name, {"a": 2, "b": 3})
        stopped = dap.event("stopped")
        assert stopped["body"]["reason"] == "breakpoint"
        frame = dap.request("stackTrace", threadId=stopped["body"]["threadId"])["body"]["stackFrames"][0]
        assert (frame["name"], frame["line"], frame["source"]["path"]) == ("handler", BREAK_LINE, source)
        # Paused twice as long as the function's timeout (1 s): the invocation is not killed.
        thread.join(2.0)
        assert thread.is_alive()
        # One invocation at a time while debugging: a second one is throttled, not run elsewhere.
        with pytest.raises(client.exceptions.TooManyRequestsException):
            client.invoke(FunctionName=fn_name, Payload=b'{"a": 0, "b": 0}')
        dap.request("continue", threadId=stopped["body"]["threadId"])
        thread.join(60)
        assert answer == {"error": None, "payload": {"total": 5, "version": 1}}

        # A save reloads the code: the old environment goes, and its debugger's connection with it.
        (folder / "app.py").write_text(APP.replace('"version": 1', '"version": 2'))
        dev.wait_for("Reloaded")
        assert dap.at_eof()
    finally:
        dap.close()
    dap = attach(dev.port, str(folder), source, BREAK_LINE)  # attached again: to an environment of the new code
    try:
        thread, answer = invoking(client, fn_name, {"a": 5, "b": 5})
        stopped = dap.event("stopped")
        dap.request("continue", threadId=stopped["body"]["threadId"])
        thread.join(60)
        assert answer == {"error": None, "payload": {"total": 10, "version": 2}}
    finally:
        dap.close()


def test_the_environment_dying_under_a_debugger_closes_its_connection(
    lamina: LaminaProcess, python_dev: tuple[Dev, Path], fn_name: str,
) -> None:  # fmt: skip
    dev, folder = python_dev
    dap = attach(dev.port, str(folder), str(folder / "app.py"), BREAK_LINE)
    try:
        client = lambda_client(lamina.endpoint)
        thread, answer = invoking(client, fn_name, {"die": True})
        thread.join(60)
        assert answer["error"] == "Unhandled"
        assert dap.at_eof()  # closed by the forwarder once the environment exited
    finally:
        dap.close()
    until(lambda: session(lamina, fn_name)["Attached"] is False)
    # Nothing of the dead environment's connection is left: the next debugger gets a new one.
    dap = attach(dev.port, str(folder), str(folder / "app.py"), BREAK_LINE)
    try:
        thread, answer = invoking(client, fn_name, {"a": 1, "b": 1})
        stopped = dap.event("stopped")
        dap.request("continue", threadId=stopped["body"]["threadId"])
        thread.join(60)
        assert answer == {"error": None, "payload": {"total": 2, "version": 1}}
    finally:
        dap.close()


def test_with_wait_the_runtime_waits_for_the_debugger_before_importing_the_handler(
    lamina: LaminaProcess, tmp_path: Path, fn_name: str,
) -> None:  # fmt: skip
    (tmp_path / "app.py").write_text("LOADED = 'at import'\n\n\ndef handler(event, context):\n    return LOADED\n")
    dev = Dev(lamina, tmp_path, fn_name, "python3.11", "app.handler", "--debug=wait")
    try:
        # Attaching starts an environment, whose runtime waits: the breakpoint at import is hit.
        dap = attach(dev.port, str(tmp_path), str(tmp_path / "app.py"), 1)
        try:
            stopped = dap.event("stopped")
            frame = dap.request("stackTrace", threadId=stopped["body"]["threadId"])["body"]["stackFrames"][0]
            assert (frame["name"], frame["line"]) == ("<module>", 1)
            dap.request("continue", threadId=stopped["body"]["threadId"])
            thread, answer = invoking(lambda_client(lamina.endpoint), fn_name, {})
            thread.join(60)
            assert answer == {"error": None, "payload": "at import"}
        finally:
            dap.close()
    finally:
        assert dev.stop(signal.SIGTERM) == 0, dev.seen
    # Stopping lamina dev (SIGTERM, as Ctrl-C) ended the session: the server says it debugs nothing.
    from lamina.cli.errors import CliError

    with pytest.raises(CliError):
        session(lamina, fn_name)
    with pytest.raises(ConnectionRefusedError):  # and its port is closed
        socket.create_connection(("127.0.0.1", dev.port), timeout=10).close()


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_a_breakpoint_stops_a_node_invocation_through_the_inspector(lamina: LaminaProcess, tmp_path: Path,
                                                                    fn_name: str) -> None:  # fmt: skip
    (tmp_path / "index.js").write_text(
        "exports.handler = async (event) => {\n  const total = event.a + event.b;\n  return { total };\n};\n")
    dev = Dev(lamina, tmp_path, fn_name, "nodejs20.x", "index.handler")
    try:
        answer = asyncio.run(_node_session(lamina, dev.port, fn_name))
        assert answer == {"error": None, "payload": {"total": 5}}
    finally:
        assert dev.stop() == 0, dev.seen


async def _node_session(lamina: LaminaProcess, port: int, name: str) -> dict[str, Any]:
    targets = await Inspector.targets(port)  # a lookup: not the debugger, which is the WebSocket below
    assert targets and targets[0]["webSocketDebuggerUrl"].startswith(f"ws://127.0.0.1:{port}/")
    async with aiohttp.ClientSession() as http, http.ws_connect(targets[0]["webSocketDebuggerUrl"]) as ws:
        inspector = Inspector(ws)
        await inspector.command("Debugger.enable")
        placed = await inspector.command("Debugger.setBreakpointByUrl", lineNumber=1, urlRegex=r"index\.js$")
        # Bound at once if the runtime has loaded index.js, else when it does (its locations then
        # come in a Debugger.breakpointResolved event): the pause below is what shows it bound.
        assert placed["result"]["breakpointId"], placed
        thread, answer = invoking(lambda_client(lamina.endpoint), name, {"a": 2, "b": 3})
        paused = await inspector.event("Debugger.paused")
        assert paused["params"]["callFrames"][0]["location"]["lineNumber"] == 1
        await asyncio.to_thread(thread.join, 2.0)  # paused past the timeout (1 s): not killed
        assert thread.is_alive()
        await inspector.command("Debugger.resume")
        await asyncio.to_thread(thread.join, 60)
    return answer


def test_a_server_with_access_keys_refuses_to_debug(make_server: Any, tmp_path: Path) -> None:
    from lamina.cli.client import LambdaClient
    from lamina.cli.errors import CliError
    from lamina.identity.signing import Credentials

    server = make_server(LAMINA_ACCESS_KEYS="AKIADEBUGREFUSED1:secret-of-the-root:123456789012")
    client = LambdaClient(server.endpoint, credentials=Credentials("AKIADEBUGREFUSED1", "secret-of-the-root"))
    with pytest.raises(CliError) as refused:
        client.start_debugging("anything", wait=False, port=0)
    assert "AccessDenied" in str(refused.value) and "LAMINA_ACCESS_KEYS" in str(refused.value)


def test_only_python_and_node_functions_are_debugged(lamina: LaminaProcess, tmp_path: Path, fn_name: str) -> None:
    from lamina.cli.client import LambdaClient
    from lamina.cli.errors import CliError

    client = lambda_client(lamina.endpoint)
    client.create_function(FunctionName=fn_name, Runtime="provided.al2023", Handler="x", Role="arn:aws:iam::000000000000:role/x",
                           Code={"ZipFile": _zip({"bootstrap": "#!/bin/sh\n"})})  # fmt: skip
    with pytest.raises(CliError) as refused:
        LambdaClient(lamina.endpoint).start_debugging(fn_name, wait=False, port=0)
    assert "provided.al2023 functions cannot be debugged" in str(refused.value)
    with pytest.raises(CliError) as missing:
        LambdaClient(lamina.endpoint).start_debugging(fn_name + "-none", wait=False, port=0)
    assert "ResourceNotFound" in str(missing.value)
    with pytest.raises(CliError) as bad_port:
        LambdaClient(lamina.endpoint).start_debugging(fn_name, wait=False, port=70000)
    assert "Port must be between 0" in str(bad_port.value)


def _zip(files: dict[str, str]) -> bytes:
    from tests.conftest import make_zip

    return make_zip(files, {"bootstrap": 0o755})
