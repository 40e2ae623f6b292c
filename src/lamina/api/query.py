"""AWS's query protocol (IAM, STS, CloudWatch's metrics, CloudFormation): ``POST /`` with a form body
``Action=...&Version=...&<members>``, answered with XML:
``<ActionResponse><ActionResult>...</ActionResult><ResponseMetadata><RequestId>`` on success,
``<ErrorResponse><Error><Type>Sender</Type><Code>..</Code><Message>..</Message></Error>
<RequestId>..</RequestId></ErrorResponse>`` on failure.

Which service a request is for (``service_of``, pure) comes from its signature's credential scope
(``.../<region>/iam/aws4_request``), its Host (``iam.amazonaws.com``, ``sts.localhost``, ...), or,
unsigned, the body's ``Version`` (IAM's 2010-05-08, STS's 2011-06-15, CloudWatch's 2010-08-01,
CloudFormation's 2010-05-15). Anything else goes on to the rest of the application (SQS's and
EventBridge's ``POST /`` with ``X-Amz-Target`` included). Structured members are flattened as
botocore writes them: lists ``Tags.member.1.Key``, maps ``...entry.1.key``; answers are built from
``XmlValue`` trees (lists as ``<member>`` elements, an ``XmlMap`` as
``<entry><key>..</key><value>..</value></entry>`` elements).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Awaitable, Callable, Mapping, Sequence, Union
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from aiohttp import web

from lamina import ids
from lamina.api.context import Services, read_body, services
from lamina.api.errors import REQUEST_ID, Handler
from lamina.api.scopes import FORM, NAMES, VERSIONS
from lamina.errors import ApiError
from lamina.iam.context import transport_keys
from lamina.iam.errors import InvalidAction, QueryServiceFailure, missing
from lamina.identity.principals import Principal, PrincipalKind, caller_of

XmlValue = Union[str, int, float, bool, datetime, None, "XmlStruct", "XmlList"]
XmlStruct = Mapping[str, XmlValue]
XmlList = Sequence[XmlValue]

log = logging.getLogger(__name__)

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/\s]+/([a-z0-9-]+)/aws4_request")


class XmlMap(dict[str, XmlValue]):
    """A map member (CloudWatch's ``ExtendedStatistics``), rendered as ``<entry>`` elements."""


class Params:
    """A query request's members (``Action`` and ``Version`` included), flat as sent."""

    def __init__(self, pairs: Mapping[str, str]) -> None:
        self._pairs = dict(pairs)

    def pairs(self) -> Mapping[str, str]:
        return self._pairs

    def get(self, name: str) -> str | None:
        return self._pairs.get(name)

    def required(self, name: str, member: str | None = None) -> str:
        value = self._pairs.get(name)
        if value is None:
            raise missing(member or name[:1].lower() + name[1:])
        return value

    def members(self, name: str) -> list[dict[str, str]]:
        """A list of structures (``<name>.member.<n>.<field>``), in index order."""
        prefix = f"{name}.member."
        found: dict[int, dict[str, str]] = {}
        for key, value in self._pairs.items():
            if key.startswith(prefix):
                index, _, field = key[len(prefix):].partition(".")
                if index.isdigit():
                    found.setdefault(int(index), {})[field] = value
        return [found[i] for i in sorted(found)]

    def strings(self, name: str) -> list[str]:
        """A list of strings (``<name>.member.<n>``), in index order."""
        return [m[""] for m in self.members(name) if "" in m]

    def tags(self, name: str = "Tags") -> list[tuple[str, str]]:
        return [(m.get("Key", ""), m.get("Value", "")) for m in self.members(name)]


@dataclass(frozen=True)
class Call:
    """One query operation's inputs: the members, who asks, and the services."""

    params: Params
    caller: Principal
    svc: Services
    region: str
    # aws:SecureTransport and aws:SourceIp of the request (iam/context.transport_keys): what a
    # decision the operation makes itself (a role's trust policy) may name.
    transport: Mapping[str, str] = field(default_factory=dict)


Operation = Callable[[Call], Awaitable[XmlStruct | None]]


@dataclass(frozen=True)
class QueryService:
    name: str  # iam, sts, monitoring
    version: str
    namespace: str
    operations: Mapping[str, Operation]


QUERY_SERVICES = web.AppKey("query_services", dict)  # service name -> QueryService


def register(app: web.Application, service: QueryService) -> None:
    if QUERY_SERVICES not in app:
        app[QUERY_SERVICES] = {}
    app[QUERY_SERVICES][service.name] = service


def service_of(method: str, path: str, headers: Mapping[str, str]) -> str | None:
    """The query service a request's head names (signature scope or Host), if any (pure)."""
    if method != "POST" or path != "/" or "X-Amz-Target" in headers:
        return None
    scope = _SCOPE.search(headers.get("Authorization", ""))
    if scope is not None:
        return scope.group(1) if scope.group(1) in NAMES else None
    host = headers.get("Host", "").lower()
    for name in NAMES:
        if host.startswith((f"{name}.", f"{name}-")):
            return name
    return None


def render(value: XmlValue) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, XmlMap):
        return "".join(f"<entry><key>{escape(k)}</key><value>{render(v)}</value></entry>" for k, v in value.items())
    if isinstance(value, (int, float, str)):
        return escape(str(value))
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, Mapping):
        return "".join(f"<{k}>{render(v)}</{k}>" for k, v in value.items() if v is not None)
    return "".join(f"<member>{render(v)}</member>" for v in value)


def answer(service: QueryService, action: str, result: XmlStruct | None, request_id: str) -> web.Response:
    inner = f"<{action}Result>{render(result)}</{action}Result>" if result is not None else ""
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<{action}Response xmlns="{service.namespace}">{inner}'
            f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>")  # fmt: skip
    return web.Response(body=body.encode(), content_type="text/xml", headers={"x-amzn-RequestId": request_id})


def error(exc: ApiError, request_id: str, namespace: str = "") -> web.Response:
    kind = "Receiver" if exc.status >= 500 else "Sender"
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse{xmlns}><Error><Type>{kind}</Type>'
            f"<Code>{escape(exc.code)}</Code><Message>{escape(exc.message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>")  # fmt: skip
    return web.Response(status=exc.status, body=body.encode(), content_type="text/xml",
                        headers={"x-amzn-RequestId": request_id})  # fmt: skip


def development_root(account_id: str) -> Principal:
    """Who a request no signature covers is, until requests are verified: the root of Lamina's account."""
    return Principal(account_id, f"arn:aws:iam::{account_id}:root", account_id, PrincipalKind.ROOT)


@web.middleware
async def query_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    known: dict[str, QueryService] = request.app.get(QUERY_SERVICES, {})
    name = service_of(request.method, request.path, request.headers)
    if name is None and not (request.method == "POST" and request.path == "/" and "X-Amz-Target" not in request.headers
                             and request.content_type == FORM):  # fmt: skip
        return await handler(request)
    raw = await read_body(request)
    pairs = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    name = name or VERSIONS.get(pairs.get("Version", ""))
    service = known.get(name or "")
    if service is None:
        return await handler(request)
    request_id = str(request.get(REQUEST_ID, "")) or ids.request_id()
    action = pairs.get("Action", "")
    try:
        operation = service.operations.get(action)
        if operation is None:
            raise InvalidAction(f"Could not find operation {action} for version {pairs.get('Version', service.version)}")
        svc = services(request)
        caller = caller_of(request)
        principal = caller.principal if caller is not None else development_root(svc.settings.account_id)
        region = caller.region if caller is not None else svc.settings.region
        transport = transport_keys(request.secure, request.remote or "")
        result = await operation(Call(Params(pairs), principal, svc, region, transport))
    except ApiError as exc:
        return error(exc, request_id, service.namespace)
    except Exception:
        log.exception("unexpected error in %s %s", name, action)
        return error(QueryServiceFailure("An internal error occurred; see the Lamina server log."), request_id,
                     service.namespace)  # fmt: skip
    return answer(service, action, result, request_id)
