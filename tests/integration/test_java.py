"""Java functions (``java17``, ``java25``, ...), end to end through boto3, built with Maven against
``aws-lambda-java-core`` and ``aws-lambda-java-events`` (the sources are in ``tests/integration/java``).

The functions run on AWS's own Java runtime interface client, so the shapes asserted here are
AWS's: POJOs serialised by its Jackson configuration (null fields left out), errors as
``{"errorMessage", "errorType", "stackTrace": ["class.method(File.java:N)", ...]}``, a missing
class reported at each invocation as ``java.lang.ClassNotFoundException``, a throwing
constructor as an init error of the exception's class.

The Maven build runs once: its jars are cached (``build_cache("java")``, conftest.py) by a hash of the sources.
"""

from __future__ import annotations

import hashlib
import json
import io
import os
import re
import shutil
import subprocess
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from lamina.runtime.families import java as java_family
from tests.conftest import ROOT, LaminaProcess, build_cache, make_zip
from tests.functions import (
    arn, assert_unhandled, invoke, invoke_in_a_row, report_fields, report_line, request_id, wait_for_logs,
)  # fmt: skip

SOURCES = Path(__file__).resolve().parent / "java"
CACHE = build_cache("java")
EVENTS = ROOT / "tests" / "data" / "aws_events"
JAVA_RUNTIMES = ("java8.al2", "java11", "java17", "java21", "java25")
AVAILABLE = {name: java_family.resolve(name, {}) for name in JAVA_RUNTIMES}
RUNTIME = "java17"  # the one most tests run on; every available runtime runs the basics

pytestmark = pytest.mark.skipif(
    AVAILABLE[RUNTIME] is None, reason="no JDK 17 or no AWS Java runtime interface client: run scripts/install/java.sh"
)
on_each_runtime = pytest.mark.parametrize(
    "runtime",
    [pytest.param(name, marks=pytest.mark.skipif(AVAILABLE[name] is None, reason=f"no JDK for {name} on this host"))
     for name in ("java17", "java21", "java25")],
)  # fmt: skip


# -- the build --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Build:
    classes: Path  # the project's own jar (target/functions.jar)
    libs: tuple[Path, ...]  # its dependencies (target/lib/*.jar)
    fat: Path  # everything in one shaded jar (target/functions-1.0-fat.jar)

    def zip_package(self) -> bytes:
        """A .zip as AWS documents it for Java: the classes at the root, the dependencies in lib/."""
        files: dict[str, str | bytes] = {}
        with zipfile.ZipFile(self.classes) as jar:
            for name in jar.namelist():
                if not name.endswith("/") and not name.startswith("META-INF/"):
                    files[name] = jar.read(name)
        for lib in self.libs:
            files[f"lib/{lib.name}"] = lib.read_bytes()
        return make_zip(files)


def _sources_key() -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in SOURCES.rglob("*") if p.is_file() and "target" not in p.parts):
        digest.update(str(path.relative_to(SOURCES)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@pytest.fixture(scope="module")
def build() -> Build:
    """The test functions, built with Maven once per change of their sources."""
    out = CACHE / f"functions-{_sources_key()}"
    if not (out / "done").is_file():
        mvn = shutil.which("mvn")
        if mvn is None:
            pytest.skip("no Maven on this host: run scripts/install/java.sh")
        work = CACHE / f"build-{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(SOURCES, work, ignore=shutil.ignore_patterns("target"))
        try:
            run = subprocess.run([mvn, "-q", "-B", "package"], cwd=work, capture_output=True, text=True, timeout=900,
                                 check=False)  # fmt: skip
            assert run.returncode == 0, f"mvn package failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
            target = work / "target"
            staged = CACHE / f"staged-{os.getpid()}"
            shutil.rmtree(staged, ignore_errors=True)
            (staged / "lib").mkdir(parents=True)
            shutil.copy(target / "functions.jar", staged / "functions.jar")
            shutil.copy(next(target.glob("*-fat.jar")), staged / "functions-fat.jar")
            for lib in (target / "lib").glob("*.jar"):
                shutil.copy(lib, staged / "lib" / lib.name)
            (staged / "done").write_text("")
            if out.exists() and not (out / "done").is_file():  # left half-made by an older version
                shutil.rmtree(out, ignore_errors=True)
            try:
                staged.rename(out)
            except OSError:  # built meanwhile by another worker or run: theirs is as good
                shutil.rmtree(staged)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return Build(out / "functions.jar", tuple(sorted((out / "lib").glob("*.jar"))), out / "functions-fat.jar")


def deploy_java(client: Any, name: str, build: Build, handler: str, *, runtime: str = RUNTIME,
                package: bytes | None = None, **kwargs: Any) -> dict[str, Any]:  # fmt: skip
    """Create a Java function from a .zip (default: classes + lib/) and wait until it is Active."""
    config = client.create_function(
        FunctionName=name, Runtime=runtime, Role="arn:aws:iam::000000000000:role/lamina-test", Handler=handler,
        Code={"ZipFile": build.zip_package() if package is None else package}, **kwargs,
    )  # fmt: skip
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return dict(config)


def assert_java_error(response: dict[str, Any], body: Any, error_type: str, message: str) -> None:
    """AWS's Java error document: errorMessage, errorType, stackTrace as "class.method(File.java:N)" strings."""
    assert_unhandled(response, body, error_type)
    assert set(body) == {"errorMessage", "errorType", "stackTrace"}, body
    assert body["errorMessage"] == message, body
    assert body["stackTrace"] and all(isinstance(f, str) for f in body["stackTrace"]), body
    assert all(re.fullmatch(r"[\w$./<>-]+\([^()]*\)", frame) for frame in body["stackTrace"]), body["stackTrace"]
    assert not any("com.amazonaws.services.lambda.runtime.api.client" in f for f in body["stackTrace"]), body


def environment_processes(stream: str) -> list[int]:
    """Processes of the environment whose log stream is ``stream``, until they are reaped (a Java
    runtime is exec'd with its environment: the variable is in its /proc/PID/environ). A JVM's
    first thread can end before its others: the process is gone once Lamina's fork server reaps it."""
    marker = f"AWS_LAMBDA_LOG_STREAM_NAME={stream}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def wait_exited(stream: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while environment_processes(stream):
        assert time.monotonic() < deadline, f"environment {stream} still running"
        time.sleep(0.05)


# -- handlers of every kind, on every Java runtime of the host ---------------------------------


@on_each_runtime
def test_request_handler_map_to_string(lamina: LaminaProcess, client: Any, fn_name: str, build: Build,
                                       runtime: str) -> None:  # fmt: skip
    deploy_java(client, fn_name, build, "example.Hello::handleRequest", runtime=runtime)
    response, body, log = invoke(client, fn_name, {"name": "Lamina"})
    assert "FunctionError" not in response, body
    assert body == "Hello, Lamina!"
    rid = request_id(response)
    lines = log.splitlines()
    assert lines.index(f"START RequestId: {rid} Version: $LATEST") < lines.index("hello-line Lamina")
    assert lines.index("hello-line Lamina") < lines.index(f"END RequestId: {rid}")
    fields = report_fields(report_line(log, rid))
    assert "Init Duration" in fields and fields["Memory Size"] == "128 MB"
    # A clean start: the JVM said nothing (no warning about the runtime's flags, archive or library).
    messages = wait_for_logs(lamina.endpoint, fn_name, lambda m: any(x.startswith("REPORT ") for x in m))
    assert messages[0].startswith("INIT_START Runtime Version: java:"), messages  # Lambda's, then nothing else
    assert messages[1] == f"START RequestId: {rid} Version: $LATEST", messages


@on_each_runtime
def test_context_and_environment(client: Any, fn_name: str, build: Build, runtime: str) -> None:
    deploy_java(client, fn_name, build, "example.Probe::handleRequest", runtime=runtime, MemorySize=256, Timeout=7,
                Environment={"Variables": {"GREETING": "hi"}})  # fmt: skip
    response, body, log = invoke(client, fn_name, {})
    assert "FunctionError" not in response, body
    rid = request_id(response)
    assert body["functionName"] == fn_name
    assert body["functionVersion"] == "$LATEST"
    assert body["invokedFunctionArn"] == arn(fn_name)
    assert body["awsRequestId"] == rid
    assert body["memoryLimitInMB"] == 256  # an int, as Context.getMemoryLimitInMB() is
    assert 0 < body["remainingTimeInMillis"] <= 7000
    assert body["logGroupName"] == f"/aws/lambda/{fn_name}"
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]+", body["logStreamName"]), body["logStreamName"]
    assert body["javaVersion"] == runtime.removeprefix("java")

    env = body["env"]
    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{runtime}"
    assert env["_HANDLER"] == "example.Probe::handleRequest"
    assert env["LAMBDA_TASK_ROOT"] == body["userDir"]  # the runtime's working directory is the code
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["GREETING"] == "hi"
    assert not [k for k in env if k.startswith("LAMINA_")]

    # The JVM is sized from the function's memory as AWS's Java runtimes size it.
    flags = body["jvmArgs"]
    assert f"-XX:MaxHeapSize={256 * 1024 * 85 // 100}k" in flags, flags
    assert f"-XX:MaxMetaspaceSize={256 * 1024 * 10 // 100}k" in flags, flags
    assert "-XX:+UseSerialGC" in flags and "-Xshare:auto" in flags and "-XX:TieredStopAtLevel=1" in flags, flags
    assert body["maxHeapBytes"] <= 256 * 1024 * 1024 * 85 // 100
    archive = AVAILABLE[runtime].argv[4]  # type: ignore[union-attr]
    if archive != "-":  # the runtime's class-data-sharing archive, made by scripts/install/java.sh
        assert f"-XX:SharedArchiveFile={archive}" in flags, flags

    # What the context's logger, stdout and stderr write is the invocation's log. (The logger adds no
    # newline: in Lamina its message shares a line with what is written next.)
    lines = log.splitlines()
    assert any(line.startswith(f"logger-line {rid}") for line in lines), log
    assert any(line.endswith("stdout-line") for line in lines) and "stderr-line" in lines, log


def test_pojo_in_and_out(client: Any, fn_name: str, build: Build) -> None:
    deploy_java(client, fn_name, build, "example.Orders::handleRequest")
    order = {"orderId": "o-1", "customer": "ana", "unknown": "ignored",
             "items": [{"sku": "a", "quantity": 2, "price": 1.25}, {"sku": "b", "quantity": 1, "price": 4}]}  # fmt: skip
    response, body, _ = invoke(client, fn_name, order)
    assert "FunctionError" not in response, body
    # Bean properties by their getters' names; null ones (note) left out, as AWS's serializer does.
    assert body == {"orderId": "o-1", "itemCount": 3, "total": 6.5, "paid": True, "skus": ["a", "b"]}


def test_request_stream_handler(client: Any, fn_name: str, build: Build) -> None:
    deploy_java(client, fn_name, build, "example.Upper::handleRequest")
    response, body, _ = invoke(client, fn_name, b'{"say": "hi"}')
    assert "FunctionError" not in response, body
    assert body == {"upper": {"SAY": "HI"}, "bytes": 13}  # the event's bytes, as the caller sent them


def test_events_class_api_gateway(client: Any, fn_name: str, build: Build) -> None:
    deploy_java(client, fn_name, build, "example.Api::handleRequest")
    event = (EVENTS / "apigw-request.json").read_bytes()  # a real API Gateway proxy event
    response, body, _ = invoke(client, fn_name, event)
    assert "FunctionError" not in response, body
    assert body == {
        "statusCode": 201,
        "headers": {"Content-Type": "text/plain"},
        "body": "POST|/hello/world|{name=me}|gy415nuibc.execute-api.us-east-1.amazonaws.com|"
                "deef4878-7910-11e6-8f14-25afc3e9ae33|192.168.196.186|testStage|{stageVariableName=stageVariableValue}|"
                '{\r\n\t"a": 1\r\n}',
    }  # fmt: skip


@on_each_runtime
def test_fat_jar(client: Any, fn_name: str, build: Build, runtime: str) -> None:
    """A shaded jar uploaded as the package itself: its entries are the code."""
    deploy_java(client, fn_name, build, "example.Api::handleRequest", runtime=runtime, package=build.fat.read_bytes())
    event = (EVENTS / "apigw-request.json").read_bytes()
    response, body, _ = invoke(client, fn_name, event)
    assert "FunctionError" not in response, body
    assert body["statusCode"] == 201 and body["body"].startswith("POST|/hello/world|"), body


def test_jar_inside_a_zip_is_not_on_the_classpath(client: Any, fn_name: str, build: Build) -> None:
    """As on Lambda, only the package's root and lib/*.jar are loaded: a .jar at the root is not."""
    package = make_zip({"functions-fat.jar": build.fat.read_bytes()})
    deploy_java(client, fn_name, build, "example.Hello::handleRequest", package=package)
    response, body, _ = invoke(client, fn_name, {"name": "x"})
    assert response.get("FunctionError") == "Unhandled", body
    assert body == {"errorMessage": "Class not found: example.Hello", "errorType": "java.lang.ClassNotFoundException"}


def test_dependencies_from_a_layer(client: Any, fn_name: str, build: Build) -> None:
    """A layer's java/lib/*.jar (/opt/java/lib) is on the function's class path, as on Lambda."""
    layer = client.publish_layer_version(
        LayerName=f"deps-{fn_name}"[:64], CompatibleRuntimes=[RUNTIME],
        Content={"ZipFile": make_zip({f"java/lib/{lib.name}": lib.read_bytes() for lib in build.libs})},
    )  # fmt: skip
    with zipfile.ZipFile(build.classes) as jar:
        classes_only: dict[str, str | bytes] = {name: jar.read(name) for name in jar.namelist() if name.endswith(".class")}
    deploy_java(client, fn_name, build, "example.Api::handleRequest", package=make_zip(classes_only),
                Layers=[layer["LayerVersionArn"]])  # fmt: skip
    response, body, log = invoke(client, fn_name, (EVENTS / "apigw-request.json").read_bytes())
    assert "FunctionError" not in response, (body, log)
    assert body["statusCode"] == 201, body


def test_handler_without_a_method_name(client: Any, fn_name: str, build: Build) -> None:
    """A RequestHandler can be named by its class alone."""
    deploy_java(client, fn_name, build, "example.Hello")
    response, body, _ = invoke(client, fn_name, {"name": "class"})
    assert "FunctionError" not in response, body
    assert body == "Hello, class!"


# -- warm reuse -------------------------------------------------------------------------------


def test_warm_environment_keeps_static_state(lamina: LaminaProcess, client: Any, fn_name: str, build: Build) -> None:
    deploy_java(client, fn_name, build, "example.Counter::handleRequest")
    results, logs = invoke_in_a_row(client, fn_name, 3)
    assert [r["count"] for r in results] == [1, 2, 3]
    assert len({r["stream"] for r in results}) == 1 and len({r["loaded"] for r in results}) == 1
    assert len(environment_processes(results[0]["stream"])) == 1  # one JVM, still there, warm
    assert "Init Duration: " in logs[0] and "Init Duration: " not in logs[1] + logs[2]
    messages = wait_for_logs(lamina.endpoint, fn_name, lambda m: sum(x.startswith("REPORT ") for x in m) >= 3)
    assert messages.count("init-line") == 1, messages  # the static initialiser ran once, at init
    assert messages.index("init-line") < next(i for i, m in enumerate(messages) if m.startswith("START "))


# -- errors -----------------------------------------------------------------------------------


def test_unhandled_exception(lamina: LaminaProcess, client: Any, fn_name: str, build: Build) -> None:
    deploy_java(client, fn_name, build, "example.Fail::handleRequest")
    response, body, _ = invoke(client, fn_name, {"what": "x"})
    assert_java_error(response, body, "java.lang.RuntimeException", "boom: x")
    assert body["stackTrace"][:2] == ["example.Fail.check(Fail.java:18)", "example.Fail.handleRequest(Fail.java:11)"]

    response, body, _ = invoke(client, fn_name, {"what": "checked"})
    assert_java_error(response, body, "java.lang.IllegalStateException", "not in this state")

    # The runtime logs each error with its stack trace; the environment stays in service.
    messages = wait_for_logs(lamina.endpoint, fn_name, lambda m: any("Caused by: java.io.IOException" in x for x in m))
    assert "boom: x: java.lang.RuntimeException" in messages, messages
    assert "Caused by: java.io.IOException: disk on fire" in messages, messages
    response, _, log = invoke(client, fn_name, {"what": "y"})
    assert "Init Duration" not in report_line(log, request_id(response))


def test_class_not_found(client: Any, fn_name: str, build: Build) -> None:
    deploy_java(client, fn_name, build, "example.Missing::handleRequest")
    for _ in range(2):  # reported at every invocation, as AWS's runtime does
        response, body, _ = invoke(client, fn_name, {})
        assert response.get("FunctionError") == "Unhandled", body
        assert body == {"errorMessage": "Class not found: example.Missing", "errorType": "java.lang.ClassNotFoundException"}


def test_method_not_found(client: Any, fn_name: str, build: Build) -> None:
    deploy_java(client, fn_name, build, "example.Hello::greet")
    response, body, _ = invoke(client, fn_name, {})
    assert response.get("FunctionError") == "Unhandled", body
    assert body == {"errorMessage": "No public method named greet with appropriate method signature found on class example.Hello"}


def test_constructor_throws_is_an_init_error(client: Any, fn_name: str, build: Build) -> None:
    deploy_java(client, fn_name, build, "example.BrokenInit::handleRequest")
    for _ in range(2):  # every invocation tries to initialise again, and fails the same way
        response, body, log = invoke(client, fn_name, {})
        assert response.get("FunctionError") == "Unhandled", body
        assert body == {"errorMessage": "no configuration", "errorType": "java.lang.IllegalStateException"}
        assert "java.lang.IllegalStateException: no configuration" in log.splitlines(), log
        assert "at example.BrokenInit.<init>(BrokenInit.java:10)" in log, log


def test_timeout(client: Any, fn_name: str, build: Build) -> None:
    deploy_java(client, fn_name, build, "example.Misbehave::handleRequest", Timeout=1)
    _, first, _ = invoke(client, fn_name, {})
    response, body, log = invoke(client, fn_name, {"action": "sleep", "seconds": 5})
    assert response.get("FunctionError") == "Unhandled", body
    assert body["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"], body
    assert f"sleeping {request_id(response)}" in log
    response, again, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, again
    assert again != first  # a new environment
    wait_exited(first)


def test_system_exit(client: Any, fn_name: str, build: Build) -> None:
    deploy_java(client, fn_name, build, "example.Misbehave::handleRequest")
    _, first, _ = invoke(client, fn_name, {})
    response, body, _ = invoke(client, fn_name, {"action": "exit"})
    assert response.get("FunctionError") == "Unhandled", body
    assert body["errorType"] == "Runtime.ExitError"
    assert "Runtime exited with error: exit status 3" in body["errorMessage"], body
    response, again, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, again
    assert again != first


def test_heap_exhausted(client: Any, fn_name: str, build: Build) -> None:
    """Past its heap (85% of the memory), the JVM throws OutOfMemoryError, which the runtime reports
    before it exits; the next invocation gets a new environment."""
    deploy_java(client, fn_name, build, "example.Misbehave::handleRequest", MemorySize=512, Timeout=30)
    _, first, _ = invoke(client, fn_name, {})
    response, body, log = invoke(client, fn_name, {"action": "allocate", "mb": 600})
    assert_java_error(response, body, "java.lang.OutOfMemoryError", "Java heap space")
    used = int(report_fields(report_line(log, request_id(response)))["Max Memory Used"].split()[0])
    assert 435 <= used <= 512, log  # the heap filled up, within the function's memory
    wait_exited(first)  # the runtime exits once it has reported the error
    # Lamina learns of the exit a moment after the process is reaped; an invocation sent within
    # that moment is handed to the dead environment and fails with Runtime.ExitError.
    time.sleep(1)
    response, again, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, again
    assert again != first


# -- runtimes and start-up options ------------------------------------------------------------


def test_runtime_without_a_jdk_is_refused(make_server: Callable[..., LaminaProcess], fn_name: str, build: Build) -> None:
    missing = next((name for name in ("java21", "java11", "java8.al2") if AVAILABLE[name] is None), None)
    if missing is None:
        pytest.skip("every Java runtime has a JDK on this host")
    java17 = AVAILABLE[RUNTIME]
    assert java17 is not None
    # Pointing the runtime at a JDK of another version does not make it available either.
    server = make_server(**{f"LAMINA_{missing.upper().replace('.', '_')}": java17.argv[2]})
    with pytest.raises(ClientError) as exc:
        deploy_java(server.client(), fn_name, build, "example.Hello::handleRequest", runtime=missing)
    error = exc.value.response["Error"]
    assert error["Code"] == "InvalidParameterValueException"
    assert f"The runtime {missing} is not available on this Lamina host" in error["Message"], error
    assert RUNTIME in error["Message"].split("Available runtimes: ")[1], error


def test_java_tool_options_and_exec_wrapper(lamina: LaminaProcess, client: Any, fn_name: str, build: Build) -> None:
    """JAVA_TOOL_OPTIONS reaches the JVM; AWS_LAMBDA_EXEC_WRAPPER runs with the start command as its arguments."""
    wrapper = '#!/bin/sh\nexport WRAPPED_BY="$(basename "$0")"\nexec "$@"\n'
    files: dict[str, str | bytes] = {"wrapper.sh": wrapper}
    with zipfile.ZipFile(io.BytesIO(build.zip_package())) as zf:
        files.update({name: zf.read(name) for name in zf.namelist()})
    package = make_zip(files, modes={"wrapper.sh": 0o755})
    deploy_java(client, fn_name, build, "example.Probe::handleRequest", package=package, Environment={"Variables": {
        "JAVA_TOOL_OPTIONS": "-Dlamina.marker=on", "AWS_LAMBDA_EXEC_WRAPPER": "./wrapper.sh"}})  # fmt: skip
    response, body, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, body
    messages = wait_for_logs(lamina.endpoint, fn_name, lambda m: any(x.startswith("REPORT ") for x in m))
    assert "Picked up JAVA_TOOL_OPTIONS: -Dlamina.marker=on" in messages, messages  # at init, as on Lambda
    assert "-Dlamina.marker=on" in body["jvmArgs"], body["jvmArgs"]
    assert not [flag for flag in body["jvmArgs"] if "SharedArchiveFile" in flag]  # the JDK's own archive, as on Lambda
    assert body["env"]["WRAPPED_BY"] == "wrapper.sh"


def test_logging_config_json_as_aws_runtime_interface_client_writes_it(
    lamina: LaminaProcess, client: Any, fn_name: str, build: Build,
) -> None:  # fmt: skip
    """AWS's own runtime interface client reads AWS_LAMBDA_LOG_FORMAT and AWS_LAMBDA_LOG_LEVEL, which
    LoggingConfig sets: LambdaLogger's lines become its JSON records, filtered by the level. Lambda
    then leaves out every line below the level: a record without one (UNDEFINED) and the standard
    streams' lines are INFO."""
    deploy_java(client, fn_name, build, "example.Levels::handleRequest",
                LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "WARN"})  # fmt: skip
    response, body, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, body
    rid = request_id(response)
    messages = wait_for_logs(lamina.endpoint, fn_name, lambda m: any('"type":"platform.report"' in x for x in m))
    records = [json.loads(m) for m in messages if m.startswith('{"timestamp"')]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r.pop("timestamp")) for r in records), records
    assert records == [
        {"message": f"{name}-line", "level": level, "AWSRequestId": rid}
        for name, level in [("warn", "WARN"), ("error", "ERROR"), ("fatal", "FATAL")]
    ], records  # fmt: skip
    assert "stdout-line" not in messages and "stderr-line" not in messages
    kinds = [json.loads(m)["type"] for m in messages if m.startswith('{"time"')]
    assert kinds == ["platform.initStart", "platform.initRuntimeDone", "platform.initReport", "platform.start",
                     "platform.runtimeDone", "platform.report"], kinds  # fmt: skip

