"""Lamina's Ruby and .NET runtimes against Lamina's own Runtime API endpoint, which they speak to in
the framed encoding (runtime/frames.py): the real runtime in a subprocess, a real
RuntimeApiEndpoint on 127.0.0.1 in this test's event loop, recording which kind of connection
each call came on.

The end-to-end behaviour of both runtimes (through a server and boto3) is in test_ruby.py and
test_dotnet.py; here is what only the endpoint sees: that the calls come as frames, on one
connection, that results, errors and init errors arrive intact, and that a runtime goes on over
HTTP when the server closes a framed connection before it sent any event.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from lamina.runtime import constants as rc
from lamina.runtime.api import Invocation, RuntimeApiEndpoint, RuntimeResult
from lamina.runtime.families import Runtime, dotnet, fill, ruby
from lamina.runtime.frames import FramedConnection
from lamina.runtime.http11 import Channel, Connection
from tests.integration.test_dotnet import SOURCES, compile_assembly

LIMIT = 6 * 1024 * 1024
FRAMED = FramedConnection.__name__
HTTP = Connection.__name__
CLIENT_CONTEXT = {"client": {"app_title": "t"}, "custom": {"team": "bleu é"}, "env": {"platform": "test"}}
IDENTITY = {"cognitoIdentityId": "us-east-1:id-1", "cognitoIdentityPoolId": "us-east-1:pool"}


class Endpoint(RuntimeApiEndpoint):
    """Records the kinds of connection the runtime opened and its calls came on; refuses framed
    connections when ``frames_refused`` (a server that does not speak frames closes them)."""

    def __init__(self, *, frames_refused: bool = False) -> None:
        super().__init__(max_response_bytes=LIMIT)
        self.frames_refused = frames_refused
        self.opened: list[str] = []
        self.calls: set[str] = set()

    def connection_allowed(self, conn: Channel) -> bool:
        kind = type(conn).__name__
        if kind == FRAMED:
            self.opened.append(kind)  # an HTTP connection is "opened" whatever it then speaks
        if self.frames_refused and kind == FRAMED:
            return False
        return super().connection_allowed(conn)

    def handle_request(self, conn: Channel, method: str, path: str, headers: dict[str, str], body: bytes | None) -> None:
        self.calls.add(type(conn).__name__)
        super().handle_request(conn, method, path, headers, body)


@dataclass
class Run:
    results: list[RuntimeResult]
    init_error: RuntimeResult | None
    calls: set[str]  # the kinds of connection the runtime's calls came on
    framed_connections: int
    status: int  # the runtime's exit status


def invocation(n: int, payload: object, client_context: object) -> Invocation:
    return Invocation(request_id=f"req-{n}", payload=json.dumps(payload).encode(), deadline_ms=2**41,
                      function_arn="arn:aws:lambda:us-east-1:000000000000:function:fn", trace_id="Root=1-abc",
                      client_context=json.dumps(client_context, ensure_ascii=False), cognito_identity=json.dumps(IDENTITY))  # fmt: skip


async def serve(runtime: Runtime, task_root: Path, handler: str, events: list[object], *,
                frames_refused: bool = False, client_context: object = CLIENT_CONTEXT) -> Run:  # fmt: skip
    """Run ``events`` through the runtime, one after the other, until it exits or they are done."""
    api = Endpoint(frames_refused=frames_refused)
    port = await api.start("127.0.0.1")
    home = str(runtime.home or task_root)
    env = {key: fill(value, task_root=str(task_root), runtime_dir=home, sdk_node_modules=home + "/node_modules")
           for key, value in runtime.env.items()}  # fmt: skip
    env |= {"AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}", "_HANDLER": handler, "LAMBDA_TASK_ROOT": str(task_root),
            "AWS_LAMBDA_FUNCTION_NAME": "fn", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "LANG": "C.UTF-8",
            "PATH": "/usr/local/bin:/usr/bin:/bin"}  # fmt: skip
    proc = await asyncio.create_subprocess_exec(*runtime.command(task_root), env=env, cwd=task_root,
                                                stdout=asyncio.subprocess.DEVNULL)  # fmt: skip
    exited = asyncio.ensure_future(proc.wait())
    results: list[RuntimeResult] = []
    init_error = None
    try:
        await asyncio.wait_for(asyncio.wait([api.ready, api.init_error], return_when=asyncio.FIRST_COMPLETED), 30)
        if api.init_error.done():
            init_error = api.init_error.result()
        else:
            for n, event in enumerate(events, 1):
                inv = invocation(n, event, client_context)
                api.deliver(inv)
                results.append(await asyncio.wait_for(inv.result, 30))
                await asyncio.wait_for(asyncio.wait([api.asked_for_next(), exited], return_when=asyncio.FIRST_COMPLETED), 30)
                api.finish()
                if exited.done():
                    break
        # A runtime that reported an init error or a critical exception ends on its own.
        if init_error is not None or exited.done():
            await asyncio.wait_for(asyncio.shield(exited), 30)
    finally:
        await api.stop()  # the environment goes away: a runtime still serving leaves
        status = await asyncio.wait_for(exited, 30)
    return Run(results, init_error, api.calls, len(api.opened), status)


def doc(result: RuntimeResult) -> dict[str, object]:
    body = json.loads(result.body)
    assert isinstance(body, dict), body
    return body


# -- Ruby -------------------------------------------------------------------------------------

RUBY_CODE = """
def handler(event:, context:)
  raise "boom #{event['fail']}" if event['fail']
  return nil.crash if event['crash']
  return 'y' * event['size'] if event['size']

  { 'id' => context.aws_request_id, 'event' => event, 'arn' => context.invoked_function_arn,
    'client_context' => context.client_context, 'identity' => context.identity,
    'remaining' => context.get_remaining_time_in_millis.positive?, 'trace' => ENV['_X_AMZN_TRACE_ID'],
    'http_loaded' => !!defined?(LaminaRuntime::HttpClient) }
end
"""


@pytest.fixture(scope="module")
def ruby_runtime() -> Runtime:
    found = ruby.resolve("ruby3.3", {}) if shutil.which("ruby") else None
    if found is None:
        pytest.skip("no Ruby on this host: run scripts/install/ruby.sh")
    return found


def ruby_serve(runtime: Runtime, task_root: Path, events: list[object], *, handler: str = "app.handler",
               frames_refused: bool = False, client_context: object = CLIENT_CONTEXT) -> Run:  # fmt: skip
    if not (task_root / "app.rb").exists():
        (task_root / "app.rb").write_text(RUBY_CODE)
    return asyncio.run(serve(runtime, task_root, handler, events, frames_refused=frames_refused,
                             client_context=client_context))  # fmt: skip


def test_ruby_invocations_come_as_frames_on_one_connection(ruby_runtime: Runtime, tmp_path: Path) -> None:
    run = ruby_serve(ruby_runtime, tmp_path, [{"a": 1}, {"fail": "here"}, {"b": "é"}])
    assert run.init_error is None and run.status == 0
    assert run.calls == {FRAMED} and run.framed_connections == 1
    ok, failed, again = run.results
    assert doc(ok) == {
        "id": "req-1", "event": {"a": 1}, "arn": "arn:aws:lambda:us-east-1:000000000000:function:fn",
        "client_context": CLIENT_CONTEXT, "identity": IDENTITY, "remaining": True, "trace": "Root=1-abc",
        "http_loaded": False,
    }  # fmt: skip
    assert failed.error_type == "Function<UserException>"
    error = doc(failed)
    assert (error["errorType"], error["errorMessage"]) == ("Function<RuntimeError>", "boom here")
    assert error["stackTrace"] and all("app.rb" in frame for frame in error["stackTrace"]), error  # type: ignore[union-attr]
    assert doc(again)["event"] == {"b": "é"}


def test_ruby_large_results_and_one_over_the_limit(ruby_runtime: Runtime, tmp_path: Path) -> None:
    data = "x" * (5 * 1024 * 1024)
    run = ruby_serve(ruby_runtime, tmp_path, [{"data": data}, {"size": LIMIT + 1}, {"size": 5 * 1024 * 1024}, {"n": 4}])
    assert run.status == 0 and run.calls == {FRAMED}
    big_event, too_large, big_result, small = run.results
    assert doc(big_event)["event"] == {"data": data}
    assert too_large.error_type == rc.ERROR_RESPONSE_TOO_LARGE
    assert big_result == RuntimeResult(json.dumps("y" * (5 * 1024 * 1024)).encode())
    assert doc(small)["event"] == {"n": 4}


def test_ruby_critical_exception_is_reported_before_the_runtime_exits(ruby_runtime: Runtime, tmp_path: Path) -> None:
    run = ruby_serve(ruby_runtime, tmp_path, [{"a": 1}, {"crash": True}, {"never": "served"}])
    assert run.calls == {FRAMED}
    assert len(run.results) == 2  # the runtime exits after the critical exception
    crashed = run.results[1]
    assert crashed.error_type == "Function<NoMethodError>"
    assert doc(crashed)["errorType"] == "Function<NoMethodError>"
    assert "undefined method `crash' for nil" in str(doc(crashed)["errorMessage"])
    assert run.status == 255  # AWS's runtime's exit(-1)


def test_ruby_init_error_comes_as_a_frame(ruby_runtime: Runtime, tmp_path: Path) -> None:
    run = ruby_serve(ruby_runtime, tmp_path, [], handler="missing.handler")
    assert run.init_error is not None and run.init_error.error_type == "Init<LoadError>"
    assert doc(run.init_error)["errorType"] == "Init<LoadError>"
    assert doc(run.init_error)["errorMessage"] == "cannot load such file -- missing"
    assert run.calls == {FRAMED}
    assert run.status == 252  # AWS's runtime's exit(-4)


def test_ruby_speaks_http_to_a_server_that_closes_framed_connections(ruby_runtime: Runtime, tmp_path: Path) -> None:
    # ASCII only: over HTTP the server writes header values in Latin-1, which Ruby's Net::HTTP
    # does not decode.
    context = {"custom": {"team": "blue"}}
    run = ruby_serve(ruby_runtime, tmp_path, [{"a": 1}, {"fail": "here"}, {"b": 2}], frames_refused=True,
                     client_context=context)  # fmt: skip
    assert run.status == 0
    assert run.calls == {HTTP} and run.framed_connections == 1  # tried once, then HTTP
    ok, failed, again = run.results
    assert doc(ok)["event"] == {"a": 1} and doc(ok)["client_context"] == context
    assert doc(ok)["http_loaded"] is True
    assert failed.error_type == "Function<UserException>" and doc(failed)["errorMessage"] == "boom here"
    assert doc(again)["event"] == {"b": 2}


# -- .NET -------------------------------------------------------------------------------------

TESTS = "LaminaTests::LaminaTests.Function::"


@pytest.fixture(scope="module")
def dotnet_runtime() -> Runtime:
    mono = shutil.which("mono")
    if mono is None or dotnet.find_mcs(mono) is None:
        pytest.skip("Mono is not installed (mono, mcs): run scripts/install/dotnet.sh")
    found = dotnet.resolve("dotnet8", {})
    assert found is not None
    return found


@pytest.fixture
def dotnet_package(dotnet_runtime: Runtime, tmp_path: Path) -> Path:
    assert dotnet_runtime.home is not None
    build = dotnet_runtime.home
    for name, content in compile_assembly(build, "LaminaTests", [SOURCES / "Functions.cs"]).items():
        (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return tmp_path


def dotnet_serve(runtime: Runtime, task_root: Path, handler: str, events: list[object], *,
                 frames_refused: bool = False) -> Run:  # fmt: skip
    return asyncio.run(serve(runtime, task_root, TESTS + handler, events, frames_refused=frames_refused))


def test_dotnet_invocations_come_as_frames_on_one_connection(dotnet_runtime: Runtime, dotnet_package: Path) -> None:
    run = dotnet_serve(dotnet_runtime, dotnet_package, "Context", [{"a": 1}, {"b": "é"}])
    assert run.init_error is None and run.status == 0
    assert run.calls == {FRAMED} and run.framed_connections == 1
    first, second = (doc(result) for result in run.results)
    assert first["AwsRequestId"] == "req-1" and second["AwsRequestId"] == "req-2"
    assert first["InvokedFunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:fn"
    assert first["ClientCustom"] == {"team": "bleu é"}
    assert first["IdentityId"] == "us-east-1:id-1"
    assert int(str(first["RemainingMs"])) > 0
    assert first["Input"] == {"a": 1} and second["Input"] == {"b": "é"}
    assert first["Env"]["_X_AMZN_TRACE_ID"] == "Root=1-abc"  # type: ignore[index]


def test_dotnet_errors_and_large_results(dotnet_runtime: Runtime, dotnet_package: Path) -> None:
    run = dotnet_serve(dotnet_runtime, dotnet_package, "Throw", [{"why": "because"}, {"why": "again"}])
    assert run.status == 0 and run.calls == {FRAMED}
    for result, why in zip(run.results, ["because", "again"]):
        assert result.error_type == "InvalidOperationException"
        error = doc(result)
        assert (error["errorType"], error["errorMessage"]) == ("InvalidOperationException", f"boom: {why}")
        cause = error["cause"]
        assert isinstance(cause, dict) and cause["errorType"] == "ArgumentException", error
        assert cause["errorMessage"] == "the inner problem"

    text = "ab" * (2 * 1024 * 1024)
    run = dotnet_serve(dotnet_runtime, dotnet_package, "Upper", [text, "x" * (LIMIT + 1), "small"])
    assert run.status == 0 and run.calls == {FRAMED}
    large, too_large, small = run.results
    assert large == RuntimeResult(json.dumps(text.upper()).encode())
    assert too_large.error_type == rc.ERROR_RESPONSE_TOO_LARGE
    assert small == RuntimeResult(b'"SMALL"')


def test_dotnet_init_error_comes_as_a_frame(dotnet_runtime: Runtime, dotnet_package: Path) -> None:
    run = dotnet_serve(dotnet_runtime, dotnet_package, "Nope", [])
    assert run.init_error is not None
    assert run.init_error.error_type == "LambdaValidationException"  # read from the document: no type is sent
    assert doc(run.init_error)["errorMessage"] == (
        "Unable to find method 'Nope' in type 'LaminaTests.Function' from assembly 'LaminaTests': "
        "Found no methods matching method name 'Nope'."
    )
    assert run.calls == {FRAMED}
    assert run.status == 1


def test_dotnet_speaks_http_to_a_server_that_closes_framed_connections(dotnet_runtime: Runtime, dotnet_package: Path) -> None:
    run = dotnet_serve(dotnet_runtime, dotnet_package, "Throw", [{"why": "because"}], frames_refused=True)
    assert run.status == 0
    assert run.calls == {HTTP} and run.framed_connections == 1
    assert run.results[0].error_type == "InvalidOperationException"
    assert doc(run.results[0])["errorMessage"] == "boom: because"
