"""Java functions over Lamina's framed Runtime API (``runtime/java/LaminaRuntime.java``,
``FramedRuntimeApiClient.java``): AWS's own runtime loop with another client under it.

Two servers run the same functions: one whose client directory has ``lamina-runtime.jar`` (framed)
and one whose has not (AWS's client over HTTP, as before). Every answer, error, and log line of
one is the other's, request ids and times aside; the framed one is served by the native data
plane, without AWS's native HTTP client loaded at all.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lamina.dataplane import native
from lamina.runtime.families import java as java_family
from lamina.runtime.java import cds, framed
from tests.conftest import LaminaProcess, server_env
from tests.functions import invoke
from tests.integration import test_java
from tests.integration.test_java import AVAILABLE, RUNTIME, Build, deploy_java
from tests.integration.test_native_http_runtimes import call
from tests.integration.test_native_plane import counts, log_lines

pytestmark = pytest.mark.skipif(
    AVAILABLE[RUNTIME] is None, reason="no JDK 17 or no AWS Java runtime interface client: run scripts/install/java.sh"
)
build = test_java.build  # the Java functions' build (a fixture)
MB = 1024 * 1024
SECONDS = re.compile(r"\d+\.\d+")  # a duration


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[str, Path]]:
    """Two copies of the installed client: "framed" with Lamina's jar built into it, "http" without."""
    installed = java_family.ric_dir()
    root = Path(tempfile.mkdtemp(prefix="lamina-java-ric-"))
    try:
        made = {}
        for mode in ("framed", "http"):
            dest = root / mode
            shutil.copytree(installed / "lib", dest / "lib")
            if (installed / "jni").is_dir():
                shutil.copytree(installed / "jni", dest / "jni")
            if mode == "framed":
                framed.build(dest)
            made[mode] = dest
        for path in [root, *root.rglob("*")]:  # readable by the environments' users
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield made
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def servers(clients: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LaminaProcess]]:
    started: dict[str, LaminaProcess] = {}
    try:
        for mode, ric in clients.items():
            env = server_env(LAMINA_JAVA_RIC_DIR=str(ric))
            started[mode] = LaminaProcess(tmp_path_factory.mktemp(f"java-{mode}"), env).start()
        yield started
    finally:
        for server in started.values():
            server.stop()


def both(servers: dict[str, LaminaProcess], build: Build, name: str, handler: str, event: Any,
         **config: Any) -> dict[str, tuple[dict[str, Any], Any, str]]:  # fmt: skip
    """``event`` given to a new function of ``handler`` on each server: its response, body and log."""
    out = {}
    for mode, server in servers.items():
        client = server.client()
        deploy_java(client, name, build, handler, **config)
        out[mode] = invoke(client, name, event)
    return out


def normal(response: dict[str, Any], body: Any, log: str) -> tuple[Any, ...]:
    """What must be the same in both modes: request ids and times replaced."""
    rid = response["ResponseMetadata"]["RequestId"]
    text = SECONDS.sub("<s>", str(body).replace(rid, "<id>"))
    lines = []
    for line in log.replace(rid, "<id>").splitlines():
        if line.startswith("REPORT "):  # its fields, not their values
            line = "\t".join(part.partition(":")[0] for part in line.split("\t"))
        lines.append(SECONDS.sub("<s>", line))
    return response["StatusCode"], response.get("FunctionError"), text, lines


def assert_same(results: dict[str, tuple[dict[str, Any], Any, str]]) -> None:
    framed_result, http_result = normal(*results["framed"]), normal(*results["http"])
    assert framed_result == http_result


CASES = {
    "pojo": ("example.Orders::handleRequest", {"orderId": "o-1", "items": [{"sku": "a", "quantity": 2, "price": 1}]}),
    "map-to-string": ("example.Hello::handleRequest", {"name": "Lamina"}),
    "stream": ("example.Upper::handleRequest", {"say": "hi"}),
    "throws": ("example.Fail::handleRequest", {"what": "x"}),
    "throws-with-a-cause": ("example.Fail::handleRequest", {"what": "checked"}),
    "logs": ("example.Channel::handleRequest", {"action": "log"}),
    "class-not-found": ("example.Nowhere::handleRequest", {}),
    "method-not-found": ("example.Hello::nothing", {}),
    "constructor-throws": ("example.BrokenInit::handleRequest", {}),
    "system-exit": ("example.Misbehave::handleRequest", {"action": "exit"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_same_answers_errors_and_logs_as_over_http(servers: dict[str, LaminaProcess], build: Build,
                                                      case: str) -> None:  # fmt: skip
    handler, event = CASES[case]
    results = both(servers, build, f"same-{case}", handler, event)
    assert_same(results)


def test_a_result_over_6_mb_is_lambdas_error(servers: dict[str, LaminaProcess], build: Build) -> None:
    """The caller's answer is the same. The log is not quite: AWS's client, over HTTP, logs the
    413 its result was answered with; frames have no answers, so over them nothing is logged."""
    results = both(servers, build, "big", "example.Channel::handleRequest", {"action": "big", "bytes": 7 * MB})
    framed_result, http_result = normal(*results["framed"]), normal(*results["http"])
    assert framed_result[:3] == http_result[:3]
    assert "Function.ResponseSizeTooLarge" in framed_result[2] and framed_result[1] == "Unhandled"
    assert any("Http response code: 413" in line for line in http_result[3])
    assert framed_result[3] == [line for line in http_result[3] if line.startswith(("START ", "END ", "REPORT "))]


def test_a_fatal_error_is_sent_before_the_runtime_exits(servers: dict[str, LaminaProcess], build: Build) -> None:
    """After an OutOfMemoryError AWS's loop ends and the JVM exits: the error it reported, held for
    the next N that never comes, is sent before that."""
    results = both(servers, build, "heap", "example.Misbehave::handleRequest", {"action": "allocate", "mb": 600},
                   MemorySize=512, Timeout=30)  # fmt: skip
    assert results["framed"][1]["errorType"] == "java.lang.OutOfMemoryError", results["framed"][1]
    assert normal(*results["framed"])[:3] == normal(*results["http"])[:3]


def test_a_timeout_is_the_same(servers: dict[str, LaminaProcess], build: Build) -> None:
    results = both(servers, build, "timeout", "example.Misbehave::handleRequest", {"action": "sleep", "seconds": 5},
                   Timeout=1)  # fmt: skip
    assert results["framed"][1]["errorType"] == "Sandbox.Timedout", results["framed"][1]
    assert_same(results)


def test_the_context_is_the_same(servers: dict[str, LaminaProcess], build: Build) -> None:
    """Request id, ARN, deadline, trace header, client context and Cognito identity, as AWS's client reads them."""
    document = {"custom": {"k": "v"}, "env": {"e": "1"}, "client": {"installation_id": "i"}}
    client_context = base64.b64encode(json.dumps(document).encode()).decode()
    out = {}
    for mode, server in servers.items():
        client = server.client()
        deploy_java(client, "context", build, "example.Channel::handleRequest", Timeout=7)
        out[mode] = invoke(client, "context", {"action": "context"}, ClientContext=client_context)
    bodies = {mode: dict(body) for mode, (_, body, _) in out.items()}
    for mode, (response, body, _) in out.items():
        assert body["awsRequestId"] == response["ResponseMetadata"]["RequestId"]
        assert 0 < body["remainingTimeInMillis"] <= 7000
        assert body["traceHeader"].startswith("Root=1-"), body
        assert body["clientContext"] == {"custom": {"k": "v"}, "env": {"e": "1"}, "installationId": "i"}, body
    # Over frames, AWS's native HTTP client is not even loaded.
    assert (bodies["framed"]["mainClass"], bodies["framed"]["jniLoaded"]) == ("lamina.runtime.LaminaRuntime", False)
    assert bodies["http"]["mainClass"] == "com.amazonaws.services.lambda.runtime.api.client.AWSLambda"
    assert bodies["http"]["jniLoaded"] is True
    for body in bodies.values():
        for varying in ("awsRequestId", "remainingTimeInMillis", "traceHeader", "mainClass", "jniLoaded"):
            del body[varying]
    assert bodies["framed"] == bodies["http"]


def test_threads_logging_at_once(servers: dict[str, LaminaProcess], build: Build) -> None:
    """Eight threads writing to System.out and the context's logger at once: every line of each is
    in the log once (how they interleave is theirs), and the result is the same."""
    results = both(servers, build, "threads", "example.Channel::handleRequest", {"action": "threads"})
    assert results["framed"][1] == 8 * sum(range(50))
    framed_result, http_result = normal(*results["framed"]), normal(*results["http"])
    assert framed_result[:3] == http_result[:3]
    for mode, (response, _, _) in results.items():  # the whole log: the tail is its last 4 KB
        log = "".join(log_lines(servers[mode], "threads", response["ResponseMetadata"]["RequestId"]))
        for n in range(8):
            for i in range(50):
                for kind in ("line", "logger"):  # a println's newline may come after another thread's line
                    assert len(re.findall(rf"thread {n} {kind} {i}(?!\d)", log)) == 1, log


@pytest.mark.parametrize("kind", ["frames", "bytes"])
def test_garbage_written_to_the_runtime_api_by_the_function(servers: dict[str, LaminaProcess], build: Build,
                                                           kind: str) -> None:  # fmt: skip
    """A function that writes frames of its own (an unknown kind, a forged result, a 4 GB length)
    or plain garbage to the Runtime API harms neither its invocation nor the next one."""
    client = servers["framed"].client()
    name = f"garbage-{kind}"
    deploy_java(client, name, build, "example.Channel::handleRequest")
    response, body, _ = invoke(client, name, {"action": "garbage", "kind": kind})
    assert "FunctionError" not in response and body == f"wrote {kind}", body
    response, body, _ = invoke(client, name, {"action": "log"})
    assert "FunctionError" not in response and body == "logged", body


@pytest.mark.skipif(not native.available(), reason="lamina_native is not built (no cargo)")
def test_warm_invocations_are_served_natively_over_frames(servers: dict[str, LaminaProcess], build: Build) -> None:
    server = servers["framed"]
    client = server.client()
    deploy_java(client, "native", build, "example.Hello::handleRequest")
    for _ in range(2):  # after these the environment is lent to the plane
        assert call(client, "native", {"name": "warm"})[1] == "Hello, warm!"
    for name in ("Duke", "Lamina"):
        before = counts(server)
        response, body = call(client, "native", {"name": name})  # no log tail: the plane serves those
        after = counts(server)
        assert "FunctionError" not in response and body == f"Hello, {name}!"
        assert (after["served"] - before["served"], after["givenBack"] - before["givenBack"]) == (1, 0)
    lines = log_lines(server, "native", response["ResponseMetadata"]["RequestId"])
    assert "hello-line Lamina\n" in lines
    assert lines[-1].startswith("REPORT RequestId: ")


def test_without_the_jar_the_log_says_so(servers: dict[str, LaminaProcess], build: Build) -> None:
    """Java functions without Lamina's jar run as before; the server's log says why they are slower."""
    for mode, server in servers.items():
        deploy_java(server.client(), "said", build, "example.Hello::handleRequest")
        said = [line for line in server.output if "lamina-runtime.jar" in line]
        assert bool(said) == (mode == "http"), said


def test_the_class_data_archive_is_made_with_the_jar_through_the_http_fallback(clients: dict[str, Path]) -> None:
    """The archive's training run serves its events over HTTP only: the framed client, refused,
    goes on over HTTP; the archive is named by the jar, so a new jar makes a new archive."""
    java = Path(AVAILABLE[RUNTIME].interpreter)  # type: ignore[union-attr]
    ric = clients["framed"]
    made = cds.train(ric, java)  # asserts that the training run's three events were answered
    assert made.is_file() and made == cds.archive_path(ric, java)
    jar_id = hashlib.sha256((ric / framed.JAR_NAME).read_bytes()).hexdigest()[:8]
    assert made.name.endswith(f"-{jar_id}.jsa"), made
    assert cds.archive_path(clients["http"], java).name == made.name.replace(f"-{jar_id}", "")  # type: ignore[union-attr]
    made.unlink()


# -- the client against a Runtime API that misbehaves ----------------------------------------


def _frame(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body) + 1) + kind + body


def _read(conn: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            break
        data += chunk
    return data


@pytest.fixture
def runtime_against(clients: dict[str, Path], build: Build, tmp_path: Path) -> Iterator[Any]:
    """Start the framed Java runtime (example.Hello) against a Runtime API that is a bare socket here."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(60)
    task = tmp_path / "task"
    with zipfile.ZipFile(build.classes) as jar:
        jar.extractall(task)
    runtime = AVAILABLE[RUNTIME]
    assert runtime is not None
    argv = list(runtime.argv)
    argv[3], argv[4], argv[5] = str(clients["framed"]), "-", str(clients["framed"] / framed.JAR_NAME)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "_HANDLER": "example.Hello::handleRequest",
           "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{listener.getsockname()[1]}", "LAMBDA_TASK_ROOT": str(task),
           "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}  # fmt: skip
    with open(tmp_path / "output", "wb") as output:
        proc = subprocess.Popen(argv, cwd=task, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            yield listener
        finally:
            proc.kill()
            proc.wait()
            listener.close()


EVENT_HEAD = (b"Lambda-Runtime-Aws-Request-Id: r-1\r\nLambda-Runtime-Deadline-Ms: 99999999999999\r\n"
              b"Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:000000000000:function:f\r\n\r\n")  # fmt: skip


def test_frames_of_other_kinds_are_skipped_and_the_result_goes_with_the_next_n(runtime_against: Any) -> None:
    """Once the server has sent an event, a frame of a kind not meant for a runtime is skipped
    (before it, one means the server speaks no frames: below)."""
    conn, _ = runtime_against.accept()
    with conn:
        conn.settimeout(60)
        assert _read(conn, 13) == b"LAMINA1\n" + _frame(b"N", b"")
        for n, before in enumerate([b"", _frame(b"Z", b"\r\n\r\nnot an event") + _frame(b"R", b"r-0\nx")]):
            event = EVENT_HEAD.replace(b"r-1", f"r-{n}".encode())
            conn.sendall(before + _frame(b"E", event + f'{{"name": "{n}"}}'.encode()))
            result = _frame(b"R", f'r-{n}\n"Hello, {n}!"'.encode()) + _frame(b"N", b"")
            assert _read(conn, len(result)) == result


@pytest.mark.parametrize("answer", [b"\xff\xff\xff\xffE", b"HTTP/1.1 400 Bad Request\r\n\r\n", b"<!DOCTYPE HTML>\n"])
def test_a_runtime_api_without_frames_is_spoken_to_over_http(runtime_against: Any, answer: bytes) -> None:
    """What no Lamina server answers to the preface (a 4 GB length, an HTTP answer, an HTTP/0.9
    page) is not read as a frame, nor allocated: the runtime goes on with AWS's HTTP client."""
    conn, _ = runtime_against.accept()
    with conn:
        conn.settimeout(60)
        assert _read(conn, 13) == b"LAMINA1\n" + _frame(b"N", b"")
        conn.sendall(answer)
        assert _read(conn, 1) == b""  # the runtime closed it
    conn, _ = runtime_against.accept()
    with conn:
        conn.settimeout(60)
        assert _read(conn, 48) == b"GET /2018-06-01/runtime/invocation/next HTTP/1.1"
