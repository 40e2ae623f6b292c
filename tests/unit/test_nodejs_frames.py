"""The Node.js runtime (runtime/nodejs) against Lamina's own Runtime API endpoint, which it speaks
to in the framed encoding: the real runtime (``node index.cjs``) in a subprocess, a real
RuntimeApiEndpoint on 127.0.0.1 in this test's event loop."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from lamina.runtime.api import RuntimeResult
from lamina.runtime.frames import FramedConnection

from tests.recording_endpoint import RecordingEndpoint, invocation

INDEX = Path(__file__).resolve().parents[2] / "src" / "lamina" / "runtime" / "nodejs" / "index.cjs"
NODE = shutil.which("node")
LIMIT = 6 * 1024 * 1024

pytestmark = pytest.mark.skipif(NODE is None, reason="no node on PATH")

SOURCE = """
exports.handler = async (event, context) => {
  if (event.fail) throw new TypeError(event.fail);
  if (event.size) return 'y'.repeat(event.size);
  if (event.throwLater) setTimeout(() => { throw new Error('from a timer'); }, 10);
  if (event.throwLater) return new Promise(() => {});
  return { id: context.awsRequestId, event };
};
exports.callback = (event, context, callback) => {
  setTimeout(() => callback(null, { later: event.n }), 5);
};
"""


async def serve(task_root: Path, events: list[object], handler: str = "app.handler") -> tuple[list[RuntimeResult], RuntimeResult | None, set[str], int]:
    """Run ``events`` through a runtime; (results, its init error if any, connection kinds, exit status).
    The results are read once the runtime has exited if it did, else once it asked for more."""
    assert NODE is not None
    api = RecordingEndpoint(max_response_bytes=LIMIT)
    api.kinds = set()
    port = await api.start("127.0.0.1")
    env = {"AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}", "_HANDLER": handler, "LAMBDA_TASK_ROOT": str(task_root),
           "AWS_LAMBDA_FUNCTION_NAME": "fn", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
           "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "NODE_PATH": str(task_root)}  # fmt: skip
    proc = await asyncio.create_subprocess_exec(NODE, str(INDEX), env=env, cwd=task_root,
                                                stdout=asyncio.subprocess.DEVNULL)  # fmt: skip
    exited = asyncio.ensure_future(proc.wait())
    results: list[RuntimeResult] = []
    init_error = None
    try:
        await asyncio.wait([api.ready, api.init_error, exited], timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if not api.ready.done():
            await asyncio.wait_for(exited, 10)
            init_error = api.init_error.result() if api.init_error.done() else None  # read before the exit was seen
        else:
            for n, event in enumerate(events, 1):
                inv = invocation(n, event)
                api.deliver(inv)
                await asyncio.wait([inv.result, exited], timeout=10, return_when=asyncio.FIRST_COMPLETED)
                await asyncio.wait([asyncio.ensure_future(api.asked_for_next()), exited], timeout=10,
                                   return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
                if exited.done():
                    assert inv.result.done(), "the runtime exited before the server had its result"
                results.append(inv.result.result())
                api.finish()
                if exited.done():
                    break
    finally:
        await api.stop()  # the environment goes away: the runtime leaves
        status = await asyncio.wait_for(exited, 10)
    return results, init_error, api.kinds, status


def test_invocations_over_frames(tmp_path: Path) -> None:
    (tmp_path / "app.js").write_text(SOURCE)
    results, init_error, kinds, _ = asyncio.run(serve(tmp_path, [{"a": 1}, {"fail": "bad"}, {"b": "é"}]))
    assert init_error is None
    assert kinds == {FramedConnection.__name__}
    ok, failed, again = results
    assert json.loads(ok.body) == {"id": "req-1", "event": {"a": 1}}
    assert failed.error_type == "TypeError"
    assert json.loads(failed.body)["errorMessage"] == "bad"
    assert json.loads(again.body) == {"id": "req-3", "event": {"b": "é"}}


def test_callback_handler_and_large_results(tmp_path: Path) -> None:
    (tmp_path / "app.js").write_text(SOURCE)
    results, _, kinds, _ = asyncio.run(serve(tmp_path, [{"n": 1}, {"n": 2}], handler="app.callback"))
    assert [json.loads(r.body) for r in results] == [{"later": 1}, {"later": 2}]
    big = 5 * 1024 * 1024
    results, _, _, _ = asyncio.run(serve(tmp_path, [{"size": big}, {"data": "x" * big}, {"size": LIMIT}]))
    assert results[0] == RuntimeResult(json.dumps("y" * big).encode())
    assert json.loads(results[1].body)["event"] == {"data": "x" * big}
    assert results[2].error_type == "Function.ResponseSizeTooLarge"


def test_an_error_reported_before_the_runtime_exits_reaches_the_server_first(tmp_path: Path) -> None:
    (tmp_path / "app.js").write_text(SOURCE)
    results, _, _, status = asyncio.run(serve(tmp_path, [{"throwLater": True}, {"never": "served"}]))
    assert len(results) == 1 and results[0].error_type == "Error"
    assert json.loads(results[0].body)["errorMessage"] == "from a timer"
    assert status == 129


def test_init_error(tmp_path: Path) -> None:
    (tmp_path / "app.js").write_text("throw new RangeError('no config');\n")
    _, init_error, kinds, status = asyncio.run(serve(tmp_path, []))
    assert init_error is not None and init_error.error_type == "RangeError"
    assert json.loads(init_error.body)["errorMessage"] == "no config"
    assert kinds == {FramedConnection.__name__}
    assert status == 129


def test_a_server_that_speaks_only_http_is_spoken_to_in_http(tmp_path: Path) -> None:
    """The runtime's preface is refused as bad HTTP: it speaks HTTP on a new connection."""
    assert NODE is not None
    (tmp_path / "app.js").write_text(SOURCE)
    event = b'{"a": 1}'
    seen: list[bytes] = []

    def serve(listener: socket.socket) -> None:
        with listener.accept()[0] as first:
            seen.append(first.recv(65536))
            first.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        with listener.accept()[0] as conn:
            reader = conn.makefile("rb")
            seen.append(reader.readline())
            while reader.readline() not in (b"\r\n", b""):
                pass
            conn.sendall(b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r-1\r\nLambda-Runtime-Deadline-Ms: "
                         b"2000000000000\r\nContent-Length: %d\r\n\r\n%s" % (len(event), event))  # fmt: skip
            seen.append(reader.readline())
            length = 0
            while (line := reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            seen.append(reader.read(length))
            conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        listener.close()  # and then the Runtime API is gone

    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(20)
        thread = threading.Thread(target=serve, args=(listener,))
        thread.start()
        env = {"AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{listener.getsockname()[1]}", "_HANDLER": "app.handler",
               "LAMBDA_TASK_ROOT": str(tmp_path), "NODE_PATH": str(tmp_path)}  # fmt: skip
        proc = subprocess.run([NODE, str(INDEX)], env=env, cwd=tmp_path, capture_output=True, timeout=30, check=False)
        thread.join(30)
    assert seen[0].startswith(b"LAMINA1\n")
    assert seen[1] == b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n"
    assert seen[2] == b"POST /2018-06-01/runtime/invocation/r-1/response HTTP/1.1\r\n"
    assert json.loads(seen[3]) == {"id": "r-1", "event": {"a": 1}}
    assert proc.returncode == 1  # the Runtime API went away after the first event
