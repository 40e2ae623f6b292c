"""The Python runtime (runtime/python/bootstrap.py) against Lamina's own Runtime API endpoint, which
it speaks to in the framed encoding: the real bootstrap in a subprocess, a real RuntimeApiEndpoint
on 127.0.0.1 in this test's event loop."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from lamina.runtime import constants as rc
from lamina.runtime.api import RuntimeResult
from lamina.runtime.families import python as python_family
from lamina.runtime.frames import FramedConnection

from tests.recording_endpoint import RecordingEndpoint, invocation

BOOTSTRAP = Path(__file__).resolve().parents[2] / "src" / "lamina" / "runtime" / "python" / "bootstrap.py"
LIMIT = 6 * 1024 * 1024

SOURCE = """
def handler(event, context):
    if event.get("fail"):
        raise ValueError(event["fail"])
    if "size" in event:
        return "y" * event["size"]
    return {"id": context.aws_request_id, "event": event}
"""


async def serve(task_root: Path, events: list[object], handler: str = "app.handler",
                python: str = sys.executable) -> tuple[list[RuntimeResult], RuntimeResult | None, set[str], int]:  # fmt: skip
    """Run ``events`` through a runtime; (results, its init error if any, connection kinds, exit status)."""
    api = RecordingEndpoint(max_response_bytes=LIMIT)
    api.kinds = set()
    port = await api.start("127.0.0.1")
    env = {"AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}", "_HANDLER": handler, "LAMBDA_TASK_ROOT": str(task_root),
           "AWS_LAMBDA_FUNCTION_NAME": "fn", "LANG": "C.UTF-8"}  # fmt: skip
    proc = await asyncio.create_subprocess_exec(python, "-u", str(BOOTSTRAP), env=env, cwd=task_root,
                                                stdout=asyncio.subprocess.DEVNULL)  # fmt: skip
    results: list[RuntimeResult] = []
    init_error = None
    try:
        ready = asyncio.ensure_future(asyncio.wait([api.ready, api.init_error], return_when=asyncio.FIRST_COMPLETED))
        await asyncio.wait_for(ready, 10)
        if api.init_error.done():
            init_error = api.init_error.result()
        else:
            for n, event in enumerate(events, 1):
                inv = invocation(n, event)
                api.deliver(inv)
                results.append(await asyncio.wait_for(inv.result, 10))
                await asyncio.wait_for(api.asked_for_next(), 10)
                api.finish()
    finally:
        await api.stop()  # the environment goes away: the runtime leaves
        status = await asyncio.wait_for(proc.wait(), 10)
    return results, init_error, api.kinds, status


@pytest.mark.parametrize("version", ["3.9", "3.10", "3.11", "3.12", "3.13"])
def test_invocations_over_frames(tmp_path: Path, version: str) -> None:
    runtime = python_family.resolve(f"python{version}", {})
    if runtime is None or runtime.zygote_python is None:
        pytest.skip(f"no python{version} interpreter installed")
    (tmp_path / "app.py").write_text(SOURCE)
    events: list[object] = [{"a": 1}, {"fail": "bad"}, {"b": "é"}]
    results, init_error, kinds, status = asyncio.run(serve(tmp_path, events, python=runtime.zygote_python))
    assert init_error is None and status == 0
    assert kinds == {FramedConnection.__name__}
    ok, failed, again = results
    assert json.loads(ok.body) == {"id": "req-1", "event": {"a": 1}}
    assert failed.error_type == "ValueError"
    assert json.loads(failed.body)["errorMessage"] == "bad"
    assert json.loads(again.body) == {"id": "req-3", "event": {"b": "é"}}


def test_large_event_and_result(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(SOURCE)
    data = "x" * (5 * 1024 * 1024)
    results, _, _, status = asyncio.run(serve(tmp_path, [{"data": data}, {"size": 5 * 1024 * 1024}, {"small": 1}]))
    assert status == 0
    assert json.loads(results[0].body)["event"]["data"] == data
    assert results[1] == RuntimeResult(json.dumps("y" * (5 * 1024 * 1024)).encode())
    assert json.loads(results[2].body)["event"] == {"small": 1}


def test_an_oversized_result_fails_and_the_runtime_keeps_serving(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(SOURCE)
    results, _, _, status = asyncio.run(serve(tmp_path, [{"size": LIMIT + 1}, {"small": 1}]))
    assert status == 0
    assert results[0].error_type == rc.ERROR_RESPONSE_TOO_LARGE
    assert json.loads(results[1].body)["event"] == {"small": 1}


def test_init_error(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import no_such_module\n")
    _, init_error, kinds, status = asyncio.run(serve(tmp_path, []))
    assert init_error is not None and init_error.error_type == "Runtime.ImportModuleError"
    assert json.loads(init_error.body)["errorMessage"] == "Unable to import module 'app': No module named 'no_such_module'"
    assert kinds == {FramedConnection.__name__}
    assert status == 1
