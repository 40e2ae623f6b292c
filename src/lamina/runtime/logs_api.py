"""The Logs API (2020-08-15): the Telemetry API's predecessor, served beside it by the same machinery
(runtime/telemetry.py), with its own validation and its own records.

    PUT /2020-08-15/logs   Lambda-Extension-Identifier; {"schemaVersion", "destination": {"protocol":
                           "HTTP" | "TCP", "URI"}, "types": [...], "buffering": {...}}

What it sends (runtimes-logs-api.md), as ``{"time", "type", "record"}``:

- ``function`` and ``extension``: each line, with its newline, as Lambda sends them;
- ``platform.start`` ``{"requestId", "version"}``, ``platform.end`` ``{"requestId"}``,
  ``platform.report`` ``{"requestId", "metrics"}`` (``initDurationMs`` after a cold start),
  ``platform.extension`` ``{"name", "state", "events"}``, ``platform.logsSubscription``
  ``{"name", "state", "types"}``, ``platform.fault`` (a string: the runtime exited or timed out);
- with ``schemaVersion`` 2021-03-18, ``platform.runtimeDone`` ``{"requestId", "status"}`` (success,
  failure or timeout).

The Telemetry API's init records (platform.initStart, platform.initRuntimeDone, platform.initReport)
are not the Logs API's. Its buffering's bounds are the Telemetry API's; ``maxItems`` defaults to
10,000. A refused subscription is 400 ``Logs.ValidationError``. Pure.
"""

from __future__ import annotations

from typing import Sequence

from lamina.runtime import telemetry as rt

API_VERSION = "2020-08-15"
PATH = f"/{API_VERSION}/logs"
RUNTIME_DONE_SCHEMA = "2021-03-18"  # the schema that adds platform.runtimeDone
SCHEMA_VERSIONS = frozenset({API_VERSION, RUNTIME_DONE_SCHEMA})
ERROR_VALIDATION = "Logs.ValidationError"
BUFFERING = rt.Buffering(max_items=10000)
_STATUS = {"error": "failure"}  # the Telemetry API's runtimeDone status, in the Logs API's words


def _fields(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def render(kind: str, value: object) -> Sequence[tuple[str, object]]:
    """One of the environment's records (runtime/telemetry.py's vocabulary) in the 2020-08-15 schema."""
    if kind in (rt.FUNCTION, rt.EXTENSION):
        return ((kind, f"{value}\n"),)
    fields = _fields(value)
    if kind == "platform.start":
        return ((kind, {"requestId": fields.get("requestId"), "version": fields.get("version")}),)
    if kind == "platform.report":
        request_id = fields.get("requestId")
        return (("platform.end", {"requestId": request_id}),
                ("platform.report", {"requestId": request_id, "metrics": fields.get("metrics")}))  # fmt: skip
    if kind in ("platform.extension", rt.FAULT):
        return ((kind, value),)
    if kind == rt.SUBSCRIBED:
        return (("platform.logsSubscription", value),)
    return ()


def render_with_runtime_done(kind: str, value: object) -> Sequence[tuple[str, object]]:
    """The 2021-03-18 schema: 2020-08-15's, and platform.runtimeDone."""
    if kind == "platform.runtimeDone":
        fields = _fields(value)
        status = str(fields.get("status"))
        return ((kind, {"requestId": fields.get("requestId"), "status": _STATUS.get(status, status)}),)
    return render(kind, value)


def parse_subscription(extension: str, body: bytes) -> rt.Subscription:
    """A Logs API subscription; ``telemetry.InvalidSubscription`` if Lambda would refuse it."""
    return rt.parse_common(
        extension, body, api=API_VERSION, schema_versions=SCHEMA_VERSIONS, default_schema=API_VERSION,
        defaults=BUFFERING,
        render=lambda schema: render_with_runtime_done if schema == RUNTIME_DONE_SCHEMA else render,
    )  # fmt: skip
