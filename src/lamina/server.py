"""The server's lifecycle: start-up, serving, and a graceful shutdown with a deadline.

Start-up opens the store, finds which protections the host supports (and says so), makes the
host's parts every cell shares (lamina.cells: one per account and region), starts the default
cell and every cell an earlier run left (each loads its functions, queues, schedules, ...) and
starts listening; it prints ``Lamina listening on http://HOST:PORT`` once it accepts
requests (tests and scripts wait for that line), then, with a TLS port, ``Lamina listening on
https://HOST:PORT`` and where its CA is (lamina/tls: the same front door and application, over
TLS). Each part is recorded as it starts (``lamina.lifecycle.Parts``), and shutdown stops them in the reverse order, each whatever became of
the others. SIGINT or SIGTERM starts it: stop accepting, then stop every cell, the last started
first (each: stop the timers, stop taking queued asynchronous events (they stay stored), let
in-flight invocations finish until ``shutdown_grace_seconds`` from the shutdown's start, stop its
execution environments, write buffered logs and usage, close its store), then the host's parts.
A second signal skips the wait.
"""

from __future__ import annotations

import asyncio
import gc
import contextlib
import logging
from functools import partial
import resource
import shutil
import signal
import socket
import ssl
import sys
import time
from pathlib import Path
from typing import Awaitable, Callable

from aiohttp import web
from aiohttp.http import SERVER_SOFTWARE

from lamina import datalock
from lamina.api.app import build_app
from lamina.api.authorization import invoke_refusal
from lamina.api.context import Services
from lamina.api.url_serving import UrlServing
from lamina.cells.host import Host
from lamina.cells.regions import Regions
from lamina.metrics.exposition import Exposition
from lamina.cells.registry import Cells
from lamina.dataplane.counts import Counts
from lamina.dataplane import native
from lamina.dataplane.frontdoor import FrontDoor
from lamina.dataplane.native import NativePlane
from lamina.dataplane.lending import AnswerWritten
from lamina.identity import keys
from lamina.iam.service import IamService
from lamina.identity import signer
from lamina.objects.bucket_names import BucketNames
from lamina.lifecycle import Parts
from lamina.runtime.runtimes import RuntimeRegistry
from lamina.runtime.sdk import Sdks
from lamina.sandbox.environment import TEMPLATE_DIR
from lamina.sandbox.isolation import Protections, UidPool
from lamina.sandbox.network import NetworkPool
from lamina.placement.cluster import RayCluster, node_address
from lamina.sandbox.spawn import Spawner
from lamina.settings import Settings
from lamina.store.aggregates import ChangeFeed
from lamina.store.choice import DEFAULT_SCHEMA, open_store
from lamina.store.following import KindRereads
from lamina.sts.service import FunctionCredentials, StsService
from lamina.sts.keyring import IssuedKeys
from lamina.sts.sessions import SESSION_KIND, Sessions
from lamina.tls.certificates import local_authority
from lamina.tls.context import server_context
from lamina.tls.names import served_names

log = logging.getLogger("lamina")
_ACCESS_LOG = logging.getLogger("lamina.access")  # AnswerWritten logs nothing to it


class Server:
    """Lamina, assembled. ``start`` then ``stop``; both in the running event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = 0
        self.tls_port: int | None = None  # the TLS listener's, if there is one
        self.tls_ca: Path | None = None  # the local CA's certificate that one presents a certificate of
        self._parts = Parts()  # what has started, stopped in reverse order (lamina.lifecycle)
        self._environments_runner: web.AppRunner | None = None  # the API as environments see it
        # Set once that API is up: the default cell starts (its provisioned environments with it)
        # before the application that names it is built, and environments wait for their API.
        self._environments_up = asyncio.Event()
        self._svc: Services | None = None  # the default cell's
        self._cells: Cells | None = None
        self._drain_deadline: float | None = None
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
        # The default cell's store, opened first and closed last: IAM's and STS's state is there too
        # (per account, global across regions, as AWS's), whichever cell a request is for.
        store = open_store(s.database_url, data, DEFAULT_SCHEMA, claim_seconds=s.async_claim_seconds)
        await store.open()
        parts.started("the store", store.close)
        iam, sessions = IamService(store), Sessions(store)
        await iam.load()
        await sessions.load()  # expired sessions are pruned
        if isinstance(store, ChangeFeed):  # other servers share the store: follow their changes of IAM and STS
            async def reread_session(key: str) -> None:  # one a cold start of another server began
                sessions.follow(await store.read_resource(SESSION_KIND, key), key)

            kinds = KindRereads({**{kind: partial(iam.reread, kind) for kind in iam.KINDS},
                                 SESSION_KIND: sessions.reread}, {SESSION_KIND: reread_session})  # fmt: skip
            following = store.follow_resources(kinds.reread, kinds.reread_all)
            parts.started("following other servers' changes of IAM and STS", following.close)
        bucket_names = BucketNames(store)  # S3's bucket names are global: which cell holds each
        await bucket_names.load()
        sts = StsService(iam, sessions, s)
        self.issued_keys = IssuedKeys(iam, sessions)  # identity.principals.KeyRing: IAM users' and STS sessions' keys
        key_ring.add(self.issued_keys)  # asked after the root keys
        self.credentials = FunctionCredentials(iam, sessions, s)  # identity.principals.CredentialIssuer
        protections = await asyncio.to_thread(Protections.detect)
        parts.started("the protections", _async(protections.close))
        protections.cgroups.take_in_server()  # the CPU shared with its environments as siblings
        protections.report()
        # Bound now, served once everything is ready: environments' namespaces get a listener of
        # Lamina's API at the same port.
        sock = socket.create_server((s.host, s.port), reuse_port=False, backlog=1024)
        parts.started("the listening socket", _async(sock.close))
        self.port = sock.getsockname()[1]
        tls = await self._bind_tls(data)
        network: NetworkPool | None = None
        if protections.namespaces:
            network = NetworkPool(s, api_port=self.port)
            parts.started("the network namespaces", network.close)
            await network.start()
            network.capabilities().report()
        work = data / "environments"  # every cell's environments' scratch space
        await asyncio.to_thread(_clear, work)
        sdks = Sdks(s.sdk_dir.resolve())  # the AWS SDKs functions import, bound read-only into sandboxes
        _say_which_sdks(sdks)
        # A 50 MB zip in base64 inside JSON, as AWS accepts for CreateFunction.
        max_request = (s.limits.zipped_code_bytes * 4 + 2) // 3 + 64 * 1024
        ray, ray_api = await self._join_ray()
        host = Host(
            settings=s, port=self.port, keys=key_ring, protections=protections, network=network,
            spawner=Spawner(template=work / TEMPLATE_DIR if protections.namespaces else None), uids=UidPool(),
            runtimes=RuntimeRegistry(s.interpreters, recheck_seconds=s.runtime_recheck_seconds), work_dir=work,
            kept=(Path(sys.base_prefix).resolve(),), sdks=sdks, api_url=f"http://{_loopback_of(s.host)}:{self.port}",
            serve_api=self._serve_environment, max_request_bytes=max_request,
            front_door=Counts() if s.front_door else None, force=lambda: self._force,
            drain_deadline=lambda: self._drain_deadline, iam=iam, sts=sts, credentials=self.credentials,
            bucket_names=bucket_names, ray=ray, ray_api=ray_api.getsockname()[:2] if ray_api is not None else None,
        )  # fmt: skip
        cells = self._cells = Cells(host, Regions(s.region), default_store=store)
        # The default cell (the data directory's, as before cells) first: the applications name it.
        svc = self._svc = await cells.open(host.settings.account_id, host.settings.region)
        parts.started("the default cell, should the start fail", cells.close)  # stopped below once started
        # Before any environment starts: each serves it inside its network namespace.
        self._environments_runner = self._app_runner(build_app(svc, for_environments=True, cells=cells,
                                                               revocations=host.revocations))  # fmt: skip
        await self._environments_runner.setup()
        parts.started("the API as environments see it", self._environments_runner.cleanup)
        self._environments_up.set()
        if ray_api is not None:  # Ray nodes' workers relay their environments' calls here
            served = await self._serve_environment(ray_api)
            parts.started("the API for environments on Ray nodes", _async(served.close))
        # Set up now, served last: stopped after the invocations it answers have drained.
        exposition = Exposition(host.stats, cells.views)  # GET /metrics (api/metrics.py)
        runner = self._app_runner(build_app(svc, cells=cells, exposition=exposition, revocations=host.revocations),
                                  lent=host.front_door is not None)  # fmt: skip
        await runner.setup()
        parts.started("the API", runner.cleanup)
        assert runner.server is not None
        # Plain synchronous Invokes, HTTP API calls and function URL requests are answered ahead of the
        # application (lamina/dataplane); other requests are lent to it.
        door = (FrontDoor(runner.server, cells, s, urls=UrlServing(cells, key_ring), counts=host.front_door,
                          authorize=invoke_refusal)
                if host.front_door is not None else None)  # fmt: skip
        if door is not None:
            parts.started("the front door's connections", door.close)
        await cells.start()  # every cell an earlier run left: their queues, schedules and mappings resume
        parts.started("the cells", self._stop_cells)  # before the API's cleanup: their invocations drain first
        plane = self._native_plane(door, sock, iam)
        if plane is not None:
            host.lenders.use(plane)
            host.revocations.listen(plane.revoke)
            assert host.front_door is not None
            host.front_door.native = plane.counts
            parts.started("accepting connections", lambda: plane.close(s.shutdown_grace_seconds))
        else:
            listener = await asyncio.get_running_loop().create_server(door or runner.server, sock=sock, backlog=1024)
            parts.started("accepting connections", _async(listener.close))  # open ones: the API's cleanup
        if tls is not None:  # served by the front door (the native data plane's listener is plain HTTP)
            tls_sock, context = tls
            secure = await asyncio.get_running_loop().create_server(
                door or runner.server, sock=tls_sock, backlog=1024, ssl=context,
                ssl_handshake_timeout=s.header_timeout_seconds)  # fmt: skip
            parts.started("accepting TLS connections", _async(secure.close))

    async def _join_ray(self) -> tuple[RayCluster | None, socket.socket | None]:
        """With LAMINA_RAY_ADDRESS: the Ray cluster joined (placement/), and the socket its workers
        relay environments' calls to Lamina's API to, bound; else (None, None): Ray is not imported."""
        s = self.settings
        if s.ray_address is None:
            return None, None
        cluster = RayCluster(s.ray_address)
        await cluster.start()
        self._parts.started("the Ray cluster", cluster.close)
        host = s.ray_api_host or await asyncio.to_thread(node_address)
        sock = socket.create_server((host, 0), reuse_port=False, backlog=1024)
        self._parts.started("the Ray nodes' API socket", _async(sock.close))
        return cluster, sock

    async def _bind_tls(self, data: Path) -> tuple[socket.socket, ssl.SSLContext] | None:
        """The TLS listener's socket, bound, and the context it is served with (the operator's
        certificate, else the local CA's, made under ``data``/tls once); None without a TLS port."""
        s = self.settings
        if s.tls_port is None:
            return None
        files = s.tls_files
        if files is None:
            files = await asyncio.to_thread(local_authority, data / "tls", served_names(s.host, s.region))
        context = await asyncio.to_thread(server_context, files)
        sock = socket.create_server((s.host, s.tls_port), reuse_port=False, backlog=1024)
        self._parts.started("the TLS listening socket", _async(sock.close))
        self.tls_port, self.tls_ca = sock.getsockname()[1], files.ca
        return sock, context

    def _native_plane(self, door: FrontDoor | None, sock: socket.socket, iam: IamService) -> NativePlane | None:
        """The native data plane on the listener, if it is to run (LAMINA_DATA_PLANE, the front
        door on, the native module built with its signatures agreeing with awscrt's)."""
        s = self.settings
        if door is None or s.data_plane != "native":
            return None
        if not native.available() or (s.verify_signatures and not signer.native_signatures()):
            log.info("the native data plane does not run (native/ is not built, or its signatures disagree with "
                     "awscrt's): warm Invokes are served by Python")  # fmt: skip
            return None
        plane = NativePlane(sock, door, s, SERVER_SOFTWARE)
        iam.on_change(plane.revoke)  # IAM's writes from anywhere (stacks too), not only the API's
        return plane

    async def _stop_cells(self) -> None:
        """Every cell, the last started first; in-flight invocations drain until the grace period
        (from when the shutdown began) has passed, or ``force`` is set."""
        self._drain_deadline = time.monotonic() + self.settings.shutdown_grace_seconds
        if self._cells is not None:
            await self._cells.close()

    def _app_runner(self, app: web.Application, *, lent: bool = False) -> web.AppRunner:
        """An idle connection, or one whose request headers are still arriving, is closed after
        header_timeout_seconds; a slow body is bounded by api.context.read_body. ``lent``: the
        front door lends it requests, and learns from its access log when each is answered."""
        access = {"access_log": _ACCESS_LOG, "access_log_class": AnswerWritten} if lent else {"access_log": None}
        return web.AppRunner(app, shutdown_timeout=self.settings.shutdown_grace_seconds,
                             keepalive_timeout=self.settings.header_timeout_seconds, **access)  # fmt: skip

    async def _serve_environment(self, listener: socket.socket) -> asyncio.AbstractServer:
        """Serve the API as environments see it (``build_app(for_environments=True)``) on ``listener``,
        inside an environment's namespace (once it is up: an environment started with the default
        cell waits for it)."""
        await self._environments_up.wait()
        runner = self._environments_runner
        if runner is None or runner.server is None:
            raise OSError("Lamina's API is not up yet")
        return await asyncio.get_running_loop().create_server(runner.server, sock=listener, backlog=64)

    async def stop(self, *, force: asyncio.Event | None = None) -> None:
        """Stop accepting, drain in-flight invocations up to the grace period (or until ``force`` is
        set), and stop every part in the reverse of the order it started in; safe to call twice."""
        self._force = force
        await self._parts.close()


def _async(close: Callable[[], object]) -> Callable[[], Awaitable[None]]:
    """A synchronous ``close`` as a part's (``Parts.started`` awaits what it is given)."""

    async def closing() -> None:
        close()

    return closing


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
    lock = datalock.claim(settings.data_dir.resolve())  # before anything opens the store
    try:
        server = Server(settings)
        await server.start()
        _freeze_what_started()
        if not stop.is_set():
            address = f"http://{settings.host}:{server.port}"
            lock.record(address)
            print(f"Lamina listening on {address}", flush=True)
            if server.tls_port is not None:
                print(f"Lamina listening on https://{settings.host}:{server.tls_port}", flush=True)
                if server.tls_ca is not None:
                    print(f"Lamina's TLS certificates are its own CA's: export AWS_CA_BUNDLE={server.tls_ca}",
                          flush=True)  # fmt: skip
            await stop.wait()
        print("Lamina shutting down (again to force)…", flush=True)
        await server.stop(force=force)
        print("Lamina stopped.", flush=True)
        return 0
    finally:
        lock.release()


# How long a thread may hold the GIL while another waits for it. The store's thread packs log chunks
# and usage rows in Python every 100 ms; at the default 5 ms, one such burst can hold the event loop
# (and every request it is answering) for 5 ms. At 0.5 ms a warm Invoke's p99 at C=8 was ~15% lower,
# throughput the same (docs/benchmarks.md).
SWITCH_INTERVAL_SECONDS = 0.0005


def _freeze_what_started() -> None:
    """Keep the objects made to start (modules, botocore's models, tables: over 100,000) out of the
    collector's full collections, which walk every tracked object with the event loop stopped: 30 to
    80 ms each on the two-core benchmark machine, one every few seconds under load. Frozen, a full
    collection walks only what was made since; a warm Invoke's p99 at C=8 and C=32 was lower in each
    of three paired runs, its throughput 2-5% higher (docs/benchmarks.md)."""
    gc.collect()
    gc.freeze()


def serve(settings: Settings) -> int:
    """Run Lamina until SIGINT/SIGTERM; returns the process exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_serve(settings))
    return 130
