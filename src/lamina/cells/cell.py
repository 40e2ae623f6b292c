"""One cell: every service of one (account, region), assembled, started and stopped.

A cell is what one Lamina server was before cells: its store (the SQLite file), code packages,
objects and logs under its own data directory, and every control plane and data-plane service
(``api.context.Services``), built from its own ``Settings`` (the server's, with the cell's
account, region and data directory), so each part reads its account and region from its settings
as before. What cells share is the host's (``cells.host.Host``): the listening socket, the
protections, the network namespaces, the spawner, the uid pool, the key ring, the environments'
API listener.

``start`` builds and starts the parts in the order the server always did, each recorded
(``lifecycle.Parts``); ``stop`` stops them in the reverse order, whatever becomes of each: the
timers first, then the queue stops taking, in-flight invocations drain (until the host's grace
deadline or its ``force``), and the store closes last. An idle cell costs its owned tasks' wake-ups
(the recorder's flush every 100 ms, the outbox followers' polls, the timers' sleep until the next
firing) and its open store; no environment runs until something is invoked.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

from lamina.api.context import Services
from lamina.control.changes import Changes
from lamina.control.code_signing import KINDS as CODE_SIGNING_KINDS, CodeSigning
from lamina.control.function_options import FunctionOptions
from lamina.control.layer_policy import KIND as LAYER_POLICY_KIND
from lamina.control.preparations import PreparationKeeper
from lamina.control.concurrency import ConcurrencyService
from lamina.control.event_config import EventConfigService
from lamina.control.functions import FunctionService
from lamina.control.layers import LayerService
from lamina.control.policy import PolicyService
from lamina.control.tags import TagService
from lamina.control.targets import Targets
from lamina.control.urls import UrlService
from lamina.errors import ResourceNotFound
from lamina.events.engine import EventBridge
from lamina.gateway.endpoint import Directory
from lamina.gateway.http.control import HttpApis
from lamina.gateway.http.serving import HttpApiEndpoints
from lamina.gateway.rest.service import RestApiService
from lamina.gateway.rest.serving import RestEndpoints
from lamina.cells.crossings import Crossings
from lamina.cells.host import Host
from lamina.iam.destinations import DestinationRoles
from lamina.iam.roles import ExecutionRoles
from lamina.iam.source_roles import SourceRoles
from lamina.iam.triggers import TriggerPermissions
from lamina.invoke.queue import AsyncQueue
from lamina.invoke.resolver import Resolver
from lamina.invoke.service import InvokeRequest, InvokeSource, Invoker
from lamina.iot.service import TopicRules
from lamina.iot.subscriber import Subscriber, client_id
from lamina.lifecycle import Parts
from lamina.logs.delivery import SubscriptionDelivery
from lamina.logs.groups import DEFAULT_PREFIX, group_of
from lamina.logs.livetail import LiveTails
from lamina.logs.service import Subscriptions
from lamina.mappings.service import MappingService
from lamina.metering.recorder import Recorder
from lamina.metrics.stats import CellStats
from lamina.objects.bucket_names import Owner
from lamina.objects.files import Bodies
from lamina.objects.notifications import NotificationConfigs
from lamina.objects.notifications import destinations as notification_destinations
from lamina.objects.notifications.relay import NotificationRelay
from lamina.objects.notifications.wakes import Wakes
from lamina.objects.service import ObjectStore
from lamina.queues.relay import OutboxRelay
from lamina.queues.service import Queues
from lamina.debug.service import Debugging
from lamina.sandbox.environment import EnvironmentContext
from lamina.sandbox.local import LocalProvider
from lamina.placement.provider import Limits, RayProvider
from lamina.scheduler.pool import Scheduler
from lamina.scheduler.units import HeldUnits
from lamina.schedules.clock import SystemClock
from lamina.schedules.delivery import Delivery
from lamina.schedules.firing import Timers
from lamina.schedules.service import SchedulerService
from lamina.stacks.service import StackService
from lamina.store.aggregates import ChangeFeed, ConcurrencyLeases, PreparationClaims, Store
from lamina.store.following import KindRereads
from lamina.store.code import CodeStore
from lamina.store.overlay import LayerOverlays
from lamina.store.choice import cell_schema, open_store

log = logging.getLogger(__name__)


class Cell:
    """The services of ``account_id`` in ``region``, kept under ``data_dir``."""

    def __init__(self, host: Host, account_id: str, region: str, data_dir: Path, store: Store | None = None,
                 files_dir: Path | None = None) -> None:  # fmt: skip
        """``store``: the cell's store, opened and closed by its owner (the default cell's, which the
        host's IAM shares); None: the cell opens its own (``lamina.store.choice``). ``files_dir``:
        where its code packages and object bodies are (replicas share it: LAMINA_CODE_DIR), if not
        in ``data_dir``."""
        self.host = host
        self._store = store
        self.account_id, self.region, self.data_dir = account_id, region, data_dir
        self.files_dir = files_dir or data_dir
        self.settings = replace(host.settings, account_id=account_id, region=region, data_dir=data_dir)
        self._parts = Parts()
        self._svc: Services | None = None
        self.crossings = Crossings(account_id, region)  # the other cells, as the registry finds them

    @property
    def services(self) -> Services:
        assert self._svc is not None, "cell not started"
        return self._svc

    def __repr__(self) -> str:
        return f"Cell({self.account_id}, {self.region})"

    async def start(self) -> None:
        """Start every part; a start that fails half-way stops what had started, and raises."""
        try:
            await self._start()
        except BaseException:
            await self._parts.close()
            raise

    async def stop(self) -> None:
        """Stop every part in the reverse order it started in; safe to call twice."""
        await self._parts.close()

    async def _start(self) -> None:
        s, parts, host = self.settings, self._parts, self.host
        data = self.data_dir
        await asyncio.to_thread(_private_dir, data)
        store = self._store
        if store is None:
            default = (self.account_id, self.region) == (host.settings.account_id, host.settings.region)
            store = open_store(s.database_url, data, cell_schema(self.account_id, self.region, default=default),
                               claim_seconds=s.async_claim_seconds)  # fmt: skip
            await store.open()
            parts.started("the store", store.close)
        stats = CellStats(host.stats, self.account_id, self.region)
        live_tails = LiveTails(s.logs.live_tail_sessions)  # StartLiveTail's sessions, fed by the recorder
        recorder = Recorder(store, s.logs, observe=stats.observe, publish=live_tails.publish)
        await recorder.start()
        parts.started("the recorder of logs and usage", recorder.close)
        parts.started("the Live Tail sessions", live_tails.close)
        code = CodeStore(self.files_dir / "code", s.limits)
        overlays = LayerOverlays(data / "code" / "layers-merged", code)
        await asyncio.to_thread(overlays.clear)
        layers = LayerService(store, s, code)
        await layers.load()
        debugging = Debugging(s)  # lamina dev --debug's sessions (debug/service.py)
        parts.started("the debug sessions", debugging.close)
        ctx = EnvironmentContext(
            host="127.0.0.1", region=s.region, work_dir=host.work_dir, max_response_bytes=s.limits.sync_response_bytes,
            init_timeout_s=s.limits.init_timeout_seconds, recorder=recorder, protections=host.protections,
            uids=host.uids, spawner=host.spawner, kept=host.kept, network=host.network,
            outbound=s.outbound_default, serve_api=host.serve_api,
            credentials=host.credentials,  # each environment's execution role credentials (sandbox/credentials.py)
            api_url=host.api_url, sdks=host.sdks, debugging=debugging.spec_for,
        )  # fmt: skip
        changes = Changes()  # what the control planes change, followed by the data plane (control/changes.py)
        functions = FunctionService(store, code, host.runtimes, s, changes, layers, overlays)
        live_tails.serve(lambda name: _log_group(functions, name))
        if host.iam is not None:
            functions.check_roles_with(ExecutionRoles(host.iam, s.development_mode).check)
        preparations: PreparationKeeper | None = None
        if isinstance(store, PreparationClaims):  # other servers share the store: prepare what one leaves
            functions.claim_with(store)
            preparations = PreparationKeeper(store, functions)
            parts.started("the claims on preparing code", preparations.close)  # given back once none runs
        parts.started("the functions' code preparation", functions.close)
        provider: LocalProvider | RayProvider = LocalProvider(ctx, host.runtimes, functions.files)
        if host.ray is not None and host.ray_api is not None:  # LAMINA_RAY_ADDRESS: placed on the cluster's nodes
            limits = Limits(s.region, s.limits.sync_response_bytes, s.limits.init_timeout_seconds, s.outbound_default,
                            s.logs.invocation_bytes)  # fmt: skip
            provider = RayProvider(host.ray, recorder, host.credentials, limits, host.ray_api, code.read)
        parts.started("the execution environments", provider.close)
        scheduler = Scheduler(provider, keep_alive=s.keep_alive_seconds, scale_up_limit=s.limits.scale_up_limit,
                              scale_window=s.limits.scale_window_seconds)  # fmt: skip
        debugging.bind(scheduler, functions.get)
        units: HeldUnits | None = None
        if isinstance(store, ConcurrencyLeases):  # other servers share the limits: hold units of them
            units = HeldUnits(store, scheduler.pool_in_use, s.concurrency_lease_seconds)
            scheduler.hold_units_with(units)
        host.lenders.add(scheduler)  # lends to the native data plane, once it runs
        resolver = Resolver(functions, s)
        targets = Targets(functions, s)
        tags, policies = TagService(store, targets, s), PolicyService(store, targets)
        event_configs = EventConfigService(store, targets, s)
        functions.add_hook(tags)  # CreateFunction's Tags
        functions.add_hook(provider)  # a new function's fork server starts as it is created
        code_signing, function_options = CodeSigning(store, s), FunctionOptions(store)
        functions.add_hook(code_signing)  # CreateFunction's CodeSigningConfigArn
        functions.add_deployment_check(code_signing)  # new code and layers under Enforce are refused
        tags.add_kind("code-signing-config", code_signing)
        await code_signing.load()
        await function_options.load()
        urls = UrlService(store, functions.get, s, alias_exists=functions.aliases.exists)
        concurrency = ConcurrencyService(store, functions, scheduler, s, changes)
        for follower in (scheduler.follow, resolver.follow, event_configs.follow, urls.follow, concurrency.follow):
            changes.subscribe(follower)
        changes.subscribe(code_signing.follow)  # a deleted function's configurations go with it
        changes.subscribe(function_options.follow)
        await functions.load()
        await event_configs.load()
        await urls.load()
        await concurrency.load()
        if isinstance(store, ChangeFeed):  # other servers share the store: follow what they change
            following = store.follow_changes(*_rereads(functions, event_configs, urls, concurrency))
            parts.started("following other servers' changes", following.close)
            # Code-signing configurations (and which function uses which), layers' permissions.
            kinds = KindRereads({**{kind: code_signing.reread for kind in CODE_SIGNING_KINDS},
                                 LAYER_POLICY_KIND: layers.policies.reread})  # fmt: skip
            resources = store.follow_resources(kinds.reread, kinds.reread_all)
            parts.started("following other servers' changes of resources", resources.close)
        if preparations is not None:
            preparations.start()
        http_apis = HttpApis(store, region=s.region, account_id=s.account_id, port=host.port)
        await http_apis.load()
        invoker = Invoker(resolver, scheduler, s)
        permissions = TriggerPermissions(policies, s)
        invoker.check_sources_with(permissions.check)  # triggers need the function's permission

        def throttled(function: str, qualifier: str | None, reason: str) -> None:
            stats.throttled(function, qualifier, reason)  # Prometheus's, in memory
            recorder.count("Throttles", function, qualifier)  # CloudWatch's, stored (api/cloudwatch.py)

        invoker.count_throttles_with(throttled)
        queue = AsyncQueue(store, invoker, event_configs, s)
        queue.count_dead_letters_with(stats.dead_lettered)
        queue.count_metrics_with(recorder.count)  # events received, dead letters and records lost
        invoker.attach(queue)
        timers = Timers(SystemClock())

        async def invoke_event(function: str, payload: bytes) -> None:
            await invoker.invoke(InvokeRequest(function=function, payload=payload, invocation_type="Event"))

        schedules = SchedulerService(store, s, timers, Delivery(invoke_event, store.add_outbox, timers))
        await schedules.load()
        queues = Queues(store, s, base_url=f"http://localhost:{host.port}")
        await queues.load()
        self.crossings.home_queues(queues)
        roles: DestinationRoles | None = None
        if host.iam is not None:  # the function's role sends its dead letters and destination records
            roles = DestinationRoles(host.iam, s.development_mode, self.crossings.queue_policy)
            functions.check_dead_letters_with(roles.check_dead_letter)
            event_configs.check_destinations_with(roles.check_destination)
            queue.check_sends_with(roles.may_send)
        mappings = MappingService(store, functions, concurrency, invoker, queues, s)
        if host.iam is not None:  # a mapping's function role must allow reading its source
            mappings.check_source_roles_with(SourceRoles(host.iam, s.development_mode, s.region, s.account_id,
                                                         policies=self.crossings.queue_policy).check)  # fmt: skip
        mappings.reach_queues_with(self.crossings.queues_of)  # a source queue may be another account's
        changes.subscribe(mappings.follow)  # a deleted function's mappings say so
        await mappings.load()
        events = EventBridge(store, invoker, s, timers, queues)
        events.deliverer.reach_functions_with(self.crossings.invoker_of)  # rules' targets in other accounts
        notifications = NotificationConfigs(store, s, notification_destinations.local(targets, queues, s))
        await notifications.load()  # before the object store takes writes: it asks what each owes
        rest_apis = RestApiService(store, s)
        await rest_apis.load()
        iot = TopicRules(store, s)
        await iot.load()
        subscriptions = Subscriptions(store, functions, s, permissions.check)  # CloudWatch Logs' must be allowed
        await subscriptions.load()

        async def invoke_for_rule(function: str, payload: bytes, rule_arn: str) -> None:
            source = InvokeSource("iot.amazonaws.com", rule_arn, s.account_id)  # AWS IoT needs the permission
            await invoker.invoke(InvokeRequest(function=function, payload=payload, invocation_type="Event", source=source))

        mqtt = Subscriber(s.mqtt_url, client_id(data), iot, invoke_for_rule) if s.mqtt_url is not None else None
        if mqtt is None:
            _say_rules_need_a_broker(iot)
        objects = ObjectStore(store, Bodies(self.files_dir / "objects"), notifications, names=host.bucket_names,
                              cell=Owner(self.account_id, self.region), sweep=s.database_url is None)  # fmt: skip
        objects.on_bucket_deleted(notifications.forget)
        await objects.load()  # bodies an interrupted write left are removed
        await notifications.forget_all_but(objects.exists)
        apis = Directory()  # what execute-api addresses serve: REST APIs and HTTP APIs
        # An integration's function of another account is invoked in that account's cell (gateway/reach.py).
        apis.add(RestEndpoints(rest_apis, invoker, s, invoker_of=self.crossings.invoker_of, iam=host.iam))
        stacks = StackService(store, s, host.port)
        await stacks.load()
        svc = self._svc = Services(
            s, store, code, functions, layers, scheduler, invoker, recorder, host.max_request_bytes,
            tags=tags, policies=policies, event_configs=event_configs, urls=urls, concurrency=concurrency,
            queue=queue, apis=apis, events=events, schedules=schedules, timers=timers, rest_apis=rest_apis,
            http_apis=http_apis, queues=queues, mappings=mappings, iot=iot, code_signing=code_signing,
            function_options=function_options, mqtt=mqtt,
            front_door=host.front_door, ray_nodes=host.ray.describe if host.ray is not None else None,
            notifications=notifications, objects=objects, keys=host.keys,
            iam=host.iam, sts=host.sts, runtimes=host.runtimes, subscriptions=subscriptions, stacks=stacks,
            debugging=debugging, live_tails=live_tails,
        )  # fmt: skip
        stacks.serve(svc)  # its providers work through the cell's services
        parts.started("the stacks' operations", stacks.close)
        apis.add(HttpApiEndpoints(http_apis, svc, self.crossings.invoker_of))
        await scheduler.start()
        parts.started("the warm pools", scheduler.close)
        if units is not None:
            units.start()
            parts.started("the units of concurrency held", units.close)  # given back once nothing runs
        await concurrency.start()  # provisioned environments begin to start
        parts.started("provisioned concurrency", concurrency.close)
        await queue.start()  # events an earlier run accepted and did not finish are attempted again
        parts.started("the asynchronous queue", queue.close)  # an attempt still running keeps its event
        parts.started("the invocations in flight", self._drain)
        await events.start()  # bus events an earlier run accepted are delivered
        parts.started("the event buses", events.close)  # undelivered bus events stay stored

        def role_of(function: str) -> str | None:
            try:
                return functions.get(function).role
            except ResourceNotFound:
                return None

        queue_relay = OutboxRelay(store, queues, s, self.crossings.queues_of,
                                  lambda message: roles is not None and roles.may_cross(message, role_of))
        await queue_relay.start()  # outbox messages for this cell's queues are delivered to them
        parts.started("the queues' outbox relay", queue_relay.close)
        objects_relay = NotificationRelay(store, invoker, s)
        await objects_relay.start()  # buckets' notifications for functions are invoked asynchronously
        parts.started("the bucket notifications' relay", objects_relay.close)
        objects.on_committed(Wakes(functions=objects_relay, queues=queue_relay, buses=events.relay))
        parts.started("the queues' long polls", queues.close)  # answered before the API waits for its requests
        log_delivery = SubscriptionDelivery(subscriptions, store, invoker, s)
        await log_delivery.start()  # subscription filters' lines are invoked asynchronously, after the queue
        parts.started("the log subscriptions' delivery", log_delivery.close)
        await mappings.start()  # pollers read their sources and invoke synchronously
        parts.started("the event source mappings' pollers", lambda: mappings.close(min(5.0, s.shutdown_grace_seconds)))
        parts.started("the schedules' hand-overs", lambda: schedules.close(min(5.0, s.shutdown_grace_seconds)))
        if mqtt is not None:  # rules fire into the queue, so after it; stopped before it stops taking
            await mqtt.start()  # connects in the background: a broker that is down delays nothing
            parts.started("the MQTT subscriber", mqtt.close)
        await timers.start()  # schedules fire into the queue, so after it
        parts.started("the timers", timers.close)  # first: a firing would go to a queue about to stop taking

    async def _drain(self) -> None:
        """In-flight invocations, then the queue's attempts (which record their results), until the
        host's grace deadline, or until it says to stop waiting; the queue takes no new event meanwhile."""
        svc = self.services
        deadline = self.host.drain_deadline() or time.monotonic() + self.settings.shutdown_grace_seconds
        svc.queue.stop_taking()  # queued events stay stored; attempts in progress may finish
        drain = asyncio.create_task(_drain(svc, deadline), name=f"lamina-drain-{self.account_id}-{self.region}")
        waiters: list[asyncio.Future[object]] = [drain]  # type: ignore[list-item]
        force = self.host.force()
        if force is not None:
            waiters.append(asyncio.create_task(force.wait(), name="lamina-force"))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()


async def _drain(svc: Services, deadline: float) -> bool:
    """In-flight invocations, then the queue's attempts (which record their results), until ``deadline``."""
    return await svc.invoker.drain(deadline) and await svc.queue.drain(deadline)


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)  # a cell's state, code and logs are Lamina's user's alone


def _say_rules_need_a_broker(rules: TopicRules) -> None:
    """Log once, when there is a rule (at start or when the first is made), that IoT topic rules
    do not fire without a broker."""
    said = False

    def say() -> None:
        nonlocal said
        if not said and rules.enabled():
            said = True
            log.warning("IoT topic rules will not fire until LAMINA_MQTT_URL names an MQTT broker")

    rules.watch(say)
    say()


def _log_group(functions: FunctionService, name: str) -> str:
    """The log group of a function's lines as they are written (a function deleted since: its default group)."""
    try:
        return group_of(functions.get(name))
    except ResourceNotFound:
        return DEFAULT_PREFIX + name


def _rereads(functions: FunctionService, event_configs: EventConfigService, urls: UrlService,
             concurrency: ConcurrencyService) -> tuple[Callable[[str], Awaitable[None]], Callable[[], Awaitable[None]]]:  # fmt: skip
    """What reads a function again when another server changed it (its configuration, versions,
    aliases, asynchronous-invocation configurations, URLs and concurrency), and what reads every one
    again."""

    async def reread(name: str) -> None:
        await functions.reread(name)
        await event_configs.reread(name)
        await urls.reread(name)
        await concurrency.reread()

    async def reread_all() -> None:
        for name in await functions.reread_all():
            await event_configs.reread(name)
            await urls.reread(name)
        await concurrency.reread()

    return reread, reread_all
