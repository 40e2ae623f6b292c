"""The .NET runtimes (``dotnet8``, ``dotnet10``) on Mono, end to end through boto3.

The functions are real C# (``tests/integration/dotnet/*.cs``), written as AWS documents .NET
handlers and compiled with Mono's ``mcs`` against Lamina's own Amazon.Lambda.Core and
Amazon.Lambda.Serialization.SystemTextJson; compiled assemblies are cached under
``build_cache("dotnet")`` (conftest.py) by a digest of their sources and of the runtime's assemblies.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from lamina.runtime.families import dotnet
from tests.conftest import ROOT, LaminaProcess, build_cache, deploy
from tests.functions import arn, invoke_in_a_row, invoke_raw, request_id, wait_for_logs

SOURCES = Path(__file__).resolve().parent / "dotnet"
CACHE = build_cache("dotnet")
EXAMPLES = ROOT / "examples"
TESTS = "LaminaTests::LaminaTests.Function::"
VALIDATION = "LambdaValidationException"


# -- building -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runtime_build() -> Path:
    """Lamina's .NET runtime, built (or found built) as the server will find it."""
    mono = shutil.which("mono")
    mcs = dotnet.find_mcs(mono)
    if mono is None or mcs is None:
        pytest.skip("Mono is not installed (mono, mcs): run scripts/install/dotnet.sh")
    return dotnet.ensure_built(mcs)


def compile_assembly(build: Path, name: str, sources: list[Path]) -> dict[str, str | bytes]:
    """``name``.dll (with its debug symbols) compiled from ``sources``: the files of a package."""
    references = [build / dotnet.CORE_DLL, build / dotnet.SERIALIZER_DLL]
    digest = hashlib.sha256(name.encode())
    for path in [*sources, *references]:
        digest.update(path.read_bytes())
    out = CACHE / digest.hexdigest()[:24]
    dll = out / f"{name}.dll"
    if not dll.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=CACHE))
        mcs = dotnet.find_mcs(shutil.which("mono")) or "mcs"
        argv = [mcs, "-nologo", "-debug", "-target:library", f"-out:{work / dll.name}"]
        argv += [f"-r:{ref}" for ref in references] + [str(s) for s in sources]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        try:
            os.rename(work, out)
        except OSError:
            shutil.rmtree(work)  # built meanwhile by another run
    return {path.name: path.read_bytes() for path in out.iterdir()}


@pytest.fixture(scope="module")
def functions(runtime_build: Path) -> dict[str, str | bytes]:
    return compile_assembly(runtime_build, "LaminaTests", [SOURCES / "Functions.cs"])


# -- helpers ------------------------------------------------------------------------------------


def invoke(client: Any, name: str, payload: Any = None, **kwargs: Any) -> tuple[dict[str, Any], bytes, str]:
    """Invoke with the log tail (``payload`` as JSON, a str as a JSON string, or raw bytes); returns
    (response, raw payload, log text)."""
    if payload is not None and not isinstance(payload, bytes):
        payload = json.dumps(payload)
    return invoke_raw(client, name, payload, **kwargs)


def call(client: Any, name: str, payload: Any = None) -> Any:
    """The decoded result of a successful invocation."""
    response, raw, _ = invoke(client, name, payload)
    assert "FunctionError" not in response, raw
    return json.loads(raw)


def function_error(client: Any, name: str, payload: Any = None) -> tuple[dict[str, Any], str]:
    """The error document of a failed invocation, and its log."""
    response, raw, log = invoke(client, name, payload)
    assert response["StatusCode"] == 200
    assert response.get("FunctionError") == "Unhandled", raw
    body = json.loads(raw)
    assert isinstance(body, dict), body
    return body, log


# -- input and output ---------------------------------------------------------------------------


@pytest.mark.parametrize("runtime", ["dotnet8", "dotnet10"])
def test_string_in_and_out(client: Any, fn_name: str, functions: dict[str, str | bytes], runtime: str) -> None:
    config = deploy(client, fn_name, functions, handler=TESTS + "Upper", runtime=runtime)
    assert config["Runtime"] == runtime
    assert call(client, fn_name, "hello, world") == "HELLO, WORLD"
    # A JSON payload that is not a string does not fit a string parameter.
    body, _ = function_error(client, fn_name, {"not": "a string"})
    assert body["errorType"] == "JsonSerializerException"
    assert body["errorMessage"].startswith("Error converting the Lambda event JSON payload to a string."), body


def test_poco_in_and_out(client: Any, fn_name: str, functions: dict[str, str | bytes]) -> None:
    deploy(client, fn_name, functions, handler=TESTS + "Greet", runtime="dotnet8")
    person = {
        "name": "Ada", "AGE": 36, "Score": 3.5, "tags": ["math", "engines"], "Address": {"City": "London"},
        "counts": {"a": 2, "b": 3}, "born": "1815-12-10T00:00:00Z", "unknown": [1, {"x": None}],
    }  # fmt: skip
    result = call(client, fn_name, person)
    # Names as declared (DefaultLambdaJsonSerializer), read case-insensitively; nulls left out.
    assert result == {
        "Message": "Hello, Ada (36)", "NameLength": 3, "city_name": "London", "Tags": ["MATH", "ENGINES"],
        "TotalCount": 5, "Born": "1815-12-10T00:00:00Z", "Price": 12.50, "Ratio": 1.75,
        "Unicode": 'h\u00e9llo "quoted" <tag>\n',
    }  # fmt: skip
    assert "Nothing" not in result and "Secret" not in result

    body, log = function_error(client, fn_name, {"name": "Ada", "age": "thirty-six"})
    assert body["errorType"] == "JsonSerializerException"
    assert body["errorMessage"].startswith("Error converting the Lambda event JSON payload to type LaminaTests.Person: "), body
    assert "System.Int32" in body["errorMessage"] and "$.age" in body["errorMessage"], body
    assert "JsonSerializerException" in log


def test_stream_in_and_out(client: Any, fn_name: str, functions: dict[str, str | bytes]) -> None:
    deploy(client, fn_name, functions, handler=TESTS + "Reverse", runtime="dotnet8")
    response, raw, _ = invoke(client, fn_name, b'"stressed"')
    assert "FunctionError" not in response, raw
    assert raw == b'"desserts"'


def test_stream_handler_needs_no_serializer(client: Any, fn_name: str, runtime_build: Path) -> None:
    files = compile_assembly(runtime_build, "NoSerializer", [SOURCES / "NoSerializer.cs"])
    deploy(client, fn_name, files, handler="NoSerializer::NoSerializer.Function::Echo", runtime="dotnet8")
    assert call(client, fn_name, {"same": ["bytes", 1]}) == {"same": ["bytes", 1]}


def test_async_void_and_static_handlers(client: Any, fn_name: str, functions: dict[str, str | bytes]) -> None:
    deploy(client, fn_name, functions, handler=TESTS + "GreetAsync", runtime="dotnet8")
    assert call(client, fn_name, {"Name": "Grace"}) == {"Message": "async hello Grace", "NameLength": 0, "TotalCount": 0,
                                                        "Born": "0001-01-01T00:00:00", "Price": 0, "Ratio": 0}  # fmt: skip

    client.update_function_configuration(FunctionName=fn_name, Handler=TESTS + "ThrowAsync")
    client.get_waiter("function_updated_v2").wait(FunctionName=fn_name)
    body, _ = function_error(client, fn_name, "later")
    assert (body["errorType"], body["errorMessage"]) == ("NotSupportedException", "async later")
    assert any("LaminaTests.Function" in frame for frame in body["stackTrace"]), body

    client.update_function_configuration(FunctionName=fn_name, Handler=TESTS + "Nothing")
    client.get_waiter("function_updated_v2").wait(FunctionName=fn_name)
    response, raw, log = invoke(client, fn_name, "x")
    assert "FunctionError" not in response and raw == b""
    assert "nothing to return for x" in log

    client.update_function_configuration(FunctionName=fn_name, Handler=TESTS + "Static")
    client.get_waiter("function_updated_v2").wait(FunctionName=fn_name)
    assert call(client, fn_name, "call") == "static call"


# -- context, environment and logs --------------------------------------------------------------


def test_context_fields_environment_and_logs(client: Any, fn_name: str, functions: dict[str, str | bytes]) -> None:
    deploy(client, fn_name, functions, handler=TESTS + "Context", runtime="dotnet8", MemorySize=256, Timeout=7,
           Environment={"Variables": {"GREETING": "hi"}})  # fmt: skip
    client_context = base64.b64encode(json.dumps({"custom": {"team": "blue"}, "env": {"platform": "test"}}).encode())
    response, raw, log = invoke(client, fn_name, {"k": [1, 2.5, "s", None, True]}, ClientContext=client_context.decode())
    assert "FunctionError" not in response, raw
    body = json.loads(raw)
    rid = request_id(response)

    assert body["AwsRequestId"] == rid
    assert body["FunctionName"] == fn_name
    assert body["FunctionVersion"] == "$LATEST"
    assert body["InvokedFunctionArn"] == arn(fn_name)
    assert body["MemoryLimitInMB"] == 256  # an int, as in AWS's ILambdaContext
    assert body["LogGroupName"] == f"/aws/lambda/{fn_name}"
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]+", body["LogStreamName"]), body["LogStreamName"]
    assert 0 < body["RemainingMs"] <= 7000
    assert body["IdentityId"] is None  # an identity with no id: no Cognito caller
    assert body["ClientCustom"] == {"team": "blue"}
    assert body["Input"] == {"k": [1, 2.5, "s", None, True]}

    env = body["Env"]
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_dotnet8"
    assert env["_HANDLER"] == TESTS + "Context"
    assert env["LAMBDA_TASK_ROOT"] == body["Cwd"]
    assert env["GREETING"] == "hi"
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=")
    assert not [key for key in env if key.startswith("LAMINA_")]

    # Log lines as AWS's .NET runtime writes them: time, request id, level, message.
    stamp = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"
    lines = log.splitlines()
    for level, message in [("info", f"console line {rid}"), ("fail", "error line"), ("info", "logger line"),
                           ("info", "info tmpl 7"), ("warn", "warning line")]:  # fmt: skip
        assert any(re.fullmatch(f"{stamp}\t{rid}\t{level}\t{re.escape(message)}", line) for line in lines), (message, log)
    assert any(re.fullmatch(f"{stamp}\t{rid}\tstatic logger line", line) for line in lines), log
    assert "debug line hidden" not in log  # below the default level (Information)
    assert f"REPORT RequestId: {rid}" in log


def test_json_log_format_writes_aws_records(
    lamina: LaminaProcess, client: Any, fn_name: str, functions: dict[str, str | bytes],
) -> None:  # fmt: skip
    """LoggingConfig JSON: every line is Amazon.Lambda.RuntimeSupport's JSON record, the template's
    arguments its members, filtered by ApplicationLogLevel (Trace below Debug here)."""
    deploy(client, fn_name, functions, handler=TESTS + "Logs", runtime="dotnet8",
           LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG"})  # fmt: skip
    response, raw, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, raw
    rid = request_id(response)
    messages = wait_for_logs(lamina.endpoint, fn_name, lambda m: any('"type":"platform.report"' in x for x in m))
    records = [json.loads(m) for m in messages]  # every line is a record
    app = [r for r in records if "level" in r]
    stamp = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"
    assert all(re.fullmatch(stamp, r["timestamp"]) for r in app), app
    assert all(r["requestId"] == rid and r["traceId"].startswith("Root=") for r in app), app
    assert all(list(r)[:5] == ["timestamp", "level", "requestId", "traceId", "message"] for r in app), app
    body = [{k: v for k, v in r.items() if k not in ("timestamp", "requestId", "traceId")} for r in app]
    error = body[7]
    trace = error.pop("stackTrace")
    assert trace[0] == "System.InvalidOperationException: it broke", trace
    assert body == [
        {"level": "Information", "message": "console {not a property}"},  # Console: no template
        {"level": "Error", "message": "error line"},
        {"level": "Information", "message": "logger line"},
        {"level": "Information", "message": "order 42 for ann costs 3.50",
         "id": 42, "customer": "ann", "price": "3.50"},
        {"level": "Information", "message": "items {items} and {{braces}} and {missing}", "items": [1, 2]},
        {"level": "Debug", "message": "debug 1", "n": 1},
        {"level": "Warning", "message": "positional b then a", "1": "b", "0": "a"},
        {"level": "Error", "message": "failed save", "step": "save",
         "errorType": "System.InvalidOperationException", "errorMessage": "it broke"},
        {"level": "Information", "message": "static logger line"},  # no level of its own: Information
    ], body  # fmt: skip
    kinds = [r["type"] for r in records if "type" in r]
    assert kinds == ["platform.initStart", "platform.initRuntimeDone", "platform.initReport", "platform.start",
                     "platform.runtimeDone", "platform.report"], kinds  # fmt: skip


def test_json_log_level_warn_and_text_unchanged(
    lamina: LaminaProcess, client: Any, fn_name: str, functions: dict[str, str | bytes],
) -> None:  # fmt: skip
    deploy(client, fn_name, functions, handler=TESTS + "Logs", runtime="dotnet8",
           LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "WARN", "SystemLogLevel": "WARN"})  # fmt: skip
    response, raw, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, raw
    messages = wait_for_logs(lamina.endpoint, fn_name, lambda m: len(m) >= 3, timeout=5)
    # Warning and above (the runtime's filter, then Lambda's: "Information", the line without a level,
    # is INFO); no platform records.
    assert [json.loads(m)["level"] for m in messages] == ["Error", "Warning", "Error"], messages

    other = fn_name + "-text"
    deploy(client, other, functions, handler=TESTS + "Logs", runtime="dotnet8")
    response, raw, log = invoke(client, other, {})
    rid = request_id(response)
    lines = [line for line in log.splitlines() if f"\t{rid}\t" in line]
    assert [line.split("\t", 2)[2] for line in lines[:6]] == [
        "info\tconsole {not a property}", "fail\terror line", "info\tlogger line",
        "info\torder 42 for ann costs 3.50", "info\titems {items} and {{braces}} and {missing}",
        "warn\tpositional b then a",
    ], log  # fmt: skip  (Debug and Trace are below Information)
    assert lines[6].split("\t", 2)[2] == "fail\tfailed save"
    assert "System.InvalidOperationException: it broke" in log
    assert lines[-1].split("\t", 2)[2] == "static logger line", lines


@pytest.mark.parametrize("log_format", ["JSON", "Text"])
def test_malformed_templates_are_logged_not_thrown(
    lamina: LaminaProcess, client: Any, fn_name: str, functions: dict[str, str | bytes], log_format: str,
) -> None:  # fmt: skip
    """Unbalanced braces, empty names, bad format strings, a list holding itself, a 100 KB argument,
    null templates and arguments: each call is one entry, the invocation succeeds."""
    deploy(client, fn_name, functions, handler=TESTS + "BadTemplates", runtime="dotnet8",
           LoggingConfig={"LogFormat": log_format})  # fmt: skip
    response, raw, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response and json.loads(raw) == 11, raw
    rid = request_id(response)
    messages = wait_for_logs(lamina.endpoint, fn_name, lambda m: any("REPORT" in x or "platform.report" in x
                                                                     for x in m))  # fmt: skip
    mine = [m for m in messages if rid in m and not m.startswith(("START ", "END ", "REPORT ", '{"time"'))]
    if log_format == "JSON":
        records = [json.loads(m) for m in mine]  # each a whole JSON document
        assert [r["level"] for r in records] == ["Information"] * 11 + ["Warning", "Error"], records
        assert [r["message"] for r in records[:3]] == ["{", "}", "{{5"], records  # "{{" is kept as written, as by AWS
        assert records[6]["message"] == "5" + "x" * 100000 + "5" and records[6]["0"] == 5, records[6]["message"][:20]
        assert records[7]["message"] == records[7]["n"] and isinstance(records[7]["n"], str), records[7]  # formatted
        assert (records[11]["message"], records[12]["message"]) == ("nulls {a}", ""), records[11:]
        assert records[4]["message"] == "5" and records[4][""] == 5, records[4]  # "{@}": a property without a name
    else:
        assert len(mine) == 13, mine
        assert mine[0].endswith("\tinfo\t{") and mine[-1].endswith("\tfail\t"), mine


def test_warm_environment_keeps_static_state(client: Any, fn_name: str, functions: dict[str, str | bytes]) -> None:
    deploy(client, fn_name, functions, handler=TESTS + "Count", runtime="dotnet8")
    results, logs = invoke_in_a_row(client, fn_name, 3)
    assert [r["count"] for r in results] == [1, 2, 3]
    assert {r["constructed"] for r in results} == {1}  # the handler's object is made once, at init
    assert len({r["stream"] for r in results}) == 1
    assert "Init Duration: " in logs[0]
    assert "Init Duration: " not in logs[1] and "Init Duration: " not in logs[2]


# -- errors -------------------------------------------------------------------------------------


def test_unhandled_exception(client: Any, fn_name: str, functions: dict[str, str | bytes]) -> None:
    deploy(client, fn_name, functions, handler=TESTS + "Throw", runtime="dotnet8")
    response, raw, log = invoke(client, fn_name, {"why": "because"})
    assert response.get("FunctionError") == "Unhandled", raw
    body = json.loads(raw)
    assert body["errorType"] == "InvalidOperationException"  # the class name, without its namespace
    assert body["errorMessage"] == "boom: because"
    frames = body["stackTrace"]
    assert frames and all(isinstance(frame, str) for frame in frames), body
    assert any("LaminaTests.Function.Throw" in frame and "Functions.cs" in frame for frame in frames), frames
    assert not any("Lamina.Runtime" in frame or "System.Reflection" in frame for frame in frames), frames
    assert body["cause"]["errorType"] == "ArgumentException"
    assert body["cause"]["errorMessage"] == "the inner problem"

    rid = request_id(response)
    assert f"\t{rid}\tfail\tSystem.InvalidOperationException: boom: because" in log
    assert f"REPORT RequestId: {rid}" in log

    # The environment stays usable.
    body, _ = function_error(client, fn_name, {"why": "again"})
    assert body["errorMessage"] == "boom: again"


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        ("Missing::Missing.Function::Handle",
         "Could not find the specified handler assembly with the file name 'Missing, Culture=neutral, "
         "PublicKeyToken=null'. The assembly should be located in the root of your uploaded .zip file."),
        ("LaminaTests::LaminaTests.Nope::Upper", "Unable to load type 'LaminaTests.Nope' from assembly 'LaminaTests'."),
        ("LaminaTests::LaminaTests.Function::Nope",
         "Unable to find method 'Nope' in type 'LaminaTests.Function' from assembly 'LaminaTests': "
         "Found no methods matching method name 'Nope'."),
        ("LaminaTests::LaminaTests.Function",
         "Invalid lambda function handler: 'LaminaTests::LaminaTests.Function'. The valid format is "
         "'ASSEMBLY::TYPE::METHOD'."),
    ],
    ids=["missing-assembly", "missing-type", "missing-method", "malformed-handler"],
)  # fmt: skip
def test_init_errors(client: Any, fn_name: str, functions: dict[str, str | bytes], handler: str, message: str) -> None:
    deploy(client, fn_name, functions, handler=handler, runtime="dotnet8")
    for _ in range(2):  # every invocation tries to initialise again, and fails the same way
        response, raw, log = invoke(client, fn_name, "x")
        assert response.get("FunctionError") == "Unhandled", raw
        body = json.loads(raw)
        assert body["errorType"] == VALIDATION
        assert body["errorMessage"] == message
        assert f"fail\t{VALIDATION}: {message}" in log
        assert f"REPORT RequestId: {request_id(response)}" in log


def test_init_error_without_serializer(client: Any, fn_name: str, runtime_build: Path) -> None:
    files = compile_assembly(runtime_build, "NoSerializer", [SOURCES / "NoSerializer.cs"])
    deploy(client, fn_name, files, handler="NoSerializer::NoSerializer.Function::Text", runtime="dotnet8")
    body, _ = function_error(client, fn_name, "x")
    assert body["errorType"] == VALIDATION
    assert body["errorMessage"].startswith(
        "Could not find the LambdaSerializerAttribute on the assembly 'NoSerializer' or method 'Text' while "
        "attempting to deserialize input data of type 'System.String'."
    ), body


def test_constructor_failure_is_an_init_error(client: Any, fn_name: str, functions: dict[str, str | bytes]) -> None:
    deploy(client, fn_name, functions, handler="LaminaTests::LaminaTests.NoDefaultConstructor::Handle", runtime="dotnet8")
    body, _ = function_error(client, fn_name, "x")
    assert body["errorType"] == "MissingMethodException", body


def test_timeout(client: Any, fn_name: str, functions: dict[str, str | bytes]) -> None:
    deploy(client, fn_name, functions, handler=TESTS + "Sleep", runtime="dotnet8", Timeout=1)
    started = time.monotonic()
    response, raw, log = invoke(client, fn_name, 5)
    assert time.monotonic() - started < 4.5
    body = json.loads(raw)
    assert response.get("FunctionError") == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout", body
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    assert f"sleeping {request_id(response)}" in log

    # A new environment serves the next invocation.
    assert call(client, fn_name, 0) == "awake"


def test_environment_exit(client: Any, fn_name: str, functions: dict[str, str | bytes]) -> None:
    deploy(client, fn_name, functions, handler=TESTS + "Exit", runtime="dotnet8")
    body, log = function_error(client, fn_name, {})
    assert body["errorType"] == "Runtime.ExitError", body
    assert "exit status 3" in body["errorMessage"], body
    assert "exiting" in log


# -- the examples -------------------------------------------------------------------------------


def test_examples_build_and_run(client: Any, fn_name: str, runtime_build: Path) -> None:
    hello = compile_assembly(runtime_build, "HelloWorld", [EXAMPLES / "dotnet-hello" / "src" / "Function.cs"])
    deploy(client, fn_name, hello, handler="HelloWorld::HelloWorld.Function::FunctionHandler", runtime="dotnet8")
    first = call(client, fn_name, {"name": "Lamina"})
    assert first["Message"] == "Hello, Lamina!" and first["WarmInvocations"] == 1
    assert first["Runtime"] == "AWS_Lambda_dotnet8"
    assert call(client, fn_name, {})["WarmInvocations"] == 2

    failing = compile_assembly(runtime_build, "ErrorExample", [EXAMPLES / "dotnet-error" / "src" / "Function.cs"])
    name = fn_name + "-error"
    deploy(client, name, failing, handler="ErrorExample::ErrorExample.Function::FunctionHandler", runtime="dotnet8")
    body, _ = function_error(client, name, {"customer": "x"})
    assert body["errorType"] == "InvalidOperationException"
    assert body["cause"]["errorType"] == "KeyNotFoundException"
