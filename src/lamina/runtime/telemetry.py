"""The Telemetry API (2022-07-01) of one execution environment: extensions subscribe, Lamina sends.

    PUT /2022-07-01/telemetry   Lambda-Extension-Identifier; {"schemaVersion", "destination":
                                {"protocol": "HTTP", "URI"}, "types": [...], "buffering": {...}}

A subscriber gets the environment's records of the types it chose (``platform``: platform.initStart,
platform.initRuntimeDone, platform.initReport, platform.start, platform.runtimeDone, platform.report;
``function``: the function's log lines; ``extension``: lines of extensions, which Lamina cannot tell
from the function's, since they share one output) as JSON arrays POSTed to its destination, a
listener of its own inside the environment (``sandbox.localdomain`` is the environment's loopback).
A batch goes when it holds ``maxItems`` records or ``maxBytes`` bytes, or ``timeoutMs`` after its
first record. Records made before a subscription (the init phase's) are kept and sent to it.

``parse_subscription`` and ``record`` are pure; ``Telemetry`` buffers and hands batches to ``send``
(the environment's, which connects inside its namespace) on tasks it owns.
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
TYPES = frozenset({"platform", "function", "extension"})
SCHEMA_VERSIONS = frozenset({"2022-07-01", "2022-12-13", "2025-01-29"})
DESTINATION_HOST = "sandbox.localdomain"
# Buffering's defaults and bounds (telemetry-api-reference.md).
DEFAULT_MAX_ITEMS, MIN_MAX_ITEMS, MAX_MAX_ITEMS = 1000, 1000, 10000
DEFAULT_MAX_BYTES, MIN_MAX_BYTES, MAX_MAX_BYTES = 262144, 262144, 1048576
DEFAULT_TIMEOUT_MS, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS = 1000, 25, 30000
BACKLOG = 1000  # records kept for subscribers yet to come


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


def _bounded(buffering: dict[str, object], key: str, default: int, low: int, high: int) -> int:
    value = buffering.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidSubscription(f"buffering.{key} must be an integer from {low} to {high}")
    return value


def parse_subscription(extension: str, body: bytes) -> Subscription:
    try:
        doc = json.loads(body or b"{}")
    except ValueError as exc:
        raise InvalidSubscription("The subscription is not JSON") from exc
    if not isinstance(doc, dict):
        raise InvalidSubscription("The subscription must be a JSON object")
    if doc.get("schemaVersion", "2022-07-01") not in SCHEMA_VERSIONS:
        raise InvalidSubscription(f"Unsupported schemaVersion: {doc.get('schemaVersion')}")
    destination = doc.get("destination")
    if not isinstance(destination, dict) or destination.get("protocol") != "HTTP":
        raise InvalidSubscription("destination.protocol must be HTTP")
    uri = destination.get("URI")
    parts = urlsplit(uri) if isinstance(uri, str) else None
    if parts is None or parts.scheme != "http" or parts.hostname != DESTINATION_HOST or not parts.port:
        raise InvalidSubscription(f"destination.URI must be http://{DESTINATION_HOST}:<port>/...")
    types = doc.get("types")
    if not isinstance(types, list) or not types or not all(t in TYPES for t in types):
        raise InvalidSubscription("types must be a list of platform, function and extension")
    buffering = doc.get("buffering") or {}
    if not isinstance(buffering, dict):
        raise InvalidSubscription("buffering must be an object")
    return Subscription(
        extension=extension, types=frozenset(types), host=parts.hostname, port=parts.port, path=parts.path or "/",
        max_items=_bounded(buffering, "maxItems", DEFAULT_MAX_ITEMS, MIN_MAX_ITEMS, MAX_MAX_ITEMS),
        max_bytes=_bounded(buffering, "maxBytes", DEFAULT_MAX_BYTES, MIN_MAX_BYTES, MAX_MAX_BYTES),
        timeout_ms=_bounded(buffering, "timeoutMs", DEFAULT_TIMEOUT_MS, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS),
    )  # fmt: skip


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


@dataclass
class _Queue:
    subscription: Subscription
    items: list[bytes] = field(default_factory=list)
    size: int = 0
    timer: asyncio.TimerHandle | None = None


class Telemetry:
    """One environment's subscriptions and their buffers."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._queues: list[_Queue] = []
        self._backlog: list[tuple[str, bytes]] = []
        self._keeping = True  # records are kept for later subscribers until init ends
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def subscribed(self) -> bool:
        return bool(self._queues)

    def subscribe(self, subscription: Subscription) -> None:
        self._queues = [q for q in self._queues if q.subscription.extension != subscription.extension]
        queue = _Queue(subscription)
        self._queues.append(queue)
        for kind, encoded in self._backlog:
            if category(kind) in subscription.types:
                self._add(queue, encoded)

    def emit(self, kind: str, value: object, now_ms: float | None = None) -> None:
        encoded = json.dumps(record(kind, value, time.time() * 1000 if now_ms is None else now_ms),
                             separators=(",", ":")).encode()  # fmt: skip
        if self._keeping and len(self._backlog) < BACKLOG:
            self._backlog.append((kind, encoded))
        wanted = category(kind)
        for queue in self._queues:
            if wanted in queue.subscription.types:
                self._add(queue, encoded)

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
