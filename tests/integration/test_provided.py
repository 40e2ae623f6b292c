"""Custom runtimes (``provided.al2023``, ``provided.al2``): the package's own ``bootstrap``.

Two real bootstraps, unmodified from what runs on AWS Lambda:
  - a Go function built with aws-lambda-go (``lambda.Start``) from the Go module proxy, exactly as
    AWS documents (``CGO_ENABLED=0 GOOS=linux go build -tags lambda.norpc -o bootstrap``);
  - a shell script that loops on the Runtime API, after AWS's custom-runtime tutorial.
A bootstrap that is missing or not executable is covered in test_awslambdaric.py.

Go builds are cached (``build_cache("go")``, in conftest.py): the binary by a hash of the sources, go.mod, go.sum and
the toolchain (bin/), the module download cache (mod/, GOMODCACHE) and the build cache (build/,
GOCACHE), so only the first run needs the module proxy and the compiler's full time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, LaminaProcess, build_cache, deploy
from tests.environments import wait_gone
from tests.functions import arn, invoke, invoke_raw, request_id, wait_for_logs

GO_FUNCTIONS = Path(__file__).resolve().parent / "go"
GO_CACHE = build_cache("go")
SHELL_EXAMPLE = ROOT / "examples" / "shell-hello"


# -- building Go functions --------------------------------------------------------------------


def go_tool() -> str | None:
    return shutil.which("go") or next((p for p in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go") if os.access(p, os.X_OK)), None)


def go_build(function: str, goarch: str | None = None) -> bytes:
    """The ``bootstrap`` binary of ``tests/integration/go/<function>``, built once per source hash
    (for ``goarch``, Go's name of an architecture, if given; else the host's)."""
    go = go_tool()
    if go is None:
        pytest.skip("Go is not installed: run scripts/install/go.sh")
    source = GO_FUNCTIONS / function
    version = subprocess.run([go, "version"], capture_output=True, text=True, check=True).stdout.strip()
    digest = hashlib.sha256(version.encode() + (f"\0{goarch}".encode() if goarch else b""))
    for path in sorted(source.rglob("*")):
        if path.is_file() and (path.suffix == ".go" or path.name in ("go.mod", "go.sum")):
            digest.update(f"{path.relative_to(source)}\0".encode() + path.read_bytes() + b"\0")
    binary = GO_CACHE / "bin" / f"{function}-{digest.hexdigest()[:20]}" / "bootstrap"
    if not binary.exists():
        binary.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ, "CGO_ENABLED": "0", "GOOS": "linux", "GOFLAGS": "-modcacherw", "GOTOOLCHAIN": "local",
            "GOMODCACHE": str(GO_CACHE / "mod"), "GOCACHE": str(GO_CACHE / "build"),
            **({"GOARCH": goarch} if goarch else {}),
        }  # fmt: skip
        with tempfile.TemporaryDirectory(dir=binary.parent) as tmp:
            out = Path(tmp) / "bootstrap"
            build = subprocess.run(
                [go, "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", str(out), "."],
                cwd=source, env=env, capture_output=True, text=True, timeout=900, check=False,
            )  # fmt: skip
            assert build.returncode == 0, f"go build failed:\n{build.stdout}\n{build.stderr}"
            out.replace(binary)  # atomic: a concurrent run sees a whole binary or none
    return binary.read_bytes()


@pytest.fixture(scope="module")
def probe_binary() -> bytes:
    return go_build("probe")


def deploy_go(client: Any, name: str, binary: bytes, **kwargs: Any) -> dict[str, Any]:
    return deploy(client, name, {"bootstrap": binary}, handler="bootstrap", runtime="provided.al2023", **kwargs)


# -- Go: aws-lambda-go ------------------------------------------------------------------------


def test_go_function_with_struct_in_and_out(client: Any, fn_name: str, probe_binary: bytes) -> None:
    deploy_go(client, fn_name, probe_binary, MemorySize=256, Timeout=5)
    streams = set()
    for round_ in (1, 2):
        before_ms = time.time() * 1000
        response, body, log = invoke(client, fn_name, {"name": "Gopher"})
        after_ms = time.time() * 1000
        assert response["StatusCode"] == 200 and "FunctionError" not in response, body
        rid = request_id(response)
        assert body["greeting"] == "Hello, Gopher!"
        assert body["invocations"] == round_  # package state survives in a warm environment
        assert body["awsRequestId"] == rid
        assert body["invokedFunctionArn"] == arn(fn_name)
        assert (body["functionName"], body["functionVersion"], body["memoryLimitInMB"]) == (fn_name, "$LATEST", 256)
        # The event was handed over between the two clocks, however long a cold start took: its
        # deadline is then plus the 5 s timeout (to the millisecond).
        assert before_ms + 5000 - 1 <= body["deadlineMs"] <= after_ms + 5000 + 1
        assert 0 < body["remainingMs"] <= 5000
        assert body["traceId"]
        assert body["cwd"] == body["taskRoot"] and body["handler"] == "bootstrap"
        assert f"greeting Gopher in {rid}" in log
        assert ("Init Duration: " in log) == (round_ == 1), log
        streams.add(body["logStreamName"])
    assert len(streams) == 1


@pytest.mark.parametrize(
    ("action", "error_type", "message"),
    [("error", "errorString", "something went wrong: Gopher"), ("custom-error", "OrderError", "order 42 not found")],
    ids=["errors-new", "own-error-type"],
)  # fmt: skip
def test_go_returned_error(client: Any, fn_name: str, probe_binary: bytes, action: str, error_type: str, message: str) -> None:
    deploy_go(client, fn_name, probe_binary)
    response, body, log = invoke(client, fn_name, {"name": "Gopher", "action": action})
    assert response.get("FunctionError") == "Unhandled", body
    # aws-lambda-go names the error's type and sends no stack trace for a returned error.
    assert body == {"errorMessage": message, "errorType": error_type}
    assert json.dumps(body, separators=(",", ":")) in log  # it logs the error document too

    # A returned error leaves the environment in service.
    response, body, log = invoke(client, fn_name, {"name": "again"})
    assert "FunctionError" not in response, body
    assert body["invocations"] == 2 and "Init Duration: " not in log


def test_go_panic(client: Any, fn_name: str, probe_binary: bytes) -> None:
    deploy_go(client, fn_name, probe_binary)
    _, first, _ = invoke(client, fn_name, {"name": "before"})
    response, body, log = invoke(client, fn_name, {"name": "Gopher", "action": "panic"})
    assert response.get("FunctionError") == "Unhandled", body
    assert body["errorType"] == "string"  # the type of the value passed to panic
    assert body["errorMessage"] == "unexpected state: Gopher"
    frames = body["stackTrace"]
    assert isinstance(frames, list) and frames, body
    assert all(set(frame) == {"path", "line", "label"} for frame in frames), frames
    assert {"path": "probe/main.go", "label": "handle"} in [
        {"path": f["path"], "label": f["label"]} for f in frames
    ], frames
    assert '"errorType":"string"' in log

    # aws-lambda-go exits once it has reported a panic (Lamina then starts a new environment for
    # the next event, as after any exit).
    assert wait_gone(first["logStreamName"]), "the environment outlived its panic"


def test_go_on_provided_al2(client: Any, fn_name: str, probe_binary: bytes) -> None:
    deploy(client, fn_name, {"bootstrap": probe_binary}, handler="unused", runtime="provided.al2")
    response, body, _ = invoke(client, fn_name, {"name": "al2"})
    assert "FunctionError" not in response, body
    assert body["greeting"] == "Hello, al2!" and body["handler"] == "unused"


# -- a shell-script bootstrap -----------------------------------------------------------------


def shell_package() -> dict[str, str | bytes]:
    return {name: (SHELL_EXAMPLE / name).read_bytes() for name in ("bootstrap", "function.sh")}


def test_shell_bootstrap_echoes_the_event(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, shell_package(), handler="function.handler", runtime="provided.al2023")
    event = '{"greeting": "h\u00e9llo", "n": 1}'.encode()
    for round_ in (1, 2):
        response, raw, log = invoke_raw(client, fn_name, event)
        assert response["StatusCode"] == 200 and "FunctionError" not in response
        assert raw == b"Echoing request: '" + event + b"'"
        assert event.decode() in log  # the handler echoes the event to stderr too
        assert ("Init Duration: " in log) == (round_ == 1), log


def test_shell_bootstrap_reports_a_failing_handler(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, shell_package(), handler="function.fail", runtime="provided.al2023")
    response, body, _ = invoke(client, fn_name, {"n": 1})
    assert response.get("FunctionError") == "Unhandled", body
    assert body["errorType"] == "HandlerError"
    assert body["errorMessage"] == "function.fail exited with status 3"
    response, body, _ = invoke(client, fn_name, {"n": 2})  # the runtime goes on to the next event
    assert body["errorMessage"] == "function.fail exited with status 3"


ONE_SHOT = '''#!{python}
"""A runtime that serves one event, answers it, and exits: like a runtime that dies after an error."""
import json, os, urllib.request

api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
with urllib.request.urlopen(api + "next") as event:
    request_id = event.headers["Lambda-Runtime-Aws-Request-Id"]
    body = json.loads(event.read())
answer = urllib.request.Request(api + request_id + "/response", data=json.dumps({{"got": body}}).encode(), method="POST")
urllib.request.urlopen(answer).close()
'''


def test_a_runtime_that_exits_after_answering_does_not_fail_the_next_invocation(client: Any, fn_name: str) -> None:
    python = os.path.realpath(sys.executable)
    deploy(client, fn_name, {"bootstrap": ONE_SHOT.format(python=python)}, runtime="provided.al2023")
    for i in range(4):
        response = client.invoke(FunctionName=fn_name, Payload=json.dumps({"i": i}))
        assert "FunctionError" not in response, response["Payload"].read()
        assert json.loads(response["Payload"].read()) == {"got": {"i": i}}


LOGS_AFTER_REPORTING = '''#!{python}
"""Reports each error first and logs it afterwards, as AWS's Java runtime client does."""
import json, os, sys, urllib.request

api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as event:
        request_id = event.headers["Lambda-Runtime-Aws-Request-Id"]
        event.read()
    error = {{"errorMessage": "bad input", "errorType": "InputError"}}
    post = urllib.request.Request(api + request_id + "/error", data=json.dumps(error).encode(), method="POST")
    urllib.request.urlopen(post).close()
    print("logged after reporting: " + request_id, flush=True)
'''


def test_what_a_runtime_logs_after_its_result_belongs_to_that_invocation(client: Any, fn_name: str) -> None:
    python = os.path.realpath(sys.executable)
    deploy(client, fn_name, {"bootstrap": LOGS_AFTER_REPORTING.format(python=python)}, runtime="provided.al2023")
    for _ in range(2):
        response = client.invoke(FunctionName=fn_name, LogType="Tail")
        assert response["FunctionError"] == "Unhandled"
        assert json.loads(response["Payload"].read())["errorType"] == "InputError"
        request_id = response["ResponseMetadata"]["RequestId"]
        lines = base64.b64decode(response["LogResult"]).decode().splitlines()
        logged = lines.index(f"logged after reporting: {request_id}")
        end = next(i for i, line in enumerate(lines) if line.startswith(f"END RequestId: {request_id}"))
        assert logged < end, lines


PRINTS_AS_IS = '''#!{python}
"""Prints a text line and JSON lines of its own at each event, and the logging variables it sees."""
import json, os, urllib.request

api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as event:
        request_id = event.headers["Lambda-Runtime-Aws-Request-Id"]
        event.read()
    print("plain text line", flush=True)
    print(json.dumps({{"level": "debug", "msg": "my debug log"}}), flush=True)
    print(json.dumps({{"level": "error", "msg": "my error log"}}), flush=True)
    print(json.dumps({{"msg": "down", "level": "FATAL"}}), flush=True)
    seen = {{name: os.environ.get(name) for name in ("AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_LEVEL")}}
    answer = urllib.request.Request(api + request_id + "/response", data=json.dumps(seen).encode(), method="POST")
    urllib.request.urlopen(answer).close()
'''


def test_a_custom_runtimes_lines_are_left_as_written_and_filtered_by_level_with_json_logs(
    lamina: LaminaProcess, client: Any, fn_name: str,
) -> None:  # fmt: skip
    """Lambda's JSON log format changes only its own lines (platform records) for a custom runtime:
    the runtime's lines are stored as it wrote them, those below ApplicationLogLevel left out (a line
    that is no JSON object with a level is INFO); it sees the variables to format its own."""
    python = os.path.realpath(sys.executable)
    deploy(client, fn_name, {"bootstrap": PRINTS_AS_IS.format(python=python)}, runtime="provided.al2023",
           LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "ERROR"})  # fmt: skip
    response = client.invoke(FunctionName=fn_name)
    assert json.loads(response["Payload"].read()) == {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "ERROR"}
    messages = wait_for_logs(lamina.endpoint, fn_name, lambda m: any('"type":"platform.report"' in x for x in m))
    platform = [m for m in messages if m.startswith('{"time"')]
    written = [m for m in messages if m not in platform]
    assert written == ['{"level": "error", "msg": "my error log"}', '{"msg": "down", "level": "FATAL"}'], written
    assert [json.loads(m)["type"] for m in platform] == [
        "platform.initStart", "platform.initRuntimeDone", "platform.initReport", "platform.start",
        "platform.runtimeDone", "platform.report",
    ]  # fmt: skip
