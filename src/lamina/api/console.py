"""The web console (docs/console.md): its page at /console/ and the JSON it reads, as the
operator of every cell. Not SigV4-signed (a browser has no keys): console/access.py decides who may
read it and which POSTs are the page's own; served on the public listener only, never inside
environments' namespaces. Every /console/api/ route reads the cell ``?cell=ACCOUNT/REGION`` names
(console/cells.py; the default cell without it); api/operator.py serves the routes across cells.

    GET  /console/                                 the page (or how to build its front end)
    GET  /console/assets/{name}                    its scripts and styles (console/static/)
    GET  /console/api/functions                    {"functions": [function]}
    GET  /console/api/functions/{name}             {"function", "versions", "aliases", "triggers",
                                                    "queue", "deadLetters"}
    GET  /console/api/functions/{name}/series      ?minutes=<1..1440>: per minute (console/series.py)
    GET  /console/api/functions/{name}/logs        ?since=<cursor>&wait=<seconds>: without since, the
                                                    newest lines; with it, those after (waiting)
    POST /console/api/functions/{name}/invoke      {"payload": "<JSON text>", "qualifier"} ->
                                                    {"status", "requestId", "executedVersion",
                                                     "functionError", "payload", "logTail"}
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable

from aiohttp import web

from lamina.api.context import CELLS, Services, json_response, read_body, services
from lamina.console import access, cells, page, views
from lamina.console.cost import price_of
from lamina.console.series import per_minute, window_start
from lamina.errors import ApiError, InvalidParameterValue, InvalidRequestContent, RequestTooLarge
from lamina.invoke.service import InvokeRequest
from lamina.store.base import LogEvent, LogWindow, OutboxMessage
from lamina.urls.addresses import function_url

PREFIX = "/console"
PAGE_TOKEN = web.AppKey("console_token", str)  # the page's token for its POSTs: new at every start
_RECENT_LINES = 200  # the newest lines a first read shows
_RECENT_MS = 3_600_000  # ... from the last hour
_PAGE_LINES = 1000
_SCAN_LINES = 20_000  # lines a first read looks through at most
_LETTERS = 50
_OUTBOX_SCAN = 5_000
_MAX_INVOKE_BODY = 7 * 1024 * 1024  # a 6 MB payload, escaped as a JSON string
_TYPES = {".js": "text/javascript", ".css": "text/css"}
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
# Only this server's own files: no other origin's script, style, frame or connection.
_POLICY = ("default-src 'none'; script-src 'self' 'sha256-{importmap}'; style-src 'self' 'unsafe-inline'; "
           "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
routes = web.RouteTableDef()


def register(app: web.Application) -> None:
    """Serve the console from ``app`` (the operator's application, never the environments')."""
    app[PAGE_TOKEN] = secrets.token_urlsafe(32)
    app.add_routes(routes)


def guarded(handler: Handler) -> Handler:
    """``handler`` served to the console's reader only (console/access.py), its POSTs to the
    page's own, its errors in the console's shape: ``{"error", "message"}``."""
    async def serve(request: web.Request) -> web.StreamResponse:
        settings = services(request).settings
        refusal = access.refused(token=settings.console_token, authorization=request.headers.get("Authorization"),
                                 cookie=request.cookies.get(access.COOKIE), remote=request.remote,
                                 host=request.headers.get("Host"))  # fmt: skip
        if refusal is not None:
            return _error(refusal.status, "AccessDenied", refusal.message)
        if request.method != "GET":
            forged = access.forged(origin=request.headers.get("Origin"), host=request.headers.get("Host"),
                                   sent=request.headers.get(access.TOKEN_HEADER), expected=request.app[PAGE_TOKEN],
                                   content_type=request.headers.get("Content-Type"))  # fmt: skip
            if forged is not None:
                return _error(403, "Forbidden", forged)
        try:
            response = await handler(request)
        except ApiError as exc:
            return _error(exc.status, exc.code, exc.message)
        response.headers.update(_HEADERS)
        return response

    return serve


async def chosen(request: web.Request, *, every: bool = False) -> list[tuple[cells.Key, Services]]:
    """The cells the request's ``cell`` names (console/cells.py), with their services; a cell left
    on disk and not started yet is started (it exists: nothing is made)."""
    lookup = request.app[CELLS]
    known = await asyncio.to_thread(lookup.known)  # lists the data directory's cells
    found = []
    for key in cells.chosen(request.query.getall(cells.PARAM, []), known, every=every):
        found.append((key, lookup.started(*key) or await lookup.open(*key)))
    return found


async def _cell(request: web.Request) -> Services:
    return (await chosen(request))[0][1]


def _error(status: int, code: str, message: str) -> web.Response:
    response = json_response({"error": code, "message": message}, status=status)
    response.headers.update(_HEADERS)
    return response


@routes.get(PREFIX)
async def bare(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(PREFIX + "/")


@routes.get(PREFIX + "/")
async def index(request: web.Request) -> web.StreamResponse:
    token = services(request).settings.console_token
    given = request.query.get("token")
    if token is not None and given is not None:  # the link that opens it: the cookie, and the token out of the URL
        response = web.HTTPFound(PREFIX + "/")
        if access.refused(token=token, authorization=None, cookie=given, remote=None, host=None) is None:
            response.set_cookie(access.COOKIE, given, path=PREFIX, httponly=True, samesite="Strict")
        raise response
    return await _page(request)


@guarded
async def _page(request: web.Request) -> web.StreamResponse:
    if not page.built():
        return web.Response(status=503, text=page.missing(), content_type="text/html")
    body = page.page(request.app[PAGE_TOKEN])
    headers = {"Content-Security-Policy": _POLICY.format(importmap=page.IMPORTMAP_SHA256)}
    return web.Response(text=body, content_type="text/html", headers=headers)


@routes.get(PREFIX + "/assets/{name:.+}")
@guarded
async def asset(request: web.Request) -> web.StreamResponse:
    path = page.asset(request.match_info["name"])
    if path is None:
        return _error(404, "NotFound", "No such asset")
    return web.Response(body=await asyncio.to_thread(path.read_bytes), content_type=_TYPES[path.suffix])


@routes.get(PREFIX + "/api/functions")
@guarded
async def functions(request: web.Request) -> web.StreamResponse:
    svc = await _cell(request)
    found, marker = [], None
    while True:
        batch, marker = svc.functions.list(marker, 1000)
        found += batch
        if marker is None:
            break
    return json_response({"functions": [views.function(fn) for fn in found]})


@routes.get(PREFIX + "/api/functions/{name}")
@guarded
async def function(request: web.Request) -> web.StreamResponse:
    svc = await _cell(request)
    name = request.match_info["name"]
    fn = svc.functions.get(name)
    queue = next((row for row in svc.queue.depth() if row["function"] == name), None)
    return json_response({
        "function": views.function(fn),
        "versions": [views.version(v) for v in svc.functions.versions.list_for(name)],
        "aliases": [views.alias(a) for a in svc.functions.aliases.list_for(name)],
        "triggers": _triggers(svc, name, request),
        "queue": queue or {"function": name, "depth": 0, "inFlight": 0, "oldestAgeSeconds": 0},
        "deadLetters": await _letters(svc, name),
    })  # fmt: skip


def _triggers(svc: Services, name: str, request: web.Request) -> dict[str, object]:
    """The function's event source mappings, URLs and event bus rules (those of any of its
    qualifiers that target it)."""
    mappings, marker = [], None
    while True:
        batch, marker = svc.mappings.list(name, None, marker, 100)
        mappings += batch
        if marker is None:
            break
    port = request.url.port or 80
    urls = [u for u in svc.urls.list(name, None, "50")[0]]
    qualifiers = [None, *(v.version for v in svc.functions.versions.list_for(name)),
                  *(a.name for a in svc.functions.aliases.list_for(name))]  # fmt: skip
    rules = []
    buses, _ = svc.events.control.list_buses(None, None, 100)
    for bus in buses:
        for qualifier in qualifiers:
            arn = svc.settings.function_arn(name, qualifier)
            for rule_name in svc.events.control.rules_by_target(arn, bus.name, None, 100)[0]:
                rules.append(views.rule(bus.name, rule_name, qualifier))
    return {
        "mappings": [views.mapping(m) for m in mappings],
        "urls": [views.url(u, function_url(u.url_id, svc.settings.region, port)) for u in urls],
        "rules": rules,
    }


async def _letters(svc: Services, name: str) -> list[dict[str, object]]:
    messages: list[OutboxMessage] = []
    after = 0
    while len(messages) < _OUTBOX_SCAN:
        page_ = await svc.store.list_outbox(None, after, 1000)
        messages += page_
        if len(page_) < 1000:
            break
        after = page_[-1].id
    return views.letters(messages, name, _LETTERS)


@routes.get(PREFIX + "/api/functions/{name}/series")
@guarded
async def series(request: web.Request) -> web.StreamResponse:
    svc = await _cell(request)
    name = request.match_info["name"]
    fn = svc.functions.get(name)
    minutes = _int(request, "minutes", 60, 1, 1440)
    now_ms = int(time.time() * 1000)
    records = await svc.store.list_invocations(name, since_ms=window_start(now_ms, minutes))
    data = per_minute(records, now_ms=now_ms, minutes=minutes, price=price_of(svc.settings.prices, fn.architectures[0]))
    return json_response({"function": name, "architecture": fn.architectures[0], **data.as_json()})


@routes.get(PREFIX + "/api/functions/{name}/logs")
@guarded
async def logs(request: web.Request) -> web.StreamResponse:
    svc = await _cell(request)
    name = request.match_info["name"]
    svc.functions.get(name)
    wait = _int(request, "wait", 0, 0, 25)
    if "since" not in request.query:
        events, cursor = await _recent(svc, name)
    else:
        cursor = _int(request, "since", 0, 0, 2**62)
        deadline = time.monotonic() + wait
        while True:
            events = await svc.store.read_logs(name, cursor, _PAGE_LINES)
            if events or time.monotonic() >= deadline:
                break
            try:
                await svc.recorder.wait_flushed(deadline - time.monotonic())
            except TimeoutError:
                pass
        cursor = events[-1].cursor if events else cursor
    return json_response({
        "events": [{"cursor": e.cursor, "timestamp": e.timestamp_ms, "logStream": e.stream, "message": e.message}
                   for e in events],
        "nextCursor": cursor,
    })  # fmt: skip


async def _recent(svc: Services, name: str) -> tuple[list[LogEvent], int]:
    """The newest lines of the last hour (at most ``_RECENT_LINES``), and the cursor after them."""
    window = LogWindow(start_ms=int(time.time() * 1000) - _RECENT_MS)
    newest: deque[LogEvent] = deque(maxlen=_RECENT_LINES)
    cursor = scanned = 0
    while scanned < _SCAN_LINES:
        events = await svc.store.read_logs(name, cursor, _PAGE_LINES, window)
        newest.extend(events)
        scanned += len(events)
        if events:
            cursor = events[-1].cursor
        if len(events) < _PAGE_LINES:
            break
    return list(newest), cursor


@routes.post(PREFIX + "/api/functions/{name}/invoke")
@guarded
async def invoke(request: web.Request) -> web.StreamResponse:
    svc = await _cell(request)
    if (request.content_length or 0) > _MAX_INVOKE_BODY:
        raise RequestTooLarge(f"The request must be smaller than {_MAX_INVOKE_BODY} bytes.")
    try:
        body = json.loads(await read_body(request))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRequestContent("The request's body is not JSON.") from exc
    payload, qualifier = (body.get("payload"), body.get("qualifier")) if isinstance(body, dict) else (None, None)
    if not isinstance(payload, str) or not (qualifier is None or isinstance(qualifier, str)):
        raise InvalidRequestContent('Send {"payload": "<JSON text>", "qualifier": "<version or alias>"}.')
    result = await svc.invoker.invoke(InvokeRequest(
        function=request.match_info["name"], payload=payload.encode(), qualifier=qualifier or None,
        log_tail=True, refuse_pending=True,
    ))  # fmt: skip
    return json_response({
        "status": result.status,
        "requestId": result.request_id,
        "executedVersion": result.executed_version,
        "functionError": result.function_error,
        "payload": result.payload.decode("utf-8", "replace"),
        "logTail": base64.b64decode(result.log_result).decode("utf-8", "replace") if result.log_result else "",
    })  # fmt: skip


def _int(request: web.Request, key: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(key, str(default))
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise InvalidParameterValue(f"{key} must be an integer from {low} to {high}")
    return int(raw)
