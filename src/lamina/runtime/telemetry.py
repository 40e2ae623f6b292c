"""The Telemetry API (2022-07-01) of one execution environment, and the machinery it shares with the
Logs API (runtime/logs_api.py): extensions subscribe, Lamina sends.

    PUT /2022-07-01/telemetry   Lambda-Extension-Identifier; {"schemaVersion", "destination":
                                {"protocol": "HTTP" | "TCP", "URI"}, "types": [...], "buffering": {...}}

The environment emits its records once, in the Telemetry API's vocabulary (``platform``:
platform.initStart, platform.extension, platform.initRuntimeDone, platform.initReport,
platform.start, platform.runtimeDone, platform.report; and ``platform.fault`` and
``platform.subscription``, which only the Logs API sends; ``function``: the runtime's lines;
``extension``: the external extensions' lines, read from a pipe of their own). Each subscription
renders them in its API's schema (``Subscription.render``) and gets those of the types it chose, as
batches sent to its destination, a listener of its own inside the environment
(``sandbox.localdomain`` is the environment's loopback): a JSON array POSTed (HTTP), or
newline-delimited JSON on a connection (TCP). A batch goes when it holds ``maxItems`` records or
``maxBytes`` bytes, or ``timeoutMs`` after its first record. Records made before a subscription
(the init phase's) are kept and sent to it.

An extension subscribes with one API only: subscribing with the other is refused (``Telemetry.api_of``).

``parse_subscription``, ``parse_common``, ``render`` and ``record`` are pure; ``Telemetry`` buffers and
hands batches to ``send`` (the environment's, which connects inside its namespace) on tasks it owns.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

API_VERSION = "2022-07-01"
PATH = f"/{API_VERSION}/telemetry"
PLATFORM, FUNCTION, EXTENSION = "platform", "function", "extension"
TYPES = frozenset({PLATFORM, FUNCTION, EXTENSION})
SCHEMA_VERSIONS = frozenset({"2022-07-01", "2022-12-13", "2025-01-29"})
DESTINATION_HOST = "sandbox.localdomain"
HTTP, TCP = "HTTP", "TCP"
# Buffering's defaults and bounds (telemetry-api-reference.md).
DEFAULT_MAX_ITEMS, MIN_MAX_ITEMS, MAX_MAX_ITEMS = 1000, 1000, 10000
DEFAULT_MAX_BYTES, MIN_MAX_BYTES, MAX_MAX_BYTES = 262144, 262144, 1048576
DEFAULT_TIMEOUT_MS, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS = 1000, 25, 30000
BACKLOG = 1000  # records kept for subscribers yet to come
MAX_SUBSCRIPTION_BYTES = 65536
# Kinds the environment emits that each API names its own way, or only one of them sends.
FAULT = "platform.fault"  # a string: the runtime exited, or timed out (the Logs API's alone)
SUBSCRIBED = "platform.subscription"  # {"name", "state", "types"}: an extension subscribed

# One of the environment's records as a subscription's API sends it: none, one or several records
# (type, record). A module-level function per schema, so that subscribers of one schema share
# one encoding of each record.
Render = Callable[[str, object], Sequence[tuple[str, object]]]


class InvalidSubscription(ValueError):
    """A subscription Lambda refuses (400 ValidationError); the message says why."""


@dataclass(frozen=True)
class Subscription:
    extension: str
    types: frozenset[str]
    host: str
    port: int
    path: str
    max_items: int
    max_bytes: int
    timeout_ms: int
    protocol: str  # HTTP or TCP
    api: str  # the API it subscribed with (its version): telemetry's, or the Logs API's
    render: Render = field(compare=False, repr=False)  # its API's records, in its schema version


@dataclass(frozen=True)
class Buffering:
    """An API's buffering defaults (bounds are the same for both)."""

    max_items: int = DEFAULT_MAX_ITEMS
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout_ms: int = DEFAULT_TIMEOUT_MS


def _bounded(buffering: dict[str, object], key: str, default: int, low: int, high: int) -> int:
    value = buffering.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidSubscription(f"buffering.{key} must be an integer from {low} to {high}")
    return value


def _destination(destination: object) -> tuple[str, int, str, str]:
    """(host, port, path, protocol) of a subscription's destination, inside the environment:
    ``http://sandbox.localdomain:<port>/<path>`` for HTTP, ``sandbox.localdomain:<port>`` (or with
    ``tcp://``) for TCP."""
    if not isinstance(destination, dict) or destination.get("protocol") not in (HTTP, TCP):
        raise InvalidSubscription("destination.protocol must be HTTP or TCP")
    protocol, uri = destination["protocol"], destination.get("URI")
    if protocol == TCP and isinstance(uri, str) and "://" not in uri:
        uri = "tcp://" + uri
    try:
        parts = urlsplit(uri) if isinstance(uri, str) else None
        port = parts.port if parts is not None else None
    except ValueError:  # a port that is not a number, or out of range
        parts, port = None, None
    scheme = "http" if protocol == HTTP else "tcp"
    if (parts is None or parts.scheme != scheme or parts.hostname != DESTINATION_HOST or not port
            or parts.username is not None):  # fmt: skip
        example = f"http://{DESTINATION_HOST}:<port>/..." if protocol == HTTP else f"{DESTINATION_HOST}:<port>"
        raise InvalidSubscription(f"destination.URI must be {example}")
    return parts.hostname, port, parts.path or "/", protocol


def parse_common(
    extension: str, body: bytes, *, api: str, schema_versions: frozenset[str], default_schema: str,
    defaults: Buffering, render: Callable[[str], Render],
) -> Subscription:  # fmt: skip
    """A subscription to either API (``api``: its version), as both APIs validate one; ``render``
    gives the schema version's renderer. ``InvalidSubscription`` says what is wrong."""
    if len(body) > MAX_SUBSCRIPTION_BYTES:  # a subscription is a few hundred bytes: not parsed on the event loop
        raise InvalidSubscription(f"The subscription is larger than {MAX_SUBSCRIPTION_BYTES} bytes")
    try:
        doc = json.loads(body or b"{}")
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep to parse
        raise InvalidSubscription("The subscription is not JSON") from exc
    if not isinstance(doc, dict):
        raise InvalidSubscription("The subscription must be a JSON object")
    schema = doc.get("schemaVersion") or default_schema
    if not isinstance(schema, str) or schema not in schema_versions:
        raise InvalidSubscription(f"Unsupported schemaVersion: {str(schema)[:64]}")
    host, port, path, protocol = _destination(doc.get("destination"))
    types = doc.get("types")
    if not isinstance(types, list) or not types or not all(isinstance(t, str) and t in TYPES for t in types):
        raise InvalidSubscription("types must be a list of platform, function and extension")
    buffering = doc.get("buffering")
    buffering = {} if buffering is None else buffering
    if not isinstance(buffering, dict):
        raise InvalidSubscription("buffering must be an object")
    return Subscription(
        extension=extension, types=frozenset(types), host=host, port=port, path=path,
        max_items=_bounded(buffering, "maxItems", defaults.max_items, MIN_MAX_ITEMS, MAX_MAX_ITEMS),
        max_bytes=_bounded(buffering, "maxBytes", defaults.max_bytes, MIN_MAX_BYTES, MAX_MAX_BYTES),
        timeout_ms=_bounded(buffering, "timeoutMs", defaults.timeout_ms, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS),
        protocol=protocol, api=api, render=render(str(schema)),
    )  # fmt: skip


def render(kind: str, value: object) -> Sequence[tuple[str, object]]:
    """A record as the Telemetry API sends it: as the environment emitted it, but for the Logs API's
    own kinds. (Lamina sends no platform.telemetrySubscription: made during init, it would come
    before the init records, which are made as init ends.)"""
    if kind in (SUBSCRIBED, FAULT):
        return ()
    return ((kind, value),)


def parse_subscription(extension: str, body: bytes) -> Subscription:
    return parse_common(extension, body, api=API_VERSION, schema_versions=SCHEMA_VERSIONS, default_schema="2022-07-01",
                        defaults=Buffering(), render=lambda schema: render)  # fmt: skip


def _time(now_ms: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now_ms / 1000)) + f".{int(now_ms) % 1000:03d}Z"


def record(kind: str, value: object, now_ms: float) -> dict[str, object]:
    """One record as the Telemetry API sends it: ``{"time", "type", "record"}``."""
    return {"time": _time(now_ms), "type": kind, "record": value}


def category(kind: str) -> str:
    """The subscription type a record's type belongs to: ``platform.report`` is ``platform``."""
    return kind.split(".", 1)[0]


def init_records(
    function: str, version: str, runtime: str, runtime_version_arn: str, *, provisioned: bool, status: str,
    init_ms: float, now_ms: float, extensions: Sequence[tuple[str, str, list[str]]] = (),
) -> list[tuple[str, dict[str, object], float]]:  # fmt: skip
    """The init phase's platform records (type, record, time), made as it ends at ``now_ms``;
    ``extensions``: each registered one's name, state and events (a ``platform.extension`` record)."""
    kind = "provisioned-concurrency" if provisioned else "on-demand"
    registered: list[tuple[str, dict[str, object], float]] = [
        ("platform.extension", {"name": name, "state": state, "events": events}, now_ms) for name, state, events in extensions
    ]
    return [
        ("platform.initStart", {
            "initializationType": kind, "phase": "init", "runtimeVersion": runtime,
            "runtimeVersionArn": runtime_version_arn, "functionName": function, "functionVersion": version,
        }, now_ms - init_ms),
        *registered,
        ("platform.initRuntimeDone", {"initializationType": kind, "phase": "init", "status": status}, now_ms),
        ("platform.initReport", {
            "initializationType": kind, "phase": "init", "status": status, "metrics": {"durationMs": round(init_ms, 3)},
        }, now_ms),
    ]  # fmt: skip


Send = Callable[[Subscription, bytes], Awaitable[None]]


def _encode(kind: str, value: object, now_ms: float) -> bytes:
    return json.dumps(record(kind, value, now_ms), separators=(",", ":")).encode()


@dataclass
class _Queue:
    subscription: Subscription
    items: list[bytes] = field(default_factory=list)
    size: int = 0
    timer: asyncio.TimerHandle | None = None


class Telemetry:
    """One environment's subscriptions (of both APIs) and their buffers."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._queues: list[_Queue] = []
        self._backlog: list[tuple[str, object, float]] = []
        self._keeping = True  # records are kept for later subscribers until init ends
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def subscribed(self) -> bool:
        return bool(self._queues)

    def api_of(self, extension: str) -> str | None:
        """The API ``extension`` subscribed with, if it did."""
        return next((q.subscription.api for q in self._queues if q.subscription.extension == extension), None)

    def subscribe(self, subscription: Subscription) -> None:
        """Subscribe (again: a subscription replaces the extension's last one) and send it what was kept."""
        self._queues = [q for q in self._queues if q.subscription.extension != subscription.extension]
        queue = _Queue(subscription)
        self._queues.append(queue)
        for kind, value, at_ms in self._backlog:
            if category(kind) in subscription.types:
                for rendered, shaped in subscription.render(kind, value):
                    self._add(queue, _encode(rendered, shaped, at_ms))

    def emit(self, kind: str, value: object, now_ms: float | None = None) -> None:
        """A record of the environment's, for every subscription of its type, in that one's schema."""
        at_ms = time.time() * 1000 if now_ms is None else now_ms
        if self._keeping and len(self._backlog) < BACKLOG:
            self._backlog.append((kind, value, at_ms))
        wanted = category(kind)
        encoded: dict[Render, list[bytes]] = {}  # one encoding per schema
        for queue in self._queues:
            sub = queue.subscription
            if wanted not in sub.types:
                continue
            items = encoded.get(sub.render)
            if items is None:
                items = encoded[sub.render] = [_encode(k, v, at_ms) for k, v in sub.render(kind, value)]
            for item in items:
                self._add(queue, item)

    def _add(self, queue: _Queue, encoded: bytes) -> None:
        queue.items.append(encoded)
        queue.size += len(encoded)
        sub = queue.subscription
        if len(queue.items) >= sub.max_items or queue.size >= sub.max_bytes:
            self._flush(queue)
        elif queue.timer is None:
            queue.timer = asyncio.get_running_loop().call_later(sub.timeout_ms / 1000, self._flush, queue)

    def _flush(self, queue: _Queue) -> None:
        if queue.timer is not None:
            queue.timer.cancel()
            queue.timer = None
        if not queue.items:
            return
        if queue.subscription.protocol == TCP:  # newline-delimited JSON
            body = b"\n".join(queue.items) + b"\n"
        else:
            body = b"[" + b",".join(queue.items) + b"]"
        queue.items, queue.size = [], 0
        task = asyncio.create_task(self._deliver(queue.subscription, body), name=f"lamina-telemetry-{queue.subscription.extension}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, subscription: Subscription, body: bytes) -> None:
        try:
            await self._send(subscription, body)
        except (OSError, asyncio.TimeoutError) as exc:
            log.debug("telemetry to %s not delivered: %s", subscription.extension, exc)

    def end_init(self) -> None:
        """Init is over: its records are no longer kept for subscribers to come."""
        self._keeping = False
        self._backlog.clear()

    async def close(self, timeout: float) -> None:
        """Send what is buffered, wait for deliveries (at most ``timeout`` s), and stop."""
        for queue in self._queues:
            self._flush(queue)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)
        for task in list(self._tasks):
            task.cancel()
        self._queues = []
