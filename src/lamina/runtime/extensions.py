"""The Lambda Extensions API (2020-01-01) of one execution environment, beside its Runtime API.

Extensions are processes in the environment (external ones: the executables in /opt/extensions,
started before the runtime; internal ones: threads of the runtime) that register for INVOKE and
SHUTDOWN events and take them with a long-polling ``next``, as the runtime takes its invocations:

    POST /2020-01-01/extension/register    Lambda-Extension-Name; {"events": [...]} -> an identifier
    GET  /2020-01-01/extension/event/next  Lambda-Extension-Identifier -> the next event
    POST /2020-01-01/extension/init/error  an error while initialising: the environment fails
    POST /2020-01-01/extension/exit/error  an error before exiting: the environment is reset
    PUT  /2022-07-01/telemetry, /2020-08-15/logs  subscriptions (runtime/telemetry.py, runtime/logs_api.py)

An extension is *idle* when it called ``next`` and has no event waiting: init ends once the runtime
and every extension are idle (``settled``), and so does each invocation (the environment is frozen,
and its REPORT written, only then). Registration closes when init ends (``close_registration``).

No I/O beyond answering the connections it is handed; the environment decides when to deliver.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field

from lamina.runtime import logs_api
from lamina.runtime import telemetry as rt
from lamina.runtime.http11 import Channel

API_VERSION = "2020-01-01"
PREFIX = f"/{API_VERSION}/extension/"
PATH_REGISTER = PREFIX + "register"
PATH_NEXT = PREFIX + "event/next"
PATH_INIT_ERROR = PREFIX + "init/error"
PATH_EXIT_ERROR = PREFIX + "exit/error"
# Lamina's own: the launcher (sandbox/extension_processes.py) waits here, before it starts the runtime,
# until every external extension registered (as Lambda starts the runtime only then).
PATH_REGISTERED = PREFIX + "lamina/registered"

HEADER_NAME = "lambda-extension-name"
HEADER_IDENTIFIER = "Lambda-Extension-Identifier"
HEADER_ERROR_TYPE = "lambda-extension-function-error-type"
HEADER_ACCEPT_FEATURE = "lambda-extension-accept-feature"

ERROR_TELEMETRY_VALIDATION = "ValidationError"  # a refused Telemetry API subscription (the Logs API's: logs_api.py)

INVOKE = "INVOKE"
SHUTDOWN = "SHUTDOWN"
EVENTS = frozenset({INVOKE, SHUTDOWN})
MAX_EXTENSIONS = 10  # per function, enforced at registration as on Lambda

# The Shutdown phase's limits (runtimes-extensions-api.md): 2,000 ms with external extensions,
# 500 ms with internal ones only, none without.
SHUTDOWN_EXTERNAL_MS = 2000
SHUTDOWN_INTERNAL_MS = 500
# Shutdown reasons, as the SHUTDOWN event spells them.
SPINDOWN = "spindown"
TIMEOUT = "timeout"
FAILURE = "failure"


@dataclass(frozen=True)
class FunctionIdentity:
    """What a registration answers: the function the environment runs."""

    name: str
    version: str
    handler: str
    account: str


@dataclass
class Extension:
    id: str
    name: str
    events: frozenset[str]
    external: bool
    events_queue: list[bytes] = field(default_factory=list)
    waiting: Channel | None = None  # its next, long-polling
    asked: bool = False  # it called next at least once

    @property
    def idle(self) -> bool:
        return self.asked and not self.events_queue and self.waiting is not None


@dataclass(frozen=True)
class ExtensionError:
    name: str
    error_type: str
    body: bytes
    during_init: bool


def invoke_event(request_id: str, deadline_ms: int, function_arn: str, trace_id: str) -> bytes:
    """An INVOKE event as an extension's ``next`` returns it."""
    return json.dumps({
        "eventType": INVOKE, "deadlineMs": deadline_ms, "requestId": request_id, "invokedFunctionArn": function_arn,
        "tracing": {"type": "X-Amzn-Trace-Id", "value": trace_id},
    }).encode()  # fmt: skip


def shutdown_event(reason: str, deadline_ms: int) -> bytes:
    return json.dumps({"eventType": SHUTDOWN, "shutdownReason": reason, "deadlineMs": deadline_ms}).encode()


def _error(status: int, error_type: str, message: str) -> tuple[int, dict[str, str]]:
    return status, {"errorMessage": message, "errorType": error_type}


class Extensions:
    """The extensions registered in one environment; ``external`` names the executables started
    from /opt/extensions (a registration by another name is an internal extension's)."""

    def __init__(self, identity: FunctionIdentity, external: frozenset[str], telemetry: rt.Telemetry | None = None) -> None:
        self.identity = identity
        self.external = external
        self.telemetry = telemetry  # the Telemetry API's subscriptions, where the environment can deliver
        self.by_id: dict[str, Extension] = {}
        self.registration_open = True
        self.failed: ExtensionError | None = None
        self._changed: asyncio.Event = asyncio.Event()  # set whenever an extension becomes idle, or fails
        self._gate: list[Channel] = []  # launchers waiting for the external extensions' registrations

    # -- the environment's side ----------------------------------------------------------------

    @property
    def external_registered(self) -> bool:
        """Whether every external extension started has registered."""
        names = {ext.name for ext in self.by_id.values()}
        return self.external <= names

    @property
    def launcher_waiting(self) -> bool:
        """Whether the launcher waits for registrations: it has started every external extension."""
        return bool(self._gate)

    def settled(self) -> bool:
        """Every external extension registered, and every registered one idle (or one failed)."""
        if self.failed is not None:
            return True
        return self.external_registered and all(ext.idle for ext in self.by_id.values())

    async def wait_settled(self) -> None:
        while not self.settled():
            self._changed.clear()
            await self._changed.wait()

    def close_registration(self) -> None:
        self.registration_open = False

    def deliver(self, event_type: str, event: bytes) -> int:
        """Queue ``event`` for every extension registered for ``event_type``; returns how many."""
        count = 0
        for ext in self.by_id.values():
            if event_type in ext.events:
                ext.events_queue.append(event)
                count += 1
                self._send(ext)
        return count

    @property
    def has_external(self) -> bool:
        return any(ext.external for ext in self.by_id.values())

    def shutdown_limit_ms(self) -> int:
        if self.has_external:
            return SHUTDOWN_EXTERNAL_MS
        return SHUTDOWN_INTERNAL_MS if self.by_id else 0

    def close(self) -> None:
        for conn in self._gate:
            conn.close()
        self._gate.clear()
        for ext in self.by_id.values():
            if ext.waiting is not None:
                ext.waiting.close()
                ext.waiting = None

    def connection_closed(self, conn: Channel) -> None:
        for ext in self.by_id.values():
            if ext.waiting is conn:
                ext.waiting = None

    # -- the API -------------------------------------------------------------------------------

    def handle(self, conn: Channel, method: str, path: str, headers: dict[str, str], body: bytes | None) -> None:
        if method == "POST" and path == PATH_REGISTER:
            self._register(conn, headers, body)
            self._open_gate()
            return
        if method == "GET" and path == PATH_REGISTERED:
            self._gate.append(conn)
            self._open_gate()
            return
        ext = self.by_id.get(headers.get(HEADER_IDENTIFIER.lower(), ""))
        if ext is None:
            conn.respond_json(*_error(403, "Extension.InvalidExtensionIdentifier", "Invalid extension identifier"))
            return
        if method == "PUT" and path in (rt.PATH, logs_api.PATH):
            self._subscribe(conn, ext, body, logs=path == logs_api.PATH)
        elif self.failed is not None and path != PATH_NEXT:
            conn.respond_json(*_error(500, "Extension.ErrorAlreadyReported", "An error was reported already"))
        elif method == "GET" and path == PATH_NEXT:
            self._next(conn, ext)
        elif method == "POST" and path in (PATH_INIT_ERROR, PATH_EXIT_ERROR):
            error_type = headers.get(HEADER_ERROR_TYPE, "") or "Extension.UnknownReason"
            self.failed = ExtensionError(ext.name, error_type, body or b"", path == PATH_INIT_ERROR)
            self._changed.set()
            self._open_gate()
            conn.respond(202, {"Content-Type": "application/json", HEADER_IDENTIFIER: ext.id}, b'{"status":"OK"}')
        else:
            conn.respond_json(*_error(404, "InvalidRequest", f"Unknown Extensions API path: {method} {path}"))

    def _open_gate(self) -> None:
        if self._gate and (self.external_registered or self.failed is not None):
            for conn in self._gate:
                if conn.open:
                    conn.respond(200, {"Content-Type": "text/plain"}, b"")
            self._gate.clear()

    def _register(self, conn: Channel, headers: dict[str, str], body: bytes | None) -> None:
        name = headers.get(HEADER_NAME, "")
        if not name:
            conn.respond_json(*_error(403, "Extension.MissingExtensionName", "Empty extension name"))
            return
        if not self.registration_open:
            conn.respond_json(*_error(403, "Extension.RegistrationClosed",
                                      "Extension registration is closed: the environment is initialised"))  # fmt: skip
            return
        if any(ext.name == name for ext in self.by_id.values()):
            conn.respond_json(*_error(409, "Extension.AlreadyRegistered", f"Extension {name} is already registered"))
            return
        if len(self.by_id) >= MAX_EXTENSIONS:
            conn.respond_json(*_error(403, "Extension.TooManyExtensions",
                                      f"At most {MAX_EXTENSIONS} extensions may register"))  # fmt: skip
            return
        try:
            doc = json.loads(body or b"{}")
            events = doc.get("events", []) if isinstance(doc, dict) else None
        except ValueError:
            events = None
        if not isinstance(events, list) or not all(isinstance(e, str) and e in EVENTS for e in events):
            conn.respond_json(*_error(400, "InvalidEventType", "Events must be a list of INVOKE and SHUTDOWN"))
            return
        external = name in self.external
        if not external and SHUTDOWN in events:
            conn.respond_json(*_error(400, "ShutdownEventNotSupportedForInternalExtension",
                                      "An internal extension cannot register for the SHUTDOWN event"))  # fmt: skip
            return
        ext = Extension(str(uuid.uuid4()), name, frozenset(events), external)
        self.by_id[ext.id] = ext
        answer: dict[str, str] = {
            "functionName": self.identity.name, "functionVersion": self.identity.version,
            "handler": self.identity.handler,
        }  # fmt: skip
        if "accountId" in headers.get(HEADER_ACCEPT_FEATURE, "").replace(" ", "").split(","):
            answer["accountId"] = self.identity.account
        conn.respond(200, {"Content-Type": "application/json", HEADER_IDENTIFIER: ext.id}, json.dumps(answer).encode())

    def _subscribe(self, conn: Channel, ext: Extension, body: bytes | None, *, logs: bool) -> None:
        """A subscription to the Telemetry API, or (``logs``) to the Logs API."""
        api, invalid = ("Logs", logs_api.ERROR_VALIDATION) if logs else ("Telemetry", ERROR_TELEMETRY_VALIDATION)
        if self.telemetry is None:
            conn.respond_json(*_error(202, f"{api}.NotSupported", f"The {api} API is not available here"))
            return
        try:
            parse = logs_api.parse_subscription if logs else rt.parse_subscription
            subscription = parse(ext.name, body or b"")
        except rt.InvalidSubscription as exc:
            conn.respond_json(*_error(400, invalid, str(exc)))
            return
        other = self.telemetry.api_of(ext.name)
        if other is not None and other != subscription.api:  # as Lambda refuses it: one API or the other
            used = "Telemetry" if logs else "Logs"
            conn.respond_json(*_error(400, invalid, f"Extension {ext.name} is subscribed to the {used} API already; "
                                                    f"it cannot subscribe to the {api} API too"))  # fmt: skip
            return
        self.telemetry.subscribe(subscription)
        types = [t for t in (rt.PLATFORM, rt.FUNCTION, rt.EXTENSION) if t in subscription.types]
        self.telemetry.emit(rt.SUBSCRIBED, {"name": ext.name, "state": "Subscribed", "types": types})
        conn.respond(200, {"Content-Type": "text/plain"}, b"OK")

    def _next(self, conn: Channel, ext: Extension) -> None:
        ext.asked = True
        ext.waiting = conn
        if not self._send(ext):
            self._changed.set()

    def _send(self, ext: Extension) -> bool:
        """Answer the extension's waiting ``next`` with its first queued event, if both exist."""
        conn = ext.waiting
        if conn is None or not ext.events_queue:
            return False
        if not conn.open:
            ext.waiting = None
            return False
        ext.waiting = None
        conn.respond(200, {"Content-Type": "application/json", HEADER_IDENTIFIER: ext.id}, ext.events_queue.pop(0))
        return True
