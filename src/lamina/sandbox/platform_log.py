"""The lines Lambda itself writes to a function's log when an environment starts (INIT_START) and around
each invocation (START, END, REPORT), in the function's log format: plain text, or with LoggingConfig's
JSON the Telemetry API's platform records (``platform.initStart``, ``platform.initRuntimeDone``,
``platform.initReport``, ``platform.start``, ``platform.runtimeDone``, ``platform.report``), which
SystemLogLevel WARN leaves out (they are INFO records). The end of the init phase has a record only in
JSON: its text counterpart, INIT_REPORT, is not written. Pure: values in, lines (or ``None``: not
written) out.
"""

from __future__ import annotations

import json
import time

from lamina.model import LoggingSettings
from lamina.runtime.constants import ERROR_INIT_TIMEOUT


def _time(now_ms: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now_ms / 1000)) + f".{int(now_ms) % 1000:03d}Z"


def _record(logging: LoggingSettings, kind: str, now_ms: float, record: dict[str, object]) -> str | None:
    if logging.system_level == "WARN":
        return None
    return json.dumps({"time": _time(now_ms), "type": kind, "record": record}, separators=(",", ":"))


def start(logging: LoggingSettings, request_id: str, version: str, now_ms: float) -> str | None:
    if logging.log_format != "JSON":
        return f"START RequestId: {request_id} Version: {version}"
    return _record(logging, "platform.start", now_ms, {"requestId": request_id, "version": version})


def end(logging: LoggingSettings, request_id: str, status: str, duration_ms: float, now_ms: float) -> str | None:
    if logging.log_format != "JSON":
        return f"END RequestId: {request_id}"
    return _record(logging, "platform.runtimeDone", now_ms, {
        "requestId": request_id, "status": status, "metrics": {"durationMs": round(duration_ms, 3)},
    })  # fmt: skip


def report(
    logging: LoggingSettings, request_id: str, status: str, *, duration_ms: float, billed_ms: int, memory_mb: int,
    max_memory_used_mb: int, init_ms: float | None, now_ms: float,
) -> str | None:  # fmt: skip
    if logging.log_format != "JSON":
        line = (
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tBilled Duration: {billed_ms} ms\t"
            f"Memory Size: {memory_mb} MB\tMax Memory Used: {max_memory_used_mb} MB"
        )
        # Lambda ends the line with a tab (CloudWatch keeps "...\tMax Memory Used: 72 MB\t\n").
        return (line if init_ms is None else line + f"\tInit Duration: {init_ms:.2f} ms") + "\t"
    metrics: dict[str, object] = {
        "durationMs": round(duration_ms, 2), "billedDurationMs": billed_ms, "memorySizeMB": memory_mb,
        "maxMemoryUsedMB": max_memory_used_mb,
    }  # fmt: skip
    if init_ms is not None:
        metrics["initDurationMs"] = round(init_ms, 2)
    return _record(logging, "platform.report", now_ms, {"requestId": request_id, "metrics": metrics, "status": status})


def init_start(
    logging: LoggingSettings, *, runtime_version: str, runtime_version_arn: str, initialization_type: str,
    function: str, version: str, now_ms: float,
) -> str | None:  # fmt: skip
    """The line that opens an environment's init phase (a cold start's log), naming the runtime's version."""
    if logging.log_format != "JSON":
        return f"INIT_START Runtime Version: {runtime_version}\tRuntime Version ARN: {runtime_version_arn}"
    return _record(logging, "platform.initStart", now_ms, {
        "initializationType": initialization_type, "phase": "init", "runtimeVersion": runtime_version,
        "runtimeVersionArn": runtime_version_arn, "functionName": function, "functionVersion": version,
    })  # fmt: skip


def _init_status(error_type: str | None) -> dict[str, object]:
    """How the init phase ended (``error_type``: its failure's, None if it succeeded), as the
    records' Status says it: ``success``; ``timeout`` (Lambda's init timeout); else ``error`` with
    an ``errorType``. Lambda names the platform's own errors (``Runtime.ExitError``,
    ``Runtime.ImportModuleError``...); an error type of the function's code (a ``RuntimeError``
    raised while loading) is ``Runtime.Unknown`` there."""
    if error_type is None:
        return {"status": "success"}
    if error_type == ERROR_INIT_TIMEOUT:
        return {"status": "timeout"}
    if not error_type.startswith(("Runtime.", "Sandbox.", "Extension.")):
        error_type = "Runtime.Unknown"
    return {"status": "error", "errorType": error_type}


def init_runtime_done(
    logging: LoggingSettings, *, initialization_type: str, error_type: str | None, now_ms: float,
) -> str | None:  # fmt: skip
    """The record that says the runtime finished initialising (``error_type``: its failure's, if it failed)."""
    if logging.log_format != "JSON":
        return None
    return _record(logging, "platform.initRuntimeDone", now_ms, {
        "initializationType": initialization_type, "phase": "init", **_init_status(error_type),
    })  # fmt: skip


def init_report(
    logging: LoggingSettings, *, initialization_type: str, error_type: str | None, duration_ms: float, now_ms: float,
) -> str | None:  # fmt: skip
    """The init phase's report: how it ended and how long it took (``metrics.durationMs``)."""
    if logging.log_format != "JSON":
        return None
    return _record(logging, "platform.initReport", now_ms, {
        "initializationType": initialization_type, "phase": "init", **_init_status(error_type),
        "metrics": {"durationMs": round(duration_ms, 3)},
    })  # fmt: skip
