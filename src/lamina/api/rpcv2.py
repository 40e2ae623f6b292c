"""Smithy's RPC v2 CBOR protocol (what current SDKs speak to CloudWatch): ``POST
/service/<ServiceName>/operation/<Operation>`` with ``smithy-protocol: rpc-v2-cbor`` and a CBOR map
as the input, answered with a CBOR map (timestamps as tag 1, epoch seconds). An error is its status,
``{"__type": "<namespace>#<Shape>", "message": ...}`` and, the service being query-compatible, the
error's own headers (``x-amzn-query-error``).

A body is checked before it is decoded (``check``, pure): every declared length must fit in the
bytes that follow, nesting is bounded, and the only tag is 1 (timestamps), so a hostile body (a
huge declared length, deep nesting, shared references, bignums) is refused as
``SerializationException`` without cbor2 ever allocating or recursing for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timezone
from typing import Awaitable, Callable, Mapping

import cbor2
from aiohttp import web

from lamina.api.context import Services, read_body, services
from lamina.api.errors import REQUEST_ID
from lamina.cloudwatch.errors import CloudWatchError, InternalServiceFault, Serialization, UnknownOperation

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/cbor"
PROTOCOL = "rpc-v2-cbor"
MAX_BODY = 1 << 20  # CloudWatch refuses larger requests
MAX_DEPTH = 32
MAX_ITEMS = 200_000

Operation = Callable[[Services, Mapping[str, object]], Awaitable[Mapping[str, object]]]


@dataclass(frozen=True)
class RpcService:
    name: str  # as in the path: GraniteServiceVersion20100801
    namespace: str  # the Smithy namespace its error shapes are in: com.amazonaws.cloudwatch
    operations: Mapping[str, Operation]


SERVICES = web.AppKey("rpcv2_services", dict)  # service name -> RpcService


class Malformed(ValueError):
    pass


def check(data: bytes, max_depth: int = MAX_DEPTH, max_items: int = MAX_ITEMS) -> None:
    """Raise ``Malformed`` unless ``data`` is exactly one well-formed CBOR item within the limits
    (pure; reads only item heads)."""
    pos, end, items = 0, len(data), 0
    open_: list[int] = [1]  # items still expected at each open level (-1: until a break)
    while open_:
        if open_[-1] == 0:
            open_.pop()
            continue
        if pos >= end:
            raise Malformed("the body ends inside an item")
        initial = data[pos]
        pos += 1
        if initial == 0xFF:
            if open_[-1] != -1:
                raise Malformed("a break outside an indefinite-length item")
            open_.pop()
            continue
        if open_[-1] > 0:
            open_[-1] -= 1
        items += 1
        if items > max_items:
            raise Malformed("too many items")
        major, info = initial >> 5, initial & 0x1F
        if info < 24:
            arg = info
        elif info <= 27:
            size = 1 << (info - 24)
            if pos + size > end:
                raise Malformed("the body ends inside an item's head")
            arg = int.from_bytes(data[pos : pos + size], "big")
            pos += size
        elif info == 31 and major in (2, 3, 4, 5):
            arg = -1
        else:
            raise Malformed(f"reserved additional information {info}")
        if major in (2, 3):
            if arg == -1:
                open_.append(-1)
            elif arg > end - pos:
                raise Malformed("a string longer than the body")
            else:
                pos += arg
        elif major in (4, 5):
            count = arg if arg == -1 or major == 4 else 2 * arg
            if count > end - pos:
                raise Malformed("a collection longer than the body")
            open_.append(count)
        elif major == 6:
            if arg != 1:
                raise Malformed(f"tag {arg} is not served (only 1: timestamps)")
            open_.append(1)
        if len(open_) > max_depth + 1:
            raise Malformed("nested too deeply")
    if pos != end:
        raise Malformed("bytes after the body's item")


def decode(data: bytes) -> Mapping[str, object]:
    """A request's input: an empty body is an empty map."""
    if not data:
        return {}
    if len(data) > MAX_BODY:
        raise Serialization(f"The request body is larger than {MAX_BODY} bytes.")
    try:
        check(data)
        value = cbor2.loads(data)
    except Malformed as exc:
        raise Serialization(f"The request body is not valid CBOR: {exc}.") from None
    except Exception as exc:  # cbor2's decode errors, and what a tag's content may raise
        raise Serialization(f"The request body is not valid CBOR: {exc}.") from None
    if not isinstance(value, dict):
        raise Serialization("The request body must be a CBOR map.")
    return value


def encode(value: object) -> bytes:
    return cbor2.dumps(value, datetime_as_timestamp=True, timezone=timezone.utc)


def _headers(request_id: str) -> dict[str, str]:
    return {"smithy-protocol": PROTOCOL, "x-amzn-RequestId": request_id}


def render_error(error: CloudWatchError, request_id: str, namespace: str = "com.amazonaws.cloudwatch") -> web.Response:
    body = encode({"__type": f"{namespace}#{error.shape}", "message": error.message})
    return web.Response(status=error.status, body=body, content_type=CONTENT_TYPE,
                        headers={**_headers(request_id), **error.headers()})  # fmt: skip


def register(app: web.Application, service: RpcService) -> None:
    if SERVICES not in app:
        app[SERVICES] = {}
        app.router.add_post("/service/{service}/operation/{operation}", dispatch)
    app[SERVICES][service.name] = service


async def dispatch(request: web.Request) -> web.Response:
    request_id = str(request.get(REQUEST_ID, ""))
    service: RpcService | None = request.app[SERVICES].get(request.match_info["service"])
    namespace = service.namespace if service is not None else "smithy.protocols"
    try:
        operation = service.operations.get(request.match_info["operation"]) if service is not None else None
        if operation is None:
            raise UnknownOperation(f"Unknown operation {request.match_info['operation']} of "
                                   f"{request.match_info['service']}.")  # fmt: skip
        if request.headers.get("smithy-protocol") != PROTOCOL:
            raise Serialization(f"The smithy-protocol header must be {PROTOCOL}.")
        members = decode(await read_body(request))
        result = await operation(services(request), members)
    except CloudWatchError as exc:
        return render_error(exc, request_id, namespace)
    except Exception:
        log.exception("unexpected error in %s", request.path)
        return render_error(InternalServiceFault("An internal error occurred; see the Lamina server log."),
                            request_id, namespace)  # fmt: skip
    return web.Response(body=encode(result), content_type=CONTENT_TYPE, headers=_headers(request_id))
