"""Invoke, end to end: a real Lamina server driven through boto3, checked against AWS Lambda's shapes.

Every test deploys real code and looks only at what a Lambda user can see: the Invoke response
(status, headers, error document, log tail), the function's own view (context object, environment,
process id), Lamina's logs endpoint and, after a shutdown, the server's usage database.
"""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
import threading
import time
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess, deploy, lambda_client, make_zip
from tests.environments import identity_processes, wait_identity_gone
from tests.functions import (
    REGION, arn, assert_platform_error, assert_unhandled, invoke, invoke_in_a_row, report_fields, report_line,
    request_id, wait_for_logs,
)  # fmt: skip

MB = 1024 * 1024

# -- helpers ----------------------------------------------------------------------------------


def assert_function_error(response: dict[str, Any], body: Any, error_type: str) -> None:
    """An unhandled error as the runtime reports it: a message, ``stackTrace`` and ``requestId``.

    Errors the platform reports (timeout, crash, out of memory) name the request in the message
    instead: ``assert_platform_error``.
    """
    assert_unhandled(response, body, error_type)
    assert isinstance(body["errorMessage"], str) and body["errorMessage"], body
    assert isinstance(body.get("stackTrace"), list), body
    assert "requestId" in body, body


def process_gone_by_pid(pid: int) -> bool:
    try:
        state = (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1]).split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


def client_error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, dict[str, str], str]:
    response = exc.value.response
    meta = response["ResponseMetadata"]
    return response["Error"]["Code"], meta["HTTPStatusCode"], meta["HTTPHeaders"], response["Error"].get("Message", "")


# -- code -------------------------------------------------------------------------------------

PID = """
import os

def handler(event, context):
    return os.readlink("/proc/self/ns/pid") + "|" + str(os.getuid())
"""

PROBE = """
import os

def handler(event, context):
    return {
        "pid": os.readlink("/proc/self/ns/pid") + "|" + str(os.getuid()),
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
    }
"""

COUNTER = """
import os

VERSION = "{version}"
count = 0

def handler(event, context):
    global count
    count += 1
    return {{"pid": os.readlink("/proc/self/ns/pid") + "|" + str(os.getuid()), "count": count, "version": VERSION, "value": os.environ.get("VALUE")}}
"""

# One function for the failure modes that must not poison later invocations: it does what the
# event asks, and otherwise returns its pid.
MISBEHAVE = """
import os, time

def handler(event, context):
    action = event.get("action")
    if action == "sleep":
        print("sleeping", context.aws_request_id, flush=True)
        time.sleep(event["seconds"])
    elif action == "exit":
        os._exit(3)
    elif action == "allocate":
        data = bytearray(event["mb"] * 1024 * 1024)
        data[::4096] = b"\\x01" * len(range(0, len(data), 4096))  # touch every page
        return len(data)
    elif action == "big":
        return "x" * event["bytes"]
    return os.readlink("/proc/self/ns/pid") + "|" + str(os.getuid())
"""

# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pid_fn(client: Any) -> str:
    """A shared function that returns its process id."""
    name = f"invoke-pid-{uuid.uuid4().hex[:8]}"
    deploy(client, name, PID, Timeout=10)
    return name


@pytest.fixture(scope="module")
def echo_fn(client: Any) -> str:
    name = f"invoke-echo-{uuid.uuid4().hex[:8]}"
    deploy(client, name, "def handler(event, context):\n    return event\n")
    return name


# -- 1. context and environment ---------------------------------------------------------------


def test_context_and_environment_variables(make_server: Callable[..., LaminaProcess], fn_name: str) -> None:
    server = make_server(LAMINA_SECRET_PROBE="xyz")
    client = server.client()
    deploy(client, fn_name, PROBE, MemorySize=256, Timeout=7, Environment={"Variables": {"GREETING": "hi"}})

    response, body, log = invoke(client, fn_name, {})
    assert response["StatusCode"] == 200 and "FunctionError" not in response, body
    rid = request_id(response)

    assert body["function_name"] == fn_name
    assert body["function_version"] == "$LATEST"
    assert body["invoked_function_arn"] == arn(fn_name)
    assert body["memory_limit_in_mb"] == "256"  # a string, as in AWS's Python runtime
    assert body["aws_request_id"] == rid
    assert body["log_group_name"] == f"/aws/lambda/{fn_name}"
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]+", body["log_stream_name"]), body["log_stream_name"]
    assert 0 < body["remaining_ms"] <= 7000
    assert f"START RequestId: {rid} Version: $LATEST" in log

    env = body["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == fn_name
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_REGION"] == REGION
    assert env["AWS_DEFAULT_REGION"] == REGION
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert env["LAMBDA_TASK_ROOT"] == body["cwd"]
    assert env["_HANDLER"] == "app.handler"
    assert re.fullmatch(r"127\.0\.0\.1:\d+", env["AWS_LAMBDA_RUNTIME_API"]), env["AWS_LAMBDA_RUNTIME_API"]
    assert env["TZ"] == ":UTC"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{fn_name}"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == body["log_stream_name"]
    assert env["GREETING"] == "hi"

    # Nothing of the server's own environment reaches the function.
    assert "LAMINA_SECRET_PROBE" not in env
    assert "xyz" not in env.values()
    assert not [k for k in env if k.startswith("LAMINA_")]
    assert "PYTEST_CURRENT_TEST" not in env
    assert env.get("HOME") != os.environ.get("HOME")


# -- 2. warm reuse ----------------------------------------------------------------------------


def test_warm_environment_keeps_module_state(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, COUNTER.format(version="v1"))
    results, logs = invoke_in_a_row(client, fn_name, 3)
    assert [r["count"] for r in results] == [1, 2, 3]
    assert len({r["pid"] for r in results}) == 1
    # Only the cold start reports an init duration.
    assert "Init Duration: " in logs[0]
    assert "Init Duration: " not in logs[1] and "Init Duration: " not in logs[2]


# -- 3. concurrency ---------------------------------------------------------------------------


def test_concurrent_invocations_run_in_separate_environments(
    lamina: LaminaProcess, client: Any, fn_name: str
) -> None:
    code = "import os, time\n\ndef handler(event, context):\n    time.sleep(event.get('sleep', 0))\n    return os.readlink('/proc/self/ns/pid') + '|' + str(os.getuid())\n"
    deploy(client, fn_name, code, Timeout=30)
    clients = [lamina.client() for _ in range(4)]
    results: list[Any] = [None] * 4

    def run(i: int) -> None:
        try:
            response = clients[i].invoke(FunctionName=fn_name, Payload=b'{"sleep": 1}')
            results[i] = (response.get("FunctionError"), json.loads(response["Payload"].read()))
        except Exception as exc:  # reported by the assertions below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert all(isinstance(r, tuple) and r[0] is None for r in results), results
    pids = {r[1] for r in results}
    assert len(pids) == 4, results

    # Afterwards the warm environments serve again.
    again, _ = invoke_in_a_row(client, fn_name, 4)
    assert set(again) <= pids, (again, pids)


# -- 4. unhandled exception -------------------------------------------------------------------


def test_unhandled_exception(client: Any, fn_name: str) -> None:
    code = 'def handler(event, context):\n    raise ValueError("boom")\n'
    deploy(client, fn_name, code)
    response, body, log = invoke(client, fn_name, {})
    assert_function_error(response, body, "ValueError")
    assert body["errorMessage"] == "boom"
    assert body["requestId"] == request_id(response)
    assert body["stackTrace"] and any("app.py" in frame for frame in body["stackTrace"]), body["stackTrace"]
    assert not any("bootstrap.py" in frame for frame in body["stackTrace"]), body["stackTrace"]
    assert "[ERROR] ValueError: boom" in log
    assert f"REPORT RequestId: {request_id(response)}" in log


# -- 5. init errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "error_type", "message_start"),
    [
        ("import not_a_module_anywhere\n\ndef handler(e, c):\n    return 1\n", "Runtime.ImportModuleError",
         "Unable to import module 'app'"),
        ("def other(e, c):\n    return 1\n", "Runtime.HandlerNotFound", "Handler 'handler' missing on module 'app'"),
        ("def handler(e, c)\n    return 1\n", "Runtime.UserCodeSyntaxError", "Syntax error in module 'app'"),
    ],
    ids=["import-error", "handler-not-found", "syntax-error"],
)  # fmt: skip
def test_init_errors(client: Any, fn_name: str, code: str, error_type: str, message_start: str) -> None:
    deploy(client, fn_name, code)
    for _ in range(2):  # every invocation tries to initialise again, and fails the same way
        response, body, log = invoke(client, fn_name, {})
        assert_function_error(response, body, error_type)
        assert body["errorMessage"].startswith(message_start), body
        assert f"[ERROR] {error_type}: " in log
        assert f"REPORT RequestId: {request_id(response)}" in log


def test_import_error_names_missing_module(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, "import not_a_module_anywhere\n\ndef handler(e, c):\n    return 1\n")
    response, body, _ = invoke(client, fn_name, {})
    assert_function_error(response, body, "Runtime.ImportModuleError")
    assert body["errorMessage"] == "Unable to import module 'app': No module named 'not_a_module_anywhere'"


# -- 6. timeout -------------------------------------------------------------------------------


def test_timeout_kills_the_environment(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, MISBEHAVE, Timeout=1)
    _, pid1, _ = invoke(client, fn_name, {})
    response, body, log = invoke(client, fn_name, {"action": "sleep", "seconds": 5})
    assert_platform_error(response, body, "Sandbox.Timedout")
    assert "Task timed out after 1.00 seconds" in body["errorMessage"], body
    assert "Task timed out after 1.00 seconds" in log
    assert f"REPORT RequestId: {request_id(response)}" in log

    response, pid2, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, pid2
    assert pid2 != pid1
    assert wait_identity_gone(pid1), f"timed-out environment {pid1} still running"


# -- 7. memory --------------------------------------------------------------------------------


def test_out_of_memory(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, MISBEHAVE, MemorySize=128, Timeout=30)
    response, pid1, log = invoke(client, fn_name, {})
    assert "FunctionError" not in response, pid1
    fields = report_fields(report_line(log, request_id(response)))
    assert fields["Memory Size"] == "128 MB"
    used = re.fullmatch(r"(\d+) MB", fields["Max Memory Used"])
    assert used and 0 < int(used[1]) <= 128, fields

    response, body, log = invoke(client, fn_name, {"action": "allocate", "mb": 400})
    assert_platform_error(response, body, "Runtime.OutOfMemory")
    assert "Runtime exited with error" in body["errorMessage"], body
    assert report_fields(report_line(log, request_id(response)))["Memory Size"] == "128 MB"

    response, pid2, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, pid2
    assert pid2 != pid1


# -- 8. process exit --------------------------------------------------------------------------


def test_process_exit_mid_invocation(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, MISBEHAVE)
    _, pid1, _ = invoke(client, fn_name, {})
    response, body, log = invoke(client, fn_name, {"action": "exit"})
    assert_platform_error(response, body, "Runtime.ExitError")
    assert "exit status 3" in body["errorMessage"], body
    assert f"REPORT RequestId: {request_id(response)}" in log

    response, pid2, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, pid2
    assert pid2 != pid1


# -- 9. payload limits ------------------------------------------------------------------------


def test_request_over_6_mb_is_rejected(client: Any, echo_fn: str) -> None:
    payload = b'"' + b"a" * (6 * MB - 1) + b'"'  # 6 MiB + 1 byte of valid JSON
    assert len(payload) == 6 * MB + 1
    with pytest.raises(ClientError) as exc:
        client.invoke(FunctionName=echo_fn, Payload=payload)
    code, status, headers, _ = client_error(exc)
    assert code == "RequestTooLargeException"
    assert status == 413
    assert headers.get("x-amzn-errortype", "").startswith("RequestTooLargeException")


def test_response_over_6_mb_is_a_function_error(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, MISBEHAVE, Timeout=30)
    _, pid1, _ = invoke(client, fn_name, {})
    response, body, _ = invoke(client, fn_name, {"action": "big", "bytes": 7 * MB})
    assert_unhandled(response, body, "Function.ResponseSizeTooLarge")
    assert set(body) == {"errorMessage", "errorType"}, body  # as AWS's: no requestId, no stackTrace
    assert "Response payload size exceeded maximum allowed payload size" in body["errorMessage"], body

    response, pid2, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, pid2
    assert pid2 == pid1  # the environment stays in service


# -- 10. invocation types ---------------------------------------------------------------------


def test_dry_run(client: Any, echo_fn: str) -> None:
    response = client.invoke(FunctionName=echo_fn, InvocationType="DryRun", Payload=b"{}")
    assert response["StatusCode"] == 204
    assert response["Payload"].read() == b""
    assert "FunctionError" not in response


def test_event_invocation_runs_the_handler(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    code = 'def handler(event, context):\n    print("marker", event["marker"])\n    return None\n'
    deploy(client, fn_name, code)
    marker = uuid.uuid4().hex
    response = client.invoke(FunctionName=fn_name, InvocationType="Event", Payload=json.dumps({"marker": marker}))
    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    assert "ExecutedVersion" not in response  # as AWS: no version has run when the event is accepted
    messages = wait_for_logs(lamina.endpoint, fn_name, lambda m: any(f"marker {marker}" in x for x in m))
    assert any(f"marker {marker}" in m for m in messages), messages


# -- 11. payload decoding ---------------------------------------------------------------------


def test_non_json_payload_is_rejected(client: Any, echo_fn: str) -> None:
    with pytest.raises(ClientError) as exc:
        client.invoke(FunctionName=echo_fn, Payload=b"not json")
    code, status, _, _ = client_error(exc)
    assert code == "InvalidRequestContentException"
    assert status == 400


def test_empty_payload_is_an_empty_object(client: Any, echo_fn: str) -> None:
    response, body, _ = invoke(client, echo_fn, b"")
    assert "FunctionError" not in response, body
    assert body == {}
    response, body, _ = invoke(client, echo_fn)
    assert body == {}


# -- 12. names and qualifiers -----------------------------------------------------------------


def test_qualifiers_and_function_identifiers(client: Any, pid_fn: str) -> None:
    for kwargs in (
        {"FunctionName": pid_fn, "Qualifier": "$LATEST"},
        {"FunctionName": f"{pid_fn}:$LATEST"},
        {"FunctionName": arn(pid_fn)},
        {"FunctionName": f"{arn(pid_fn)}:$LATEST"},
    ):
        response = client.invoke(Payload=b"{}", **kwargs)
        assert response["StatusCode"] == 200, kwargs
        assert "FunctionError" not in response, kwargs
        assert response["ExecutedVersion"] == "$LATEST"
        assert json.loads(response["Payload"].read()).startswith("pid:[")  # the environment's identity

    with pytest.raises(ClientError) as exc:
        client.invoke(FunctionName=pid_fn, Qualifier="7", Payload=b"{}")
    code, status, headers, message = client_error(exc)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert f"{arn(pid_fn)}:7" in message


def test_unknown_function(client: Any) -> None:
    name = f"no-such-function-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError) as exc:
        client.invoke(FunctionName=name, Payload=b"{}")
    code, status, headers, message = client_error(exc)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert headers["x-amzn-errortype"].split(":")[0] == "ResourceNotFoundException"
    assert headers.get("x-amzn-requestid")
    assert arn(name) in message


# -- 13. updates retire environments ----------------------------------------------------------


def test_updates_retire_warm_environments(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, COUNTER.format(version="v1"), Environment={"Variables": {"VALUE": "a"}})
    waiter = client.get_waiter("function_updated_v2")
    first = [invoke(client, fn_name, {})[1] for _ in range(2)]
    assert [b["count"] for b in first] == [1, 2] and first[0]["version"] == "v1"

    client.update_function_code(FunctionName=fn_name, ZipFile=make_zip({"app.py": COUNTER.format(version="v2")}))
    waiter.wait(FunctionName=fn_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    response, body, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, body
    assert (body["version"], body["count"], body["value"]) == ("v2", 1, "a")
    assert body["pid"] != first[0]["pid"]
    assert invoke(client, fn_name, {})[1]["count"] == 2

    client.update_function_configuration(FunctionName=fn_name, Environment={"Variables": {"VALUE": "b"}})
    waiter.wait(FunctionName=fn_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    response, after, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, after
    assert (after["version"], after["count"], after["value"]) == ("v2", 1, "b")
    assert after["pid"] != body["pid"]
    assert wait_identity_gone(first[0]["pid"]) and wait_identity_gone(body["pid"])


# -- 14. keep-alive ---------------------------------------------------------------------------


def test_idle_environment_expires_after_keep_alive(make_server: Callable[..., LaminaProcess], fn_name: str) -> None:
    server = make_server(LAMINA_KEEP_ALIVE="0.5")
    client = server.client()
    deploy(client, fn_name, PID)
    response, pid1, log = invoke(client, fn_name, {})
    assert "Init Duration: " in report_line(log, request_id(response))
    time.sleep(2)
    response, pid2, log = invoke(client, fn_name, {})
    assert "FunctionError" not in response, pid2
    assert pid2 != pid1
    assert "Init Duration: " in report_line(log, request_id(response))
    assert not identity_processes(pid1)


# -- 15. logs ---------------------------------------------------------------------------------


def test_logs_endpoint_has_init_and_invocation_lines(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    code = 'print("init-line", flush=True)\n\ndef handler(event, context):\n    print("handler-line", event["n"])\n    return 1\n'
    deploy(client, fn_name, code)
    rids = [request_id(invoke(client, fn_name, {"n": n})[0]) for n in range(2)]

    messages = wait_for_logs(lamina.endpoint, fn_name, lambda m: sum(x.startswith("REPORT ") for x in m) >= 2)
    assert messages.count("init-line") == 1, messages
    assert messages.index("init-line") < messages.index(f"START RequestId: {rids[0]} Version: $LATEST")
    for n, rid in enumerate(rids):
        start = messages.index(f"START RequestId: {rid} Version: $LATEST")
        printed = messages.index(f"handler-line {n}")
        end = messages.index(f"END RequestId: {rid}")
        report = next(i for i, m in enumerate(messages) if m.startswith(f"REPORT RequestId: {rid}"))
        assert start < printed < end < report, messages
        fields = report_fields(messages[report])
        assert re.fullmatch(r"\d+(\.\d+)? ms", fields["Duration"]), fields
        billed = re.fullmatch(r"(\d+) ms", fields["Billed Duration"])
        assert billed and int(billed[1]) >= 1, fields
        # Rounded up to 1 ms; a cold start's init is billed too (Lambda's rule since August 2025).
        duration = float(fields["Duration"].split()[0])
        if "Init Duration" in fields:
            duration += float(fields["Init Duration"].split()[0])
        assert duration - 0.01 <= int(billed[1]) <= max(1, math.ceil(duration + 0.01)), fields
        assert fields["Memory Size"] == "128 MB"
        assert re.fullmatch(r"[1-9]\d* MB", fields["Max Memory Used"]), fields
        assert ("Init Duration" in fields) == (n == 0), fields


# -- 16. billing ------------------------------------------------------------------------------


def test_invocations_are_recorded_for_billing(
    make_server: Callable[..., LaminaProcess], tmp_path: Path, fn_name: str
) -> None:
    data_dir = tmp_path / "billing-data"
    server = make_server(data_dir)
    client = server.client()
    deploy(client, fn_name, PID, MemorySize=192)
    rids = []
    for _ in range(3):
        response, _, _ = invoke(client, fn_name, {})
        assert "FunctionError" not in response
        rids.append(request_id(response))
    assert server.stop() == 0

    with closing(sqlite3.connect(data_dir / "lamina.db")) as db:
        rows = db.execute(
            "SELECT request_id, billed_ms, duration_ms, memory_mb, init_ms, outcome FROM invocations "
            "WHERE function = ? ORDER BY started_ms",
            (fn_name,),
        ).fetchall()
    assert sorted(r[0] for r in rows) == sorted(rids), rows
    for rid, billed, duration, memory, init_ms, outcome in rows:
        assert isinstance(billed, int) and billed >= 1
        assert billed == max(1, math.ceil(duration + (init_ms or 0))), (rid, billed, duration, init_ms)
        assert memory == 192
        assert outcome == "success"
    by_id = {r[0]: r for r in rows}
    assert by_id[rids[0]][4] is not None and by_id[rids[0]][4] > 0  # the cold start's init
    assert by_id[rids[1]][4] is None and by_id[rids[2]][4] is None


# -- 17. graceful shutdown --------------------------------------------------------------------

SLOW = """
import os, subprocess, time

def handler(event, context):
    child = subprocess.Popen(["sleep", "60"])
    print("begun", context.aws_request_id, flush=True)
    time.sleep(2)
    return {"pid": os.readlink("/proc/self/ns/pid") + "|" + str(os.getuid()), "child": child.pid}
"""


def _descendants(root: int) -> dict[int, str]:
    """Every live process descending from ``root``, with its command line."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            commands[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] not in ("Z", "X"):
            parents[int(entry.name)] = int(fields[1])
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = commands.get(pid, "")
                frontier.append(pid)
    return found


def test_graceful_shutdown_finishes_in_flight_invocation(
    make_server: Callable[..., LaminaProcess], tmp_path: Path, fn_name: str
) -> None:
    data_dir = tmp_path / "shutdown-data"
    server = make_server(data_dir)
    client = server.client()
    deploy(client, fn_name, SLOW, Timeout=30)
    assert server.proc is not None
    invoking = lambda_client(server.endpoint)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            response = invoking.invoke(FunctionName=fn_name, Payload=b"{}")
            outcome["response"] = response
            outcome["body"] = json.loads(response["Payload"].read())
        except Exception as exc:  # reported by the assertions below
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    try:
        messages = wait_for_logs(server.endpoint, fn_name, lambda m: any(x.startswith("begun ") for x in m))
        assert any(m.startswith("begun ") for m in messages), messages
        started = _descendants(server.proc.pid)  # the fork server(s), the environment, its child
        assert any("sandbox/forkserver.py" in command for command in started.values()), started
        code = server.stop()
    finally:
        thread.join(60)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome.get("error")
    assert outcome["response"]["StatusCode"] == 200
    assert "FunctionError" not in outcome["response"], outcome["body"]
    assert code == 0, "".join(server.output)

    body = outcome["body"]
    # The runtime and the child it started are both in the environment's namespace, as its uid.
    assert wait_identity_gone(body["pid"], 5), f"processes of environment {body['pid']} outlived the server"
    assert all(process_gone_by_pid(pid) for pid in started), "a process Lamina started outlived it"
