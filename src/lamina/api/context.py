"""What the HTTP handlers share: the services, reachable from any request."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Container, Mapping, Protocol

from aiohttp import web

from lamina import jsonbody
from lamina.api.errors import RequestTimeout
from lamina.control.code_signing import CodeSigning
from lamina.debug.service import Debugging
from lamina.control.function_options import FunctionOptions
from lamina.control.functions import FunctionService
from lamina.control.concurrency import ConcurrencyService
from lamina.control.event_config import EventConfigService
from lamina.control.layers import LayerService
from lamina.control.policy import PolicyService
from lamina.control.tags import TagService
from lamina.control.urls import UrlService
from lamina.dataplane.counts import Counts
from lamina.errors import ApiError, InvalidRequestContent
from lamina.events.engine import EventBridge
from lamina.gateway.endpoint import Directory, Endpoints
from lamina.gateway.exchange import PlainEndpoints
from lamina.identity.keys import Keys
from lamina.gateway.rest.service import RestApiService
from lamina.gateway.http.control import HttpApis
from lamina.iam.service import IamService
from lamina.invoke.queue import AsyncQueue
from lamina.iot.service import TopicRules
from lamina.iot.subscriber import Subscriber
from lamina.invoke.service import Invoker
from lamina.logs.livetail import LiveTails
from lamina.logs.service import Subscriptions
from lamina.mappings.service import MappingService
from lamina.objects.notifications import NotificationConfigs
from lamina.objects.service import ObjectStore
from lamina.metering.recorder import Recorder
from lamina.model import FunctionUrlConfig
from lamina.queues.service import Queues
from lamina.runtime.runtimes import RuntimeRegistry
from lamina.scheduler.pool import Scheduler
from lamina.schedules.firing import Timers
from lamina.schedules.service import SchedulerService
from lamina.settings import Settings
from lamina.store.aggregates import Store
from lamina.store.code import CodeStore
from lamina.sts.service import StsService

if TYPE_CHECKING:
    from lamina.stacks.service import StackService


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    code: CodeStore
    functions: FunctionService
    layers: LayerService
    scheduler: Scheduler
    invoker: Invoker
    recorder: Recorder
    # The largest request body accepted (a 50 MB zip, base64-encoded, in JSON).
    max_request_bytes: int
    tags: TagService
    policies: PolicyService
    event_configs: EventConfigService  # the asynchronous invoker reads event_configs.event_invoke_config()
    urls: UrlService  # function URLs: the API's, and the index api/url_serving.py serves from
    concurrency: ConcurrencyService  # reserved and provisioned concurrency; the scheduler reads its limits
    queue: AsyncQueue  # the durable asynchronous-invocation queue (invoke/queue.py)
    apis: Directory  # the API Gateway APIs served at execute-api addresses (api/execute_api.py)
    events: EventBridge  # event buses, rules and their delivery (api/events.py, events/)
    schedules: SchedulerService  # EventBridge Scheduler's schedules (schedules/service.py)
    timers: Timers  # every timed firing: schedules', and other sources' (schedules/firing.py)
    rest_apis: RestApiService  # API Gateway REST APIs' control plane (api/rest_apis.py)
    http_apis: HttpApis  # apigatewayv2's HTTP APIs (api/http_apis.py; served by gateway/http/serving.py)
    queues: Queues  # the embedded SQS queues (lamina/queues; their API: queues/api.py)
    mappings: MappingService  # event source mappings and their pollers (api/mappings.py, mappings/)
    iot: TopicRules  # AWS IoT's topic rules (api/iot.py, iot/)
    code_signing: CodeSigning  # code signing configurations and functions' (api/code_signing.py)
    function_options: FunctionOptions  # recursion and runtime management configurations (api/function_options.py)
    mqtt: Subscriber | None = None  # the MQTT broker's subscriber, when LAMINA_MQTT_URL is set
    front_door: Counts | None = None  # what the front door did (None: it is off)
    ray_nodes: Callable[[], list[dict[str, Any]]] | None = None  # LAMINA_RAY_ADDRESS: the nodes placed on
    # Buckets' notification configurations and the object store's Notifier (objects/notifications)
    notifications: NotificationConfigs | None = None
    objects: ObjectStore | None = None  # the embedded S3 (lamina/objects; served by objects/api.py)
    # The keys requests are signed with (identity/keys.py): root keys, then the rings others add.
    keys: Keys = field(default_factory=lambda: Keys(()))
    iam: IamService | None = None  # IAM's roles, users, keys and policies (lamina/iam; iam/api.py)
    sts: StsService | None = None  # STS's sessions (lamina/sts; sts/api.py)
    runtimes: RuntimeRegistry | None = None  # the host's runtimes (GET /lamina/v1/runtimes: api/runtimes.py)
    subscriptions: Subscriptions | None = None  # CloudWatch Logs' subscription filters (api/logs.py, logs/)
    stacks: StackService | None = None  # CloudFormation's stacks (lamina/stacks; stacks/api.py)
    debugging: Debugging | None = None  # lamina dev --debug's sessions (api/debug.py, lamina/debug)
    live_tails: LiveTails | None = None  # CloudWatch Logs' Live Tail sessions (api/live_tail.py, logs/livetail.py)


class CellLookup(Protocol):
    """The server's cells (lamina.cells.registry.Cells), as requests find theirs."""

    @property
    def regions(self) -> Container[str]:
        """The regions a request may be signed for."""
        ...

    def started(self, account_id: str, region: str) -> Services | None:
        """The services of a started cell, or None."""
        ...

    def known(self) -> list[tuple[str, str]]:
        """Every cell's (account, region), started or on disk: the default's first."""
        ...

    async def open(self, account_id: str, region: str) -> Services:
        """The services of a cell, started if need be."""
        ...

    def with_url(self, url_id: str) -> tuple[Services, FunctionUrlConfig] | None:
        """The cell that has the function URL ``url_id``, and the URL."""
        ...

    def kind(self, api_id: str) -> Endpoints | None:
        """The kind of API, of whichever cell has it, that serves ``api_id``."""
        ...

    def plain(self, api_id: str) -> PlainEndpoints | None:
        """As ``kind``, if it serves plain requests too (the front door's)."""
        ...


class OneCell:
    """A ``CellLookup`` of one cell: an application built without the server's cells."""

    def __init__(self, svc: Services) -> None:
        self._svc = svc

    @property
    def regions(self) -> Container[str]:
        return frozenset({self._svc.settings.region})

    def started(self, account_id: str, region: str) -> Services | None:
        s = self._svc.settings
        return self._svc if (account_id, region) == (s.account_id, s.region) else None

    def known(self) -> list[tuple[str, str]]:
        return [(self._svc.settings.account_id, self._svc.settings.region)]

    async def open(self, account_id: str, region: str) -> Services:
        return self._svc

    def with_url(self, url_id: str) -> tuple[Services, FunctionUrlConfig] | None:
        url = self._svc.urls.resolve(url_id)
        return None if url is None else (self._svc, url)

    def kind(self, api_id: str) -> Endpoints | None:
        return self._svc.apis.kind(api_id)

    def plain(self, api_id: str) -> PlainEndpoints | None:
        return self._svc.apis.plain(api_id)


SERVICES = web.AppKey("services", Services)  # the default cell's: requests no signature covers
CELLS = web.AppKey("cells", CellLookup)  # every cell: what a request's caller or address picks from
CELL = web.RequestKey("cell", Services)  # the services of the request's cell, once authenticated


def services(request: web.Request) -> Services:
    """The services of the request's cell: its caller's (account, region), set by the
    authentication middleware (api/authentication.py); the default cell's before it, or for
    requests no signature covers."""
    return request.get(CELL) or request.app[SERVICES]


async def read_body(request: web.Request) -> bytes:
    """The request's body, once all of it has arrived; ``RequestTimeout`` if that takes longer
    than ``Settings.body_timeout_seconds``. Every handler reads bodies through this."""
    if request.content.is_eof():  # all here (a small request, usually): nothing to wait for
        return await request.read()
    try:
        async with asyncio.timeout(request.app[SERVICES].settings.body_timeout_seconds):
            return await request.read()
    except TimeoutError:
        raise RequestTimeout("The request body did not arrive in time.") from None


async def json_members(request: web.Request) -> dict[str, object]:
    """The JSON body's members, parsed as the handlers parse it (a large one in a worker thread),
    for a look ahead of the handler (the IAM action table, a queue's cell); none if the body is not
    a JSON object: the handler then refuses it in its service's own words."""
    raw = await read_body(request)
    try:
        body = await jsonbody.parse(raw) if raw.strip() else {}
    except ApiError:
        return {}
    return body if isinstance(body, dict) else {}


async def json_body(request: web.Request) -> Mapping[str, object]:
    """The request's body as a JSON object (none: ``{}``); ``InvalidRequestContent`` if it is not
    one, or is too deep or too large to parse (``lamina.jsonbody``)."""
    raw = await read_body(request)
    if not raw or raw.isspace():
        return {}
    body = await jsonbody.parse(raw)
    if not isinstance(body, dict):
        raise InvalidRequestContent("The request body must be a JSON object")
    return body


def json_response(doc: object, status: int = 200) -> web.Response:
    return web.Response(status=status, body=json.dumps(doc).encode(), content_type="application/json")
