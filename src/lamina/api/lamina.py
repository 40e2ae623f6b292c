"""Lamina's own endpoints beside the Lambda API: health, logs and code downloads.

    GET /lamina/v1/health                     {"status": "ok", ...}
    GET /lamina/v1/functions/{name}/logs      ?since=<cursor>&limit=<n>&wait=<seconds>&startTime=<ms>&filter=<pattern>
        -> {"events": [{"cursor", "timestamp", "logStream", "message"}], "nextCursor"}
        With wait > 0 and nothing new, the call waits up to that long for new lines. startTime: only
        lines timestamped then or later; filter: only lines a CloudWatch Logs filter pattern matches
        (logs/patterns.py); nextCursor is then where the search got to, matching or not.
    GET /lamina/v1/code/{digest}.zip          a function's deployment package (GetFunction's Code.Location)
    GET /lamina/v1/queue                      the asynchronous-invocation queue, per function:
        -> {"functions": [{"function", "depth", "inFlight", "oldestAgeSeconds"}]}
    GET /lamina/v1/outbox                     ?target=<ARN>&after=<id>&limit=<n>: messages waiting for
        targets Lamina does not serve yet (dead letters for SQS/SNS, destination records for SQS, SNS,
        EventBridge, S3; buckets' notifications) -> {"messages": [{"id", "target", "kind", "function", "requestId", "body",
        "attributes", "createdMs"}], "nextAfter"}
    DELETE /lamina/v1/outbox/{id}             remove one message (once it has been dealt with)
"""

from __future__ import annotations

import asyncio
import re
import time

from aiohttp import web

from lamina import __version__
from lamina.api.context import json_response, services
from lamina.errors import InvalidParameterValue, ResourceNotFound
from lamina.logs.patterns import FilterPatternError, Matcher, compile_pattern
from lamina.store.base import LogEvent, LogWindow
from lamina.store.aggregates import Store

routes = web.RouteTableDef()
_SCAN_LINES = 100_000  # lines a filtered read looks at before it answers (nextCursor goes on from there)
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


@routes.get("/lamina/v1/health")
async def health(request: web.Request) -> web.Response:
    svc = services(request)
    return json_response({
        "status": "ok",
        "version": __version__,
        "environments": len(svc.scheduler.environments()),
        "inUse": svc.scheduler.in_use,
        **({"frontDoor": svc.front_door.as_json()} if svc.front_door is not None else {}),
        **({"rayNodes": svc.ray_nodes()} if svc.ray_nodes is not None else {}),
    })  # fmt: skip


def _int(request: web.Request, key: str, default: int, high: int) -> int:
    raw = request.query.get(key, str(default))
    if not raw.isdigit() or int(raw) > high:
        raise InvalidParameterValue(f"{key} must be an integer between 0 and {high}")
    return int(raw)


@routes.get("/lamina/v1/functions/{name}/logs")
async def function_logs(request: web.Request) -> web.Response:
    svc = services(request)
    name = request.match_info["name"]
    since = _int(request, "since", 0, 2**62)
    limit = max(1, _int(request, "limit", 1000, 10000))
    wait = _int(request, "wait", 0, 60)
    start = _int(request, "startTime", 0, 2**62)
    try:
        match = compile_pattern(request.query.get("filter", ""))
    except FilterPatternError as exc:
        raise InvalidParameterValue(f"Invalid filter pattern: {exc}") from exc
    window = LogWindow(start_ms=start) if start else None
    deadline = time.monotonic() + wait
    while True:
        events, since = await _matching(svc.store, name, since, limit, window, match)
        if events or time.monotonic() >= deadline:
            break
        try:
            await svc.recorder.wait_flushed(deadline - time.monotonic())
        except TimeoutError:
            pass
    if not events:
        svc.functions.get(name)  # an unknown function with no past logs is a ResourceNotFound
    return json_response({
        "events": [
            {"cursor": e.cursor, "timestamp": e.timestamp_ms, "logStream": e.stream, "message": e.message}
            for e in events
        ],
        "nextCursor": since,
    })  # fmt: skip


async def _matching(store: Store, name: str, since: int, limit: int, window: LogWindow | None,
                    match: Matcher) -> tuple[list[LogEvent], int]:  # fmt: skip
    """Up to ``limit`` of ``name``'s lines after ``since`` that ``match``, and the cursor read up to
    (a search reads at most ``_SCAN_LINES`` lines a call)."""
    found: list[LogEvent] = []
    scanned = 0
    while len(found) < limit and scanned < _SCAN_LINES:
        page = await store.read_logs(name, since, limit, window)
        for event in page:
            since = event.cursor
            if match(event.message):
                found.append(event)
                if len(found) == limit:
                    break
        scanned += len(page)
        if len(page) < limit:
            break
    return found, since


@routes.get("/lamina/v1/code/{digest}.zip")
async def code_download(request: web.Request) -> web.StreamResponse:
    svc = services(request)
    digest = request.match_info["digest"]
    path = svc.code.zip_path(digest) if _DIGEST.match(digest) else None
    if path is None or not await asyncio.to_thread(path.exists):
        raise ResourceNotFound("No such code package")
    return web.FileResponse(path, headers={"Content-Type": "application/zip"})


@routes.get("/lamina/v1/queue")
async def queue_depth(request: web.Request) -> web.Response:
    queue = services(request).queue
    return json_response({"functions": queue.depth(), "lost": queue.lost()})


@routes.get("/lamina/v1/outbox")
async def outbox(request: web.Request) -> web.Response:
    after = _int(request, "after", 0, 2**62)
    limit = max(1, _int(request, "limit", 100, 1000))
    messages = await services(request).store.list_outbox(request.query.get("target"), after, limit)
    return json_response({
        "messages": [
            {"id": m.id, "target": m.target, "kind": m.kind, "function": m.function, "requestId": m.request_id,
             "body": m.body.decode("utf-8", "replace"), "attributes": m.attributes, "createdMs": m.created_ms}
            for m in messages
        ],
        "nextAfter": messages[-1].id if len(messages) == limit else None,
    })  # fmt: skip


@routes.delete("/lamina/v1/outbox/{id}")
async def outbox_delete(request: web.Request) -> web.Response:
    text = request.match_info["id"]
    if not text.isdigit() or not await services(request).store.delete_outbox([int(text)]):
        raise ResourceNotFound(f"No outbox message {text}")
    return web.Response(status=204)
