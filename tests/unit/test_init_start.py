"""The INIT_START line (sandbox/platform_log.py) and the runtime version it names
(runtime/version_arn.py), with plain values."""

from __future__ import annotations

import json

from lamina.model import LoggingSettings
from lamina.runtime.version_arn import runtime_version_arn, runtime_version_name
from lamina.sandbox import platform_log


def test_runtime_versions_are_named_as_lambda_names_them() -> None:
    assert runtime_version_name("python3.12", "0.1.0") == "python:3.12.v100"
    assert runtime_version_name("python3.13", "1.2.3") == "python:3.13.v10203"
    assert runtime_version_name("nodejs20.x", "0.1.0") == "nodejs:20.v100"
    assert runtime_version_name("provided.al2023", "0.1.0") == "provided:al2023.v100"
    assert runtime_version_name("provided.al2", "0.1.0") == "provided:al2.v100"
    assert runtime_version_name("java8.al2", "0.1.0") == "java:8.al2.v100"
    assert runtime_version_name("dotnet8", "0.1.0") == "dotnet:8.v100"
    assert runtime_version_name("ruby3.3", "0.2.0.dev1") == "ruby:3.3.v200"


def test_init_start_text_line() -> None:
    arn = runtime_version_arn("eu-south-1", "python3.12", "0.1.0")
    line = platform_log.init_start(
        LoggingSettings(), runtime_version="python:3.12.v100", runtime_version_arn=arn,
        initialization_type="on-demand", function="f", version="$LATEST", now_ms=0,
    )  # fmt: skip
    assert line == f"INIT_START Runtime Version: python:3.12.v100\tRuntime Version ARN: {arn}"
    assert arn.startswith("arn:aws:lambda:eu-south-1::runtime:") and len(arn.rsplit(":", 1)[1]) == 64


def test_init_start_as_a_platform_record() -> None:
    now_ms = 1_700_000_000_123
    line = platform_log.init_start(
        LoggingSettings("JSON", "INFO", "INFO"), runtime_version="nodejs:20.v100", runtime_version_arn="arn:x",
        initialization_type="provisioned-concurrency", function="f", version="3", now_ms=now_ms,
    )  # fmt: skip
    assert json.loads(line or "") == {
        "time": "2023-11-14T22:13:20.123Z", "type": "platform.initStart",
        "record": {
            "initializationType": "provisioned-concurrency", "phase": "init", "runtimeVersion": "nodejs:20.v100",
            "runtimeVersionArn": "arn:x", "functionName": "f", "functionVersion": "3",
        },
    }  # fmt: skip
    # An INFO record: SystemLogLevel WARN leaves it out.
    assert platform_log.init_start(
        LoggingSettings("JSON", "INFO", "WARN"), runtime_version="nodejs:20.v100", runtime_version_arn="arn:x",
        initialization_type="on-demand", function="f", version="3", now_ms=now_ms,
    ) is None  # fmt: skip


def test_the_init_phase_ends_with_platform_records_in_json_only() -> None:
    now_ms = 1_700_000_000_123
    as_json = LoggingSettings("JSON", "INFO", "INFO")
    done = platform_log.init_runtime_done(as_json, initialization_type="on-demand", error_type=None, now_ms=now_ms)
    assert json.loads(done or "") == {
        "time": "2023-11-14T22:13:20.123Z", "type": "platform.initRuntimeDone",
        "record": {"initializationType": "on-demand", "phase": "init", "status": "success"},
    }  # fmt: skip
    report = platform_log.init_report(as_json, initialization_type="provisioned-concurrency", error_type=None,
                                      duration_ms=123.45678, now_ms=now_ms)  # fmt: skip
    assert json.loads(report or "") == {
        "time": "2023-11-14T22:13:20.123Z", "type": "platform.initReport",
        "record": {"initializationType": "provisioned-concurrency", "phase": "init", "status": "success",
                   "metrics": {"durationMs": 123.457}},
    }  # fmt: skip


def test_a_failed_init_says_how_in_its_records() -> None:
    as_json = LoggingSettings("JSON", "INFO", "INFO")

    def status(error_type: str) -> dict[str, object]:
        done = platform_log.init_runtime_done(as_json, initialization_type="on-demand", error_type=error_type, now_ms=0)
        report = platform_log.init_report(as_json, initialization_type="on-demand", error_type=error_type,
                                          duration_ms=5, now_ms=0)  # fmt: skip
        record, reported = json.loads(done or "")["record"], json.loads(report or "")["record"]
        assert reported.pop("metrics") == {"durationMs": 5} and reported == record
        return {k: v for k, v in record.items() if k not in ("initializationType", "phase")}

    assert status("Runtime.ExitError") == {"status": "error", "errorType": "Runtime.ExitError"}
    assert status("Runtime.ImportModuleError") == {"status": "error", "errorType": "Runtime.ImportModuleError"}
    assert status("Extension.Crash") == {"status": "error", "errorType": "Extension.Crash"}
    # An error type of the function's code is the platform's Runtime.Unknown; the init timeout is a status.
    assert status("ValueError") == {"status": "error", "errorType": "Runtime.Unknown"}
    assert status("Runtime.InitTimeout") == {"status": "timeout"}


def test_the_init_end_has_no_text_line_and_warn_leaves_its_records_out() -> None:
    for logging in (LoggingSettings(), LoggingSettings("JSON", "INFO", "WARN")):
        done = platform_log.init_runtime_done(logging, initialization_type="on-demand", error_type=None, now_ms=0)
        assert done is None
        assert platform_log.init_report(logging, initialization_type="on-demand", error_type="E", duration_ms=1,
                                        now_ms=0) is None  # fmt: skip
