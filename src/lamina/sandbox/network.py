"""A network namespace per execution environment, prepared ahead of demand.

Each environment runs in a network namespace of its own: its loopback is its own (ports bound
there use none of the host's), nothing on the host's loopback or any host address is in reach,
and its two ways to Lamina are listeners created inside it: the Runtime API at 127.0.0.1:9001 and
Lamina's API at 127.0.0.1:<Lamina's port>. Reaching one proves which environment is calling.

With ``outbound`` (on by default, as on Lambda) the namespace also has a way out: a veth pair
(``veth.py``), the host end ``lmn<8 hex>``, the other end ``eth0`` inside with the odd address of
a /31 of ``Settings.network_range`` and a default route via the even one, the host end's. The host
forwards and masquerades its traffic; ``nat.py`` holds the rules (no reaching the host, no
reaching another namespace, nothing coming in but replies). The namespaces are made by one thread,
``entrant.py``, the only one that ever leaves the host's namespace.

Preparing one costs about 0.7 ms for loopback only and 1.5-1.8 ms with a veth (measured on a
2-core VM); ``NetworkPool`` keeps ``size`` ready of each kind asked for and refills in an owned
background task, so a cold start only takes one. The refill waits for a pause in takes
(``REFILL_QUIET_SECONDS``): a burst of cold starts takes what is ready and makes the rest on
demand, without the refill adding more work beside it. A taken namespace is joined by the environment's
first process: ``setns(namespace.fd, CLONE_NEWNET)`` before it runs any function code.

Closing a namespace closes its descriptors at once; the kernel then destroys the namespace with
its veth when the last process in it is gone. The pool checks a second later and removes the
veth itself if it is still there (a process kept the namespace alive), so a closed namespace
loses its way out either way, and ``NetworkPool.close`` removes every veth it ever made.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lamina.errors import LaminaError
from lamina.sandbox.entrant import Entrant
from lamina.sandbox.nat import HostRules, HostRulesError
from lamina.sandbox.netlink import LOOPBACK_INDEX, Netlink
from lamina.sandbox.veth import Veths
from lamina.settings import Settings
from lamina.tasks import cancel_and_wait, wait_set

log = logging.getLogger(__name__)

RUNTIME_API_PORT = 9001
BACKLOG = 64
# How long after a namespace is closed its veth may linger before the pool removes it itself.
LINK_GRACE_SECONDS = 1.0
# After a failed preparation, how long the background refill waits before it tries again.
RETRY_SECONDS = 1.0
# The refill waits until no namespace was taken for this long: within a burst of cold starts it
# would only compete with them for the same cores (and the same thread), as the fork server's does.
REFILL_QUIET_SECONDS = 0.01


class NetworkUnavailable(LaminaError):
    """This host cannot give environments network namespaces (``NetworkPool.capabilities`` says why)."""


@dataclass(eq=False)
class Namespace:
    """One prepared network namespace, owned by one environment at a time."""

    fd: int  # /proc/thread-self/ns/net of its making: a process joins with setns(fd, CLONE_NEWNET)
    runtime_api: socket.socket  # listening at 127.0.0.1:9001 inside, non-blocking
    api: socket.socket | None  # listening at 127.0.0.1:<api port> inside (None without an api port)
    outbound: bool  # whether it has a way out (veth + NAT)
    address: str | None = None  # its address on eth0, when outbound
    link: str | None = None  # the host end of its veth, when outbound
    _on_close: Callable[[Namespace], None] | None = field(default=None, repr=False)
    _closed: bool = field(default=False, repr=False)

    def close(self) -> None:
        """Close its descriptors; its veth goes with it (see the module docstring). Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.runtime_api.close()
        if self.api is not None:
            self.api.close()
        os.close(self.fd)
        if self._on_close is not None:
            self._on_close(self)


@dataclass(frozen=True)
class NetworkCapabilities:
    """What the pool can give, and why not the rest (for the start-up report)."""

    namespaces: bool = False
    outbound: bool = False
    reasons: tuple[str, ...] = ("not started",)

    def report(self) -> None:
        if not self.namespaces:
            log.warning("network: environments share the host's network (%s)", "; ".join(self.reasons))
        elif self.outbound:
            log.info("network: each environment has a network namespace of its own, outbound through NAT")
        else:
            log.warning("network: each environment has a network namespace of its own, loopback only: no "
                        "outbound networking (%s)", "; ".join(self.reasons))  # fmt: skip


@dataclass
class _Closing:
    link: str
    address: str
    since: float


class NetworkPool:
    """Prepared network namespaces for environments (see the module docstring).

    ``start``, called once, sets up the host (the namespace and NAT probes, the nftables table) and
    starts the refill task (``lamina-network``); ``take`` hands out a prepared namespace at once, or
    prepares one when none is ready; ``close`` closes every namespace it made, taken or not,
    removes every veth and the host's table, and is safe to call twice. All three are called
    from the event loop's thread; ``Namespace.close`` from any thread.
    """

    def __init__(self, settings: Settings, *, api_port: int | None, size: int | None = None) -> None:
        if api_port == RUNTIME_API_PORT:
            raise ValueError(f"Lamina's API cannot listen inside namespaces at {RUNTIME_API_PORT}, the Runtime API's port")
        self._api_port = api_port
        self._size = settings.network_pool_size if size is None else size
        self._network = ipaddress.IPv4Network(settings.network_range)
        self._rules = HostRules(self._network)
        self._capabilities = NetworkCapabilities()
        self._idle: dict[bool, list[Namespace]] = {True: [], False: []}
        self._wanted: set[bool] = set()
        self._live: set[Namespace] = set()
        self._closing: list[_Closing] = []
        self._lock = threading.Lock()  # _live and _closing: Namespace.close may come from any thread
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._host_fd = -1
        self._veths: Veths | None = None  # used only on the entrant's thread
        self._entrant: Entrant | None = None
        self._closed = False
        self._last_take = 0.0  # time.monotonic() of the last take

    def capabilities(self) -> NetworkCapabilities:
        return self._capabilities

    async def start(self) -> None:
        """Probe and set up the host, then keep namespaces ready. Never raises for what the host
        lacks: ``capabilities`` says what is missing, and ``take`` gives what there is."""
        self._loop = asyncio.get_running_loop()
        if os.geteuid() != 0:
            self._capabilities = NetworkCapabilities(reasons=("Lamina is not running as root",))
            return
        self._host_fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        self._veths = Veths(self._network)
        self._entrant = Entrant(self._host_fd)
        try:
            probe = await self._prepare(outbound=False)
        except OSError as exc:
            self._capabilities = NetworkCapabilities(reasons=(f"the kernel refused a new network namespace ({exc})",))
            return
        self._idle[False].append(probe)
        reasons = await self._start_outbound()
        self._capabilities = NetworkCapabilities(namespaces=True, outbound=not reasons, reasons=reasons)
        self._wanted.add(self._capabilities.outbound)
        self._wake.set()
        self._task = asyncio.create_task(self._refill(), name="lamina-network")

    async def _start_outbound(self) -> tuple[str, ...]:
        try:
            await self._rules.install()
        except HostRulesError as exc:
            return (str(exc),)
        try:
            self._idle[True].append(await self._prepare(outbound=True))
        except OSError as exc:
            await self._rules.remove()
            return (f"cannot give a namespace a veth ({exc})",)
        return ()

    async def take(self, *, outbound: bool) -> Namespace:
        """A namespace for one environment, the caller's to close. Without outbound on this host,
        an outbound one is loopback only (``Namespace.outbound`` says which it got).

        ``NetworkUnavailable`` when the host gives no namespaces (or after ``close``); ``OSError``
        when preparing one failed.
        """
        if self._closed or not self._capabilities.namespaces:
            why = "the pool is closed" if self._closed else "; ".join(self._capabilities.reasons)
            raise NetworkUnavailable(why)
        kind = outbound and self._capabilities.outbound
        self._wanted.add(kind)
        self._last_take = time.monotonic()
        self._wake.set()
        idle = self._idle[kind]
        if idle:
            namespace = idle.pop()
        else:
            pending = self._submit(kind)
            try:
                namespace = await asyncio.shield(pending)
            except asyncio.CancelledError:
                pending.add_done_callback(self._adopt)
                raise
            if self._closed:  # closed while this one was being made: its veth is gone already
                namespace.close()
                raise NetworkUnavailable("the pool is closed")
        with self._lock:
            self._live.add(namespace)
        return namespace

    async def close(self) -> None:
        """Close every namespace, remove every veth and the host's table; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        await cancel_and_wait(self._task)
        with self._lock:
            live = list(self._live)
        for namespace in [*self._idle[True], *self._idle[False], *live]:
            namespace.close()
        self._idle = {True: [], False: []}
        if self._entrant is not None:
            if self._veths is not None:
                await self._entrant.submit(self._veths.remove_all)
            for thread in self._entrant.stop():
                await asyncio.to_thread(thread.join)
        await self._rules.remove()
        if self._veths is not None:
            self._veths.close()
        if self._host_fd >= 0:
            os.close(self._host_fd)
            self._host_fd = -1

    # -- the refill task ---------------------------------------------------------------------------

    async def _refill(self) -> None:
        failing = False
        while True:
            timeout = RETRY_SECONDS if failing else (LINK_GRACE_SECONDS if self._closing else None)
            await wait_set(self._wake, timeout)
            self._wake.clear()
            try:
                await self._sweep()
                while (quiet := self._last_take + REFILL_QUIET_SECONDS - time.monotonic()) > 0:
                    await asyncio.sleep(quiet)
                for kind in (True, False):
                    while kind in self._wanted and len(self._idle[kind]) < self._size:
                        if time.monotonic() - self._last_take < REFILL_QUIET_SECONDS:
                            self._wake.set()  # takes again: wait for them to stop first
                            break
                        self._idle[kind].append(await self._prepare(kind))
            except Exception as exc:  # the loop must outlive any one failure: takes rely on it
                if not failing:
                    log.warning("network: preparing namespaces failed (%s); trying again", exc)
                failing = True
            else:
                failing = False

    async def _sweep(self) -> None:
        """Remove the veths of namespaces closed more than the grace period ago that are still there."""
        now = time.monotonic()
        with self._lock:
            due = [c for c in self._closing if now - c.since >= LINK_GRACE_SECONDS]
            self._closing = [c for c in self._closing if now - c.since < LINK_GRACE_SECONDS]
        if due and self._entrant is not None and self._veths is not None:
            veths = self._veths
            await self._entrant.submit(lambda: veths.remove([(c.link, c.address) for c in due]))

    def _released(self, namespace: Namespace) -> None:
        """``Namespace.close``'s callback, on any thread."""
        with self._lock:
            self._live.discard(namespace)
            if namespace.link is not None and namespace.address is not None and not self._closed:
                self._closing.append(_Closing(namespace.link, namespace.address, time.monotonic()))
        if self._loop is not None and not self._closed:
            try:
                self._loop.call_soon_threadsafe(self._wake.set)
            except RuntimeError:  # the loop is closed: close() has run or never will
                pass

    def _adopt(self, pending: asyncio.Future[Namespace]) -> None:
        """A namespace prepared for a ``take`` that was cancelled: keep it ready, or close it."""
        if pending.cancelled() or pending.exception() is not None:
            return
        namespace = pending.result()
        if self._closed:
            namespace.close()
        else:
            self._idle[namespace.outbound].append(namespace)

    async def socket_in(self, namespace: Namespace) -> socket.socket:
        """A new TCP socket (non-blocking, unconnected) inside ``namespace``: Lamina connects with it to
        a listener of the environment's own, on its loopback (the Telemetry API's destinations)."""
        entrant = self._entrant
        assert entrant is not None

        def make() -> socket.socket:
            with entrant.inside(namespace.fd):
                return socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)

        return await entrant.submit(make)

    # -- on the entrant's thread -------------------------------------------------------------------

    def _submit(self, outbound: bool) -> asyncio.Future[Namespace]:
        assert self._entrant is not None
        return self._entrant.submit(lambda: self._make(outbound))

    async def _prepare(self, outbound: bool) -> Namespace:
        return await self._submit(outbound)

    def _make(self, outbound: bool) -> Namespace:
        """Make one namespace: its loopback up, its listeners, and with ``outbound`` its veth."""
        assert self._entrant is not None
        made: list[socket.socket] = []
        fd = -1
        plumbing: tuple[str, str] | None = None
        try:
            with self._entrant.new_namespace() as fd, Netlink() as inside:
                inside.set_up(LOOPBACK_INDEX)
                made.append(_listener(RUNTIME_API_PORT))
                if self._api_port is not None:
                    made.append(_listener(self._api_port))
                if outbound and self._veths is not None:
                    plumbing = self._veths.plumb(inside, fd)
        except BaseException:
            for sock in made:
                sock.close()
            if fd >= 0:
                os.close(fd)
            raise
        link, address = plumbing or (None, None)
        return Namespace(fd=fd, runtime_api=made[0], api=made[1] if len(made) > 1 else None,
                         outbound=plumbing is not None, address=address, link=link, _on_close=self._released)  # fmt: skip


def _listener(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock
