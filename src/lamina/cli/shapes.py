"""The wire messages the command line sends and reads, as typed dictionaries.

Only the members the CLI uses are declared; Lamina may send more, and they pass through
untouched to ``--json`` output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, TypedDict

# Lamina accepts any role; AWS requires one, so the CLI sends a fixed placeholder.
DEFAULT_ROLE = "arn:aws:iam::000000000000:role/lamina"


class EnvironmentResponse(TypedDict, total=False):
    Variables: dict[str, str]


class FunctionConfiguration(TypedDict, total=False):
    FunctionName: str
    FunctionArn: str
    Runtime: str
    Handler: str
    MemorySize: int
    Timeout: int
    Description: str
    LastModified: str
    Version: str
    Environment: EnvironmentResponse
    State: str
    StateReason: str
    LastUpdateStatus: str
    LastUpdateStatusReason: str


class LogEvent(TypedDict):
    cursor: int
    timestamp: int  # epoch milliseconds
    logStream: str
    message: str


class QueueRow(TypedDict):
    function: str
    depth: int
    inFlight: int
    oldestAgeSeconds: float


class MappingRow(TypedDict):
    """An event source mapping as ``GET /lamina/v1/event-source-mappings`` lists it."""

    uuid: str
    source: str
    function: str
    state: str
    lastProcessingResult: str
    backlog: int | None
    oldestAgeSeconds: float | None
    pollers: int


class HttpApi(TypedDict, total=False):
    """An HTTP API as apigatewayv2's GetApis lists it (the members ``lamina apis`` shows)."""

    apiId: str
    name: str
    apiEndpoint: str
    protocolType: str


class RestApi(TypedDict, total=False):
    """A REST API as apigateway's GetRestApis lists it (the members ``lamina apis`` shows)."""

    id: str
    name: str


class RestStage(TypedDict, total=False):
    """A REST API's stage as GetStages lists it."""

    stageName: str
    deploymentId: str


class HttpApiRoute(TypedDict, total=False):
    routeId: str
    routeKey: str
    target: str


class OutboxMessage(TypedDict):
    id: int
    target: str
    kind: str
    function: str
    requestId: str
    body: str
    attributes: dict[str, dict[str, str]]
    createdMs: int


class LogPage(TypedDict):
    events: list[LogEvent]
    nextCursor: int


@dataclass(frozen=True)
class FunctionSpec:
    """What ``lamina deploy`` asks for; settings left as None keep Lamina's (or the current) value."""

    name: str
    runtime: str | None = None  # needed to create; an update without it keeps the function's
    handler: str | None = None
    memory_mb: int | None = None
    timeout_seconds: int | None = None
    environment: Mapping[str, str] | None = None
    description: str | None = None
    role: str | None = None  # on create, DEFAULT_ROLE; an update without it keeps the function's

    def configuration(self) -> dict[str, object]:
        """The body of UpdateFunctionConfiguration, also the settings part of CreateFunction."""
        body: dict[str, object] = {}
        if self.role is not None:
            body["Role"] = self.role
        if self.runtime is not None:
            body["Runtime"] = self.runtime
        if self.handler is not None:
            body["Handler"] = self.handler
        if self.memory_mb is not None:
            body["MemorySize"] = self.memory_mb
        if self.timeout_seconds is not None:
            body["Timeout"] = self.timeout_seconds
        if self.environment is not None:
            body["Environment"] = {"Variables": dict(self.environment)}
        if self.description is not None:
            body["Description"] = self.description
        return body


@dataclass(frozen=True)
class InvokeResult:
    status: int
    payload: bytes
    function_error: str | None = None
    log_tail: str | None = None  # X-Amz-Log-Result, already base64-decoded
    executed_version: str | None = None
    request_id: str | None = None


class ScheduleSummary(TypedDict, total=False):
    """A ListSchedules entry (EventBridge Scheduler), with Lamina's NextFiring (epoch seconds)."""

    Name: str
    GroupName: str
    State: str
    NextFiring: float


class ScheduleDetail(TypedDict, total=False):
    """The part of GetSchedule the CLI shows."""

    Name: str
    GroupName: str
    ScheduleExpression: str
    ScheduleExpressionTimezone: str
    State: str
