"""A function's log as CloudWatch Logs keeps it: INIT_START when an environment starts (naming the
runtime version and its ARN), then the init's own output, then START/END/REPORT per invocation;
every event's message ends with its newline (REPORT with a tab before it), and the LogType=Tail
result is the raw end of the log, lines with their newlines."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.conftest import LaminaProcess, deploy
from tests.functions import fetch_logs, invoke, request_id

PRINTS_AT_INIT = """
print("init-line")

def handler(event, context):
    print("handler-line")
    return "ok"
"""


def stored(endpoint: str, name: str, reports: int, report: str = "REPORT ") -> list[str]:
    """The function's stored messages as they are (with their newlines), once ``reports`` of its
    REPORT lines (those starting with ``report``, or holding it for a JSON record) are there."""
    messages: list[str] = []
    cursor = 0
    while sum(m.startswith(report) or (m.startswith("{") and report in m) for m in messages) < reports:
        page = fetch_logs(endpoint, name, cursor, wait=5)
        assert page["events"], messages
        messages += [e["message"] for e in page["events"]]
        cursor = page["nextCursor"]
    return messages


def test_a_cold_start_logs_init_start_before_its_output(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy(client, fn_name, PRINTS_AT_INIT, runtime="python3.11")
    arn = client.get_function_configuration(FunctionName=fn_name)["RuntimeVersionConfig"]["RuntimeVersionArn"]
    first = request_id(invoke(client, fn_name, {})[0])
    response, _, tail = invoke(client, fn_name, {})
    second = request_id(response)
    messages = stored(lamina.endpoint, fn_name, 2)

    assert all(m.endswith("\n") for m in messages), messages  # each event keeps its line's newline
    init_start = [m for m in messages if m.startswith("INIT_START ")]
    assert len(init_start) == 1, messages  # one environment, one init: the warm invocation has none
    version, _, rest = init_start[0].removeprefix("INIT_START Runtime Version: ").partition("\t")
    assert version.startswith("python:3.11.v") and version.removeprefix("python:3.11.v").isdigit(), init_start
    assert rest == f"Runtime Version ARN: {arn}\n"
    assert messages.index(init_start[0]) < messages.index("init-line\n") < messages.index(
        f"START RequestId: {first} Version: $LATEST\n")  # fmt: skip
    assert f"END RequestId: {first}\n" in messages and f"END RequestId: {second}\n" in messages
    report = next(m for m in messages if m.startswith(f"REPORT RequestId: {second}\t"))
    assert report.endswith(" MB\t\n"), report  # "...\tMax Memory Used: 42 MB\t\n", as Lambda writes it

    # The tail is the raw end of the log: the same lines, each with its newline.
    assert tail == f"START RequestId: {second} Version: $LATEST\nhandler-line\nEND RequestId: {second}\n{report}"


def test_init_start_as_a_platform_record_with_json_logs(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy(client, fn_name, PRINTS_AT_INIT, runtime="python3.11", LoggingConfig={"LogFormat": "JSON"})
    arn = client.get_function_configuration(FunctionName=fn_name)["RuntimeVersionConfig"]["RuntimeVersionArn"]
    invoke(client, fn_name, {})
    records = [json.loads(m) for m in stored(lamina.endpoint, fn_name, 1, '"type":"platform.report"') if m.startswith("{")]
    init = [r for r in records if r.get("type") == "platform.initStart"]
    assert len(init) == 1, records
    record = init[0]["record"]
    assert record["initializationType"] == "on-demand" and record["phase"] == "init"
    assert record["runtimeVersion"].startswith("python:3.11.v") and record["runtimeVersionArn"] == arn
    assert (record["functionName"], record["functionVersion"]) == (fn_name, "$LATEST")
    assert records.index(init[0]) < next(i for i, r in enumerate(records) if r.get("type") == "platform.start")


def test_the_init_phase_ends_with_platform_records_with_json_logs(
    lamina: LaminaProcess, client: Any, fn_name: str,
) -> None:  # fmt: skip
    deploy(client, fn_name, PRINTS_AT_INIT, runtime="python3.11", LoggingConfig={"LogFormat": "JSON"})
    first = request_id(invoke(client, fn_name, {})[0])
    invoke(client, fn_name, {})
    messages = stored(lamina.endpoint, fn_name, 2, '"type":"platform.report"')
    kinds = [json.loads(m)["type"] if m.startswith("{") else m for m in messages]
    # One init, in order: its start, the code's output, the runtime done, the report; then the invocation.
    assert kinds[:5] == ["platform.initStart", "init-line\n", "platform.initRuntimeDone", "platform.initReport",
                         "platform.start"], kinds  # fmt: skip
    assert kinds.count("platform.initReport") == 1 and kinds.count("platform.initRuntimeDone") == 1, kinds
    done, report = (json.loads(messages[i]) for i in (2, 3))
    assert done["record"] == {"initializationType": "on-demand", "phase": "init", "status": "success"}
    assert set(report["record"]) == {"initializationType", "phase", "status", "metrics"}, report
    assert (report["record"]["phase"], report["record"]["status"]) == ("init", "success")
    duration = report["record"]["metrics"]["durationMs"]
    assert list(report["record"]["metrics"]) == ["durationMs"] and duration > 0
    cold = next(json.loads(m) for m in messages if f'"requestId":"{first}"' in m and "platform.report" in m)
    assert cold["record"]["metrics"]["initDurationMs"] == round(duration, 2)  # the same init, in both


def test_a_failed_init_reports_its_error_with_json_logs(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy(client, fn_name, "raise RuntimeError('no init')\n", runtime="python3.11",
           LoggingConfig={"LogFormat": "JSON", "SystemLogLevel": "INFO"})  # fmt: skip
    response, _, _ = invoke(client, fn_name, {})
    assert response.get("FunctionError") == "Unhandled"
    messages = stored(lamina.endpoint, fn_name, 1, '"type":"platform.report"')
    records = [json.loads(m) for m in messages if m.startswith("{")]
    by_type = {r["type"]: r["record"] for r in records if "type" in r}
    # The code's own error type (RuntimeError) is the platform's Runtime.Unknown.
    status = {"initializationType": "on-demand", "phase": "init", "status": "error", "errorType": "Runtime.Unknown"}
    assert by_type["platform.initRuntimeDone"] == status, by_type
    report = by_type["platform.initReport"]
    assert {k: v for k, v in report.items() if k != "metrics"} == status and report["metrics"]["durationMs"] > 0


def test_system_log_level_warn_leaves_the_init_records_out(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy(client, fn_name, PRINTS_AT_INIT, runtime="python3.11",
           LoggingConfig={"LogFormat": "JSON", "SystemLogLevel": "WARN"})  # fmt: skip
    invoke(client, fn_name, {})
    messages = stored(lamina.endpoint, fn_name, 1, "handler-line")
    assert not [m for m in messages if '"type":"platform.' in m], messages
    assert messages[:2] == ["init-line\n", "handler-line\n"], messages


def test_the_tail_of_a_failed_init_holds_its_init_lines(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, "raise RuntimeError('no init')\n", runtime="python3.11")
    response = client.invoke(FunctionName=fn_name, LogType="Tail")
    assert response.get("FunctionError") == "Unhandled"
    tail = base64.b64decode(response["LogResult"]).decode()
    assert tail.startswith("START RequestId: ") and "\nINIT_START Runtime Version: python:3.11.v" in tail, tail
    assert "no init" in tail and tail.endswith("\t\n"), tail
