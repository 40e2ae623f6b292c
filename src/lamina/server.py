"""The server's lifecycle: start-up, serving, and a graceful shutdown with a deadline.

Start-up opens the store, finds which protections the host supports (and says so), loads every
function and starts listening; it prints ``Lamina listening on http://HOST:PORT`` once it accepts
requests (tests and scripts wait for that line). Each part is recorded as it starts
(``lamina.lifecycle.Parts``), and shutdown stops them in the reverse order, each whatever became of
the others. SIGINT or SIGTERM starts it: stop accepting, stop the timers, stop taking queued
asynchronous events (they stay stored), let in-flight invocations finish until
``shutdown_grace_seconds``, stop every execution environment, write buffered logs and usage,
close the store. A second signal skips the wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import shutil
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Awaitable, Callable

from aiohttp import web

from lamina.api.app import build_app
from lamina.api.authorization import invoke_refusal
from lamina.api.context import Services
from lamina.api.url_serving import UrlServing
from lamina.control.changes import Changes
from lamina.control.functions import FunctionService
from lamina.control.concurrency import ConcurrencyService
from lamina.control.event_config import EventConfigService
from lamina.control.layers import LayerService
from lamina.control.policy import PolicyService
from lamina.control.tags import TagService
from lamina.control.targets import Targets
from lamina.control.urls import UrlService
from lamina.dataplane.counts import Counts
from lamina.dataplane.frontdoor import FrontDoor
from lamina.dataplane.lending import AnswerWritten
from lamina.events.engine import EventBridge
from lamina.identity import keys
from lamina.gateway.endpoint import Directory
from lamina.gateway.http.control import HttpApis
from lamina.gateway.http.serving import HttpApiEndpoints
from lamina.gateway.rest.serving import RestEndpoints
from lamina.gateway.rest.service import RestApiService
from lamina.iam.roles import ExecutionRoles
from lamina.iam.service import IamService
from lamina.iam.triggers import TriggerPermissions
from lamina.invoke.queue import AsyncQueue
from lamina.iot.service import TopicRules
from lamina.iot.subscriber import Subscriber, client_id
from lamina.lifecycle import Parts
from lamina.mappings.service import MappingService
from lamina.objects.notifications import NotificationConfigs
from lamina.objects.notifications import destinations as notification_destinations
from lamina.objects.notifications.relay import NotificationRelay
from lamina.objects.notifications.wakes import Wakes
from lamina.objects.files import Bodies
from lamina.objects.service import ObjectStore
from lamina.invoke.resolver import Resolver
from lamina.invoke.service import InvokeRequest, InvokeSource, Invoker
from lamina.schedules.clock import SystemClock
from lamina.schedules.delivery import Delivery
from lamina.schedules.firing import Timers
from lamina.schedules.service import SchedulerService
from lamina.metering.recorder import Recorder
from lamina.queues.relay import OutboxRelay
from lamina.queues.service import Queues
from lamina.runtime.runtimes import RuntimeRegistry
from lamina.runtime.sdk import Sdks
from lamina.sandbox.environment import TEMPLATE_DIR, EnvironmentContext
from lamina.sandbox.isolation import Protections, UidPool
from lamina.sandbox.local import LocalProvider
from lamina.sandbox.network import NetworkPool
from lamina.sandbox.spawn import Spawner
from lamina.scheduler.pool import Scheduler
from lamina.settings import Settings
from lamina.store.code import CodeStore
from lamina.store.overlay import LayerOverlays
from lamina.store.sqlite import SqliteStore
from lamina.sts.service import FunctionCredentials, StsService
from lamina.sts.keyring import IssuedKeys
from lamina.sts.sessions import Sessions

log = logging.getLogger("lamina")
_ACCESS_LOG = logging.getLogger("lamina.access")  # AnswerWritten logs nothing to it


class Server:
    """Lamina, assembled. ``start`` then ``stop``; both in the running event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = 0
        self._parts = Parts()  # what has started, stopped in reverse order (lamina.lifecycle)
        self._environments_runner: web.AppRunner | None = None  # the API as environments see it
        self._svc: Services | None = None
        self._force: asyncio.Event | None = None  # set: stop waiting for invocations to drain
        self.credentials: FunctionCredentials | None = None  # functions' credentials (sts/service.py)
        self.issued_keys: IssuedKeys | None = None  # the keys IAM and STS issued (sts/keyring.py)

    @property
    def services(self) -> Services:
        assert self._svc is not None, "server not started"
        return self._svc

    async def start(self) -> None:
        """Start every part, each recorded as it starts (``lamina.lifecycle``); a start that fails
        half-way stops what had started, in reverse order, and raises."""
        try:
            await self._start()
        except BaseException:
            await self._parts.close()
            raise

    async def _start(self) -> None:
        s, parts = self.settings, self._parts
        refused = keys.refusal(s.host, s.access_keys, verify=s.verify_signatures)
        if refused is not None:
            raise keys.AccessKeysError(refused)
        if not s.verify_signatures:
            log.warning("REQUESTS' SIGNATURES ARE NOT VERIFIED (LAMINA_VERIFY_SIGNATURES=off): anyone reaching "
                        "%s may do anything, as the root of account %s. This setting exists only for benchmarks.",
                        s.host, s.account_id)  # fmt: skip
        key_ring = keys.Keys.configured(s.access_keys, s.account_id, s.host)
        if s.development_mode:
            log.info("no access keys configured (LAMINA_ACCESS_KEYS): the development pair test/test is the root "
                     "of account %s, on loopback only", s.account_id)  # fmt: skip
        _raise_open_file_limit()
        data = s.data_dir.resolve()
        data.mkdir(parents=True, exist_ok=True)
        data.chmod(0o700)  # Lamina's state, code and logs are its user's alone
        store = SqliteStore(data / "lamina.db")
        await store.open()
        parts.started("the store", store.close)
        recorder = Recorder(store, s.logs)
        await recorder.start()
        parts.started("the recorder of logs and usage", recorder.close)
        protections = await asyncio.to_thread(Protections.detect)
        parts.started("the protections", _async(protections.close))
        protections.report()
        # Bound now, served once everything is ready: environments' namespaces get a listener of
        # Lamina's API at the same port.
        sock = socket.create_server((s.host, s.port), reuse_port=False, backlog=1024)
        parts.started("the listening socket", _async(sock.close))
        self.port = sock.getsockname()[1]
        network: NetworkPool | None = None
        if protections.namespaces:
            network = NetworkPool(s, api_port=self.port)
            parts.started("the network namespaces", network.close)
            await network.start()
            network.capabilities().report()
        code = CodeStore(data / "code", s.limits)
        overlays = LayerOverlays(data / "code" / "layers-merged", code)
        await asyncio.to_thread(overlays.clear)
        layers = LayerService(store, s)
        runtimes = RuntimeRegistry(s.interpreters)
        work = data / "environments"
        await asyncio.to_thread(_clear, work)
        spawner = Spawner(template=work / TEMPLATE_DIR if protections.namespaces else None)
        # IAM and STS before the environments: each is given its function's role's credentials.
        iam, sessions = IamService(store), Sessions(store)
        await iam.load()
        await sessions.load()  # expired sessions are pruned
        sts = StsService(iam, sessions, s)
        self.issued_keys = IssuedKeys(iam, sessions)  # identity.principals.KeyRing: IAM users' and STS sessions' keys
        key_ring.add(self.issued_keys)  # asked after the root keys
        self.credentials = FunctionCredentials(iam, sessions, s)  # identity.principals.CredentialIssuer
        sdks = Sdks(s.sdk_dir.resolve())
        _say_which_sdks(sdks)
        ctx = EnvironmentContext(
            host="127.0.0.1", region=s.region, work_dir=work, max_response_bytes=s.limits.sync_response_bytes,
            init_timeout_s=s.limits.init_timeout_seconds, recorder=recorder, protections=protections,
            uids=UidPool(), spawner=spawner, kept=(Path(sys.base_prefix).resolve(), *sdks.kept()), network=network,
            outbound=s.outbound_default,
            serve_api=self._serve_environment,
            credentials=self.credentials,  # each environment's execution role credentials (sandbox/credentials.py)
            api_url=f"http://{_loopback_of(s.host)}:{self.port}", sdks=sdks,
        )  # fmt: skip
        changes = Changes()  # what the control planes change, followed by the data plane (control/changes.py)
        functions = FunctionService(store, code, runtimes, s, changes, layers, overlays)
        functions.check_roles_with(ExecutionRoles(iam, s.development_mode).check)
        parts.started("the functions' code preparation", functions.close)
        provider = LocalProvider(ctx, runtimes, functions.files)
        parts.started("the execution environments", provider.close)
        scheduler = Scheduler(provider, keep_alive=s.keep_alive_seconds, scale_up_limit=s.limits.scale_up_limit,
                              scale_window=s.limits.scale_window_seconds)  # fmt: skip
        resolver = Resolver(functions, s)
        targets = Targets(functions, s)
        tags, policies = TagService(store, targets, s), PolicyService(store, targets)
        event_configs = EventConfigService(store, targets, s)
        functions.add_hook(tags)  # CreateFunction's Tags
        functions.add_hook(provider)  # a new function's fork server starts as it is created
        urls = UrlService(store, functions.get, s, alias_exists=functions.aliases.exists)
        concurrency = ConcurrencyService(store, functions, scheduler, s, changes)
        for follower in (scheduler.follow, resolver.follow, event_configs.follow, urls.follow, concurrency.follow):
            changes.subscribe(follower)
        await functions.load()
        await event_configs.load()
        await urls.load()
        await concurrency.load()
        http_apis = HttpApis(store, region=s.region, account_id=s.account_id, port=self.port)
        await http_apis.load()
        invoker = Invoker(resolver, scheduler, s)
        invoker.check_sources_with(TriggerPermissions(policies, s).check)  # triggers need the function's permission
        queue = AsyncQueue(store, invoker, event_configs, s)
        invoker.attach(queue)
        timers = Timers(SystemClock())

        async def invoke_event(function: str, payload: bytes) -> None:
            await invoker.invoke(InvokeRequest(function=function, payload=payload, invocation_type="Event"))

        schedules = SchedulerService(store, s, timers, Delivery(invoke_event, store.add_outbox, timers))
        await schedules.load()
        queues = Queues(store, s, base_url=f"http://localhost:{self.port}")
        await queues.load()
        mappings = MappingService(store, functions, concurrency, invoker, queues, s)
        changes.subscribe(mappings.follow)  # a deleted function's mappings say so
        await mappings.load()
        events = EventBridge(store, invoker, s, timers, queues)
        notifications = NotificationConfigs(store, s, notification_destinations.local(targets, queues, s))
        await notifications.load()  # before the object store takes writes: it asks what each owes
        rest_apis = RestApiService(store, s)
        await rest_apis.load()
        iot = TopicRules(store, s)
        await iot.load()

        async def invoke_for_rule(function: str, payload: bytes, rule_arn: str) -> None:
            source = InvokeSource("iot.amazonaws.com", rule_arn, s.account_id)  # AWS IoT needs the permission
            await invoker.invoke(InvokeRequest(function=function, payload=payload, invocation_type="Event", source=source))

        mqtt = Subscriber(s.mqtt_url, client_id(data), iot, invoke_for_rule) if s.mqtt_url is not None else None
        if mqtt is None:
            _say_rules_need_a_broker(iot)
        objects = ObjectStore(store, Bodies(data / "objects"), notifications)
        objects.on_bucket_deleted(notifications.forget)
        await objects.load()  # bodies an interrupted write left are removed
        await notifications.forget_all_but(objects.exists)
        apis = Directory()  # what execute-api addresses serve: REST APIs and HTTP APIs
        apis.add(RestEndpoints(rest_apis, invoker, s))
        # A 50 MB zip in base64 inside JSON, as AWS accepts for CreateFunction.
        max_request = (s.limits.zipped_code_bytes * 4 + 2) // 3 + 64 * 1024
        svc = self._svc = Services(
            s, store, code, functions, layers, scheduler, invoker, recorder, max_request,
            tags=tags, policies=policies, event_configs=event_configs, urls=urls, concurrency=concurrency,
            queue=queue, apis=apis, events=events, schedules=schedules, timers=timers, rest_apis=rest_apis,
            http_apis=http_apis, queues=queues, mappings=mappings, iot=iot, mqtt=mqtt,
            front_door=Counts() if s.front_door else None, notifications=notifications, objects=objects,
            keys=key_ring,
            iam=iam, sts=sts,
        )  # fmt: skip
        apis.add(HttpApiEndpoints(http_apis, svc))
        # Before any environment starts: each serves it inside its network namespace.
        self._environments_runner = self._app_runner(build_app(svc, for_environments=True))
        await self._environments_runner.setup()
        parts.started("the API as environments see it", self._environments_runner.cleanup)
        # Set up now, served last: stopped after the invocations it answers have drained.
        runner = self._app_runner(build_app(svc), lent=svc.front_door is not None)
        await runner.setup()
        parts.started("the API", runner.cleanup)
        assert runner.server is not None
        # Plain synchronous Invokes, HTTP API calls and function URL requests are answered ahead of the
        # application (lamina/dataplane); other requests are lent to it.
        door = (FrontDoor(runner.server, invoker, s, apis, urls=UrlServing(svc), counts=svc.front_door,
                          authorize=lambda caller, fn, qualifier: invoke_refusal(svc, caller, fn, qualifier))
                if svc.front_door is not None else None)  # fmt: skip
        if door is not None:
            parts.started("the front door's connections", door.close)
        await scheduler.start()
        parts.started("the warm pools", scheduler.close)
        await concurrency.start()  # provisioned environments begin to start
        parts.started("provisioned concurrency", concurrency.close)
        await queue.start()  # events an earlier run accepted and did not finish are attempted again
        parts.started("the asynchronous queue", queue.close)  # an attempt still running keeps its event
        parts.started("the invocations in flight", self._drain)
        await events.start()  # bus events an earlier run accepted are delivered
        parts.started("the event buses", events.close)  # undelivered bus events stay stored
        queue_relay = OutboxRelay(store, queues, s)
        await queue_relay.start()  # outbox messages for this server's queues are delivered to them
        parts.started("the queues' outbox relay", queue_relay.close)
        objects_relay = NotificationRelay(store, invoker, s)
        await objects_relay.start()  # buckets' notifications for functions are invoked asynchronously
        parts.started("the bucket notifications' relay", objects_relay.close)
        objects.on_committed(Wakes(functions=objects_relay, queues=queue_relay, buses=events.relay))
        parts.started("the queues' long polls", queues.close)  # answered before the API waits for its requests
        await mappings.start()  # pollers read their sources and invoke synchronously
        parts.started("the event source mappings' pollers", lambda: mappings.close(min(5.0, s.shutdown_grace_seconds)))
        parts.started("the schedules' hand-overs", lambda: schedules.close(min(5.0, s.shutdown_grace_seconds)))
        if mqtt is not None:  # rules fire into the queue, so after it; stopped before it stops taking
            await mqtt.start()  # connects in the background: a broker that is down delays nothing
            parts.started("the MQTT subscriber", mqtt.close)
        await timers.start()  # schedules fire into the queue, so after it
        parts.started("the timers", timers.close)  # first: a firing would go to a queue about to stop taking
        listener = await asyncio.get_running_loop().create_server(door or runner.server, sock=sock, backlog=1024)
        parts.started("accepting connections", _async(listener.close))  # open ones: the API's cleanup

    def _app_runner(self, app: web.Application, *, lent: bool = False) -> web.AppRunner:
        """An idle connection, or one whose request headers are still arriving, is closed after
        header_timeout_seconds; a slow body is bounded by api.context.read_body. ``lent``: the
        front door lends it requests, and learns from its access log when each is answered."""
        access = {"access_log": _ACCESS_LOG, "access_log_class": AnswerWritten} if lent else {"access_log": None}
        return web.AppRunner(app, shutdown_timeout=self.settings.shutdown_grace_seconds,
                             keepalive_timeout=self.settings.header_timeout_seconds, **access)  # fmt: skip

    async def _serve_environment(self, listener: socket.socket) -> asyncio.AbstractServer:
        """Serve the API as environments see it (``build_app(for_environments=True)``) on ``listener``,
        inside an environment's namespace."""
        runner = self._environments_runner
        if runner is None or runner.server is None:
            raise OSError("Lamina's API is not up yet")
        return await asyncio.get_running_loop().create_server(runner.server, sock=listener, backlog=64)

    async def stop(self, *, force: asyncio.Event | None = None) -> None:
        """Stop accepting, drain in-flight invocations up to the grace period (or until ``force`` is
        set), and stop every part in the reverse of the order it started in; safe to call twice."""
        self._force = force
        await self._parts.close()

    async def _drain(self) -> None:
        """In-flight invocations, then the queue's attempts (which record their results), until the
        grace period has passed or ``force`` is set; the queue takes no new event meanwhile."""
        svc = self.services
        deadline = time.monotonic() + self.settings.shutdown_grace_seconds
        svc.queue.stop_taking()  # queued events stay stored; attempts in progress may finish
        drain = asyncio.create_task(_drain(svc, deadline), name="lamina-drain")
        waiters: list[asyncio.Future[object]] = [drain]  # type: ignore[list-item]
        if self._force is not None:
            waiters.append(asyncio.create_task(self._force.wait(), name="lamina-force"))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()


async def _drain(svc: Services, deadline: float) -> bool:
    """In-flight invocations, then the queue's attempts (which record their results), until ``deadline``."""
    return await svc.invoker.drain(deadline) and await svc.queue.drain(deadline)


def _async(close: Callable[[], object]) -> Callable[[], Awaitable[None]]:
    """A synchronous ``close`` as a part's (``Parts.started`` awaits what it is given)."""

    async def closing() -> None:
        close()

    return closing


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


def _say_which_sdks(sdks: Sdks) -> None:
    """Functions find the AWS SDKs in their runtimes only once scripts/install/sdk.sh installed them."""
    missing = [name for name, installed in sdks.installed().items() if not installed]
    if missing:
        log.warning("the AWS SDK for %s is not installed under %s: functions run without it "
                    "(scripts/install/sdk.sh installs it)", " and ".join(missing), sdks.base)  # fmt: skip


def _loopback_of(host: str) -> str:
    """Where a process on this machine reaches a listener bound to ``host``."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::", "localhost") else f"[{host}]" if ":" in host else host


def _raise_open_file_limit() -> None:
    """Each environment holds a few descriptors (its Runtime API socket and connection, its output
    pipe, its cgroup files): take all the kernel allows, not the usual soft limit of 1,024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit from %d: %s", soft, exc)


def _clear(path: Path) -> None:
    """Remove what environments of an earlier run left behind (a crash leaves their /tmp)."""
    shutil.rmtree(path, ignore_errors=True)
    (path / TEMPLATE_DIR).mkdir(parents=True, exist_ok=True)


async def _serve(settings: Settings) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    force = asyncio.Event()

    def on_signal() -> None:
        if stop.is_set():
            force.set()
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    server = Server(settings)
    await server.start()
    if not stop.is_set():
        print(f"Lamina listening on http://{settings.host}:{server.port}", flush=True)
        await stop.wait()
    print("Lamina shutting down (again to force)…", flush=True)
    await server.stop(force=force)
    print("Lamina stopped.", flush=True)
    return 0


def serve(settings: Settings) -> int:
    """Run Lamina until SIGINT/SIGTERM; returns the process exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_serve(settings))
    return 130
