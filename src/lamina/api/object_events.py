"""The intake of other object stores' event notifications (objects/intake.py):

    POST /lamina/v1/object-events/{function}[:{qualifier}]
        Authorization: Bearer <LAMINA_OBJECT_EVENTS_TOKEN>
        {"EventName", "Key", "Records": [...]} (MinIO) or {"Records": [...]} (Ceph RGW, AWS)
        -> 202 {"accepted": n, "requestIds": [...]}: each record invoked asynchronously as
           {"Records": [record]}, stored before the answer

    HEAD /lamina/v1/object-events/{function}   204: the intake is on (MinIO asks so whether its
        webhook's endpoint is up)

Off (404) without LAMINA_OBJECT_EVENTS_TOKEN; 401 without a token, 403 with another; 413 beyond
1 MB; 400 for a body that is not S3 event records; the Lambda API's errors for the function (404 if
it does not exist, 429 when its queue is full). The sender retries what was not answered 202.
Execution environments never reach it: their application answers it ``from_environments``, an
AccessDeniedException (a token is no signature, and no role's policy can allow it).
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from lamina import jsonbody
from lamina.api.context import json_response, services
from lamina.api.errors import RequestTimeout
from lamina.control.targets import identify
from lamina.errors import AccessDenied, RequestTooLarge
from lamina.invoke.service import EVENT, InvokeRequest
from lamina.objects import intake

routes = web.RouteTableDef()
from_environments = web.RouteTableDef()  # what the API inside environments' namespaces answers instead


@from_environments.route("*", "/lamina/v1/object-events/{function}")
async def refused(request: web.Request) -> web.Response:
    raise AccessDenied("Execution environments may not use the object-events intake.")


@routes.post("/lamina/v1/object-events/{function}")
async def object_events(request: web.Request) -> web.Response:
    svc = services(request)
    token = svc.settings.object_events_token
    if token is None:
        raise intake.OFF
    intake.authorize(request.headers.get("Authorization"), token)
    raw = await _bounded_body(request, intake.MAX_BODY_BYTES, svc.settings.body_timeout_seconds)
    found = intake.records(await jsonbody.parse(raw))
    name, qualifier = identify(request.match_info["function"], None, region=services(request).settings.region)
    ids = []
    for record in found:
        result = await svc.invoker.invoke(
            InvokeRequest(function=name, qualifier=qualifier, payload=intake.payload(record), invocation_type=EVENT)
        )
        ids.append(result.request_id)
    return json_response({"accepted": len(ids), "requestIds": ids}, status=202)


@routes.head("/lamina/v1/object-events/{function}")
async def object_events_up(request: web.Request) -> web.Response:
    if services(request).settings.object_events_token is None:
        raise intake.OFF
    return web.Response(status=204)


async def _bounded_body(request: web.Request, limit: int, timeout: float) -> bytes:
    """The body, refused (413) as soon as it is known to pass ``limit``: by its Content-Length, or
    once that much has arrived."""
    too_large = RequestTooLarge(f"The body is larger than {limit} bytes.")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            while chunk := await request.content.read(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise too_large
                chunks.append(chunk)
    except TimeoutError:
        raise RequestTimeout("The request body did not arrive in time.") from None
    return b"".join(chunks)
