"""Lambda API: event source mappings (Create, Get, Update, Delete, List; rest-json under
/2015-03-31/event-source-mappings), served by ``mappings/service.py``; and Lamina's own
/lamina/v1/event-source-mappings: each mapping with its source's lag (what ``lamina mappings`` shows)."""

from __future__ import annotations

from aiohttp import web

from lamina.api.context import json_body, json_response, services
from lamina.control.validation import constraint
from lamina.errors import InvalidParameterValue
from lamina.mappings.service import LIST_DEFAULT, LIST_MAX
from lamina.mappings.validation import parse

routes = web.RouteTableDef()
MAPPINGS = "/2015-03-31/event-source-mappings"


@routes.post(MAPPINGS)
@routes.post(MAPPINGS + "/")
async def create_event_source_mapping(request: web.Request) -> web.Response:
    svc = services(request)
    mapping = await svc.mappings.create(await json_body(request))
    return json_response(svc.mappings.document(mapping), status=202)


@routes.get(MAPPINGS + "/{UUID}")
async def get_event_source_mapping(request: web.Request) -> web.Response:
    svc = services(request)
    return json_response(svc.mappings.document(svc.mappings.get(request.match_info["UUID"])))


@routes.put(MAPPINGS + "/{UUID}")
async def update_event_source_mapping(request: web.Request) -> web.Response:
    svc = services(request)
    mapping = await svc.mappings.update(request.match_info["UUID"], await json_body(request))
    return json_response(svc.mappings.document(mapping), status=202)


@routes.delete(MAPPINGS + "/{UUID}")
async def delete_event_source_mapping(request: web.Request) -> web.Response:
    svc = services(request)
    mapping = await svc.mappings.delete(request.match_info["UUID"])
    return json_response(svc.mappings.document(mapping), status=202)


@routes.get(MAPPINGS)
@routes.get(MAPPINGS + "/")
async def list_event_source_mappings(request: web.Request) -> web.Response:
    svc = services(request)
    query = request.query
    function = query.get("FunctionName")
    if function is not None:
        parse({"FunctionName": function}, create=False)  # AWS's ValidationException for a bad one
    raw = query.get("MaxItems", str(LIST_DEFAULT))
    try:
        max_items = int(raw)
    except ValueError:
        raise InvalidParameterValue(f"MaxItems must be an integer, got {raw!r}") from None
    if max_items < 1:
        raise constraint(max_items, "maxItems", "Member must have value greater than or equal to 1")
    if max_items > LIST_MAX:
        raise constraint(max_items, "maxItems", f"Member must have value less than or equal to {LIST_MAX}")
    page, marker = svc.mappings.list(function, query.get("EventSourceArn"), query.get("Marker"), max_items)
    doc: dict[str, object] = {"EventSourceMappings": [svc.mappings.document(m) for m in page]}
    if marker:
        doc["NextMarker"] = marker
    return json_response(doc)




@routes.get("/lamina/v1/event-source-mappings")
async def mappings_with_lag(request: web.Request) -> web.Response:
    svc = services(request)
    rows: list[dict[str, object]] = []
    page, marker = svc.mappings.list(None, None, None, LIST_MAX)
    while True:
        for mapping in page:
            lag = svc.mappings.lag(mapping.uuid)
            rows.append({
                "uuid": mapping.uuid, "source": mapping.source_arn, "function": mapping.function_arn,
                "state": mapping.state.value, "lastProcessingResult": mapping.last_result,
                "backlog": lag.backlog, "oldestAgeSeconds": lag.oldest_age_seconds,
                "pollers": svc.mappings.width(mapping.uuid),
            })  # fmt: skip
        if marker is None:
            return json_response({"mappings": rows})
        page, marker = svc.mappings.list(None, None, marker, LIST_MAX)
