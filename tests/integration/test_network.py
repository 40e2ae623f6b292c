"""Network namespaces from sandbox/network.py, without Lamina's server: real namespaces, veths and
nftables rules, joined by real processes (as root; no traffic beyond loopback and the namespaces
the tests make themselves)."""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from lamina.sandbox.entrant import Entrant, Stranded
from lamina.sandbox.nat import HostRules, start_time, table_name
from lamina.sandbox.netlink import LOOPBACK_INDEX, Netlink, NetlinkError, address_request, route_request, set_up_request
from lamina.sandbox.network import RUNTIME_API_PORT, Namespace, NetworkPool
from lamina.settings import Settings
from tests.netns import HostServer, Joined, RemoteHost, link_exists, probe_from

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
needs_nft = pytest.mark.skipif(shutil.which("nft") is None, reason="no nft (scripts/install/nftables.sh installs it)")

T = TypeVar("T")
API_PORT = 9000
OUR_TABLE = table_name(os.getpid(), start_time(os.getpid()) or 0)


class Portal:
    """An event loop on a thread of its own, so the pool's background task runs while a test
    waits for processes."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-loop", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class Pool:
    def __init__(self, portal: Portal, pool: NetworkPool) -> None:
        self.portal = portal
        self.pool = pool
        self.links: list[str] = []

    def take(self, *, outbound: bool) -> Namespace:
        namespace = self.portal.run(self.pool.take(outbound=outbound))
        if namespace.link is not None:
            self.links.append(namespace.link)
        return namespace

    def close(self) -> None:
        self.portal.run(self.pool.close())


@pytest.fixture
def pool() -> Iterator[Pool]:
    portal = Portal()
    network = NetworkPool(Settings(), api_port=API_PORT, size=2)
    portal.run(network.start())
    handle = Pool(portal, network)
    try:
        yield handle
    finally:
        handle.close()
        portal.close()


def nft_tables() -> str:
    return subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=True).stdout


def wait_until(condition: Any, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_joined_process_reaches_its_own_runtime_api_and_nothing_on_the_hosts_loopback(pool: Pool) -> None:
    assert pool.pool.capabilities().namespaces
    namespace = pool.take(outbound=False)
    with HostServer() as host:
        assert probe_from(namespace.fd, "127.0.0.1", RUNTIME_API_PORT, read=False)["result"] == "connected"
        conn, _ = namespace.runtime_api.accept()  # the connection came to this namespace's listener
        conn.close()
        assert probe_from(namespace.fd, "127.0.0.1", API_PORT, read=False)["result"] == "connected"
        assert namespace.api is not None
        namespace.api.accept()[0].close()
        # The host's server listens on every host address, its loopback included: out of reach.
        assert probe_from(namespace.fd, "127.0.0.1", host.port)["result"] == "refused"
        assert host.accepted == 0
    namespace.close()
    namespace.close()


def test_ports_bound_inside_are_not_the_hosts(pool: Pool) -> None:
    namespace = pool.take(outbound=False)
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        inside = Joined(namespace.fd)
        try:
            # The host's port is free inside, and 2,000 ports bound inside are not among the host's.
            assert inside.ask(f"socket.create_server(('127.0.0.1', {port})).getsockname()[1]") == port
            inodes = inside.ask(
                "[os.fstat(s.fileno()).st_ino for s in "
                "(globals().setdefault('held', [socket.create_server(('127.0.0.1', 0)) for _ in range(2000)]))]"
            )
            host_inodes = {line.split()[9] for line in Path("/proc/self/net/tcp").read_text().splitlines()[1:]}
            assert len(inodes) == 2000 and not {str(i) for i in inodes} & host_inodes
        finally:
            inside.close()
    namespace.close()


def test_two_namespaces_do_not_reach_each_other(pool: Pool) -> None:
    first, second = pool.take(outbound=False), pool.take(outbound=False)
    assert probe_from(second.fd, "127.0.0.1", RUNTIME_API_PORT, read=False)["result"] == "connected"
    second.runtime_api.accept()[0].close()
    with pytest.raises(BlockingIOError):  # the connection went to the second's listener, not the first's
        first.runtime_api.accept()
    first.close()
    second.close()


@needs_nft
def test_outbound_reaches_a_remote_host_through_nat_and_nothing_of_the_host(pool: Pool) -> None:
    capabilities = pool.pool.capabilities()
    assert capabilities.outbound, capabilities.reasons
    assert OUR_TABLE in nft_tables()
    namespace = pool.take(outbound=True)
    assert namespace.outbound and namespace.address and namespace.link and link_exists(namespace.link)
    gateway = str(ipaddress.IPv4Address(namespace.address) - 1)  # the host end of its veth
    with RemoteHost() as remote, HostServer() as host:
        reached = probe_from(namespace.fd, remote.address, remote.port)
        # The remote host saw the host's own address on its veth: the namespace's traffic was NATed.
        assert reached == {"result": "connected", "said": remote.host_address + "\n"}
        for address in (remote.host_address, gateway, "127.0.0.1"):
            assert probe_from(namespace.fd, address, host.port)["result"] != "connected", address
        assert host.accepted == 0
    namespace.close()


@needs_nft
def test_outbound_namespaces_do_not_reach_each_other(pool: Pool) -> None:
    first, second = pool.take(outbound=True), pool.take(outbound=True)
    assert first.outbound and second.outbound and second.address
    listening = Joined(second.fd)
    try:
        port = listening.ask("globals().setdefault('server', socket.create_server(('0.0.0.0', 0))).getsockname()[1]")
        assert probe_from(first.fd, second.address, port)["result"] != "connected"
        # The second's own process reaches its server: the port was open, the path was closed.
        assert listening.ask(f"probe({second.address!r}, {port}, read=False)['result']") == "connected"
        assert listening.ask("server.setblocking(False) or len([server.accept()])") == 1
    finally:
        listening.close()
    first.close()
    second.close()


@needs_nft
def test_a_closed_namespace_loses_its_veth_even_while_a_process_keeps_it(pool: Pool) -> None:
    namespace = pool.take(outbound=True)
    link = namespace.link
    assert link is not None
    inside = Joined(namespace.fd)
    try:
        namespace.close()
        assert wait_until(lambda: not link_exists(link)), "the veth of a closed namespace stayed"
        assert inside.ask("probe('127.0.0.1', 9001, read=False)['result']") == "refused"  # its listener closed too
    finally:
        inside.close()


@needs_nft
def test_closing_the_pool_removes_everything_even_for_a_leaked_namespace(pool: Pool) -> None:
    leaked = pool.take(outbound=True)  # taken and never closed, with a process still inside
    with RemoteHost() as remote:
        inside = Joined(leaked.fd)
        try:
            assert inside.ask(f"probe({remote.address!r}, {remote.port})['result']") == "connected"
            pool.close()
            assert leaked.runtime_api.fileno() == -1
            assert not any(link_exists(link) for link in pool.links)  # (other Laminas' links are theirs)
            assert OUR_TABLE not in nft_tables()
            assert inside.ask(f"probe({remote.address!r}, {remote.port})['result']") != "connected"
        finally:
            inside.close()
    pool.close()  # twice is fine


def test_without_nft_an_outbound_namespace_is_loopback_only() -> None:
    """A host that cannot do outbound degrades: capabilities say why, take still gives a namespace."""
    code = (
        "import asyncio, json\n"
        "from lamina.sandbox.network import NetworkPool\n"
        "from lamina.settings import Settings\n"
        "async def main():\n"
        "    pool = NetworkPool(Settings(), api_port=None, size=1)\n"
        "    await pool.start()\n"
        "    namespace = await pool.take(outbound=True)\n"
        "    caps = pool.capabilities()\n"
        "    got = [caps.namespaces, caps.outbound, list(caps.reasons), namespace.outbound, namespace.api]\n"
        "    print(json.dumps(got))\n"
        "    await pool.close()\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PATH": "/nonexistent"},
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    namespaces, outbound, reasons, got_outbound, api = json.loads(done.stdout)
    assert namespaces and not outbound and not got_outbound and api is None
    assert "nft" in reasons[0]


def test_a_take_while_none_is_ready_prepares_one() -> None:
    portal = Portal()
    network = NetworkPool(Settings(), api_port=None, size=0)
    try:
        portal.run(network.start())
        namespaces = [portal.run(network.take(outbound=False)) for _ in range(3)]
        assert len({n.fd for n in namespaces}) == 3 and all(n.api is None for n in namespaces)
        for namespace in namespaces:
            namespace.close()
    finally:
        portal.run(network.close())
        portal.close()


def test_a_thread_that_cannot_get_back_to_the_hosts_namespace_runs_nothing_more() -> None:
    """Fail closed: a job after a stranded one runs on a new thread, in the host's namespace."""
    uts = os.open("/proc/self/ns/uts", os.O_RDONLY | os.O_CLOEXEC)  # setns(CLONE_NEWNET) refuses it
    entrant = Entrant(uts)

    def enter() -> int:
        with entrant.new_namespace() as fd:
            os.close(fd)
        return threading.get_ident()

    def where() -> tuple[int, int]:
        return threading.get_ident(), os.stat("/proc/thread-self/ns/net").st_ino

    async def scenario() -> tuple[int, int]:
        stranded = entrant.submit(enter)
        queued = entrant.submit(where)  # queued behind the stranded job: failed, not run there
        results = await asyncio.gather(stranded, queued, return_exceptions=True)
        assert isinstance(results[0], Stranded) and isinstance(results[1], Stranded)
        return await entrant.submit(where)

    try:
        _, inode = asyncio.run(scenario())
        assert inode == os.stat("/proc/self/ns/net").st_ino
        assert len(entrant.stop()) == 2  # the stranded thread and its replacement
    finally:
        os.close(uts)


@needs_nft
def test_a_table_left_by_a_lamina_that_died_is_removed_at_the_next_start() -> None:
    code = (
        "import asyncio, os, signal\n"
        "from lamina.sandbox.network import NetworkPool\n"
        "from lamina.settings import Settings\n"
        "async def main():\n"
        "    await NetworkPool(Settings(), api_port=None, size=1).start()\n"
        "    print(os.getpid(), flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGSTOP)\n"
        "asyncio.run(main())\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        pid = int(child.stdout.readline())
        # Listed while it lives (stopped): any Lamina starting meanwhile (other tests') keeps it.
        dead = [line.split()[2] for line in nft_tables().splitlines() if line.startswith(f"table inet lamina_{pid}_")]
        assert len(dead) == 1
    finally:
        child.kill()  # it dies without removing its table
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    portal = Portal()
    network = NetworkPool(Settings(), api_port=None, size=0)
    try:
        portal.run(network.start())
        assert dead[0] not in nft_tables() and OUR_TABLE in nft_tables()
    finally:
        portal.run(network.close())
        portal.close()


@needs_nft
def test_a_gone_laminas_table_another_start_removed_first_does_not_cost_outbound() -> None:
    """Two Laminas starting at once both find a crashed one's table; the second's delete fails, as
    the table is gone already: it goes on (it once left that Lamina without outbound networking)."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    table = table_name(gone.pid, 1)  # a process that is gone: a stale table's name, not in nft's list
    assert table not in nft_tables()
    # A table of its own (named after a process alive meanwhile), not this process's pools'.
    holder = subprocess.Popen(["sleep", "60"])
    rules = HostRules(ipaddress.IPv4Network("100.127.252.0/30"), table=table_name(holder.pid, start_time(holder.pid) or 0))
    portal = Portal()
    try:
        portal.run(rules._remove_stale(table))  # what the loser of the race meets: no exception
        portal.run(rules.install())
        assert rules.installed and rules.table in nft_tables()
    finally:
        portal.run(rules.remove())
        portal.close()
        holder.kill()
        holder.wait()


def in_new_namespace(job: Any) -> Any:
    """Run ``job(netlink, namespace_fd)`` on an entrant's thread inside a throwaway network namespace."""
    host = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    entrant = Entrant(host)

    def run() -> Any:
        with entrant.new_namespace() as fd, Netlink() as inside:
            try:
                return job(inside, fd)
            finally:
                os.close(fd)

    async def scenario() -> Any:
        return await entrant.submit(run)

    try:
        return asyncio.run(scenario())
    finally:
        for thread in entrant.stop():
            thread.join()
        os.close(host)


def test_a_netlink_batch_carries_out_every_request_and_raises_the_first_refusal() -> None:
    def job(inside: Netlink, fd: int) -> tuple[int | None, int | None]:
        inside.batch([set_up_request(LOOPBACK_INDEX), address_request(LOOPBACK_INDEX, "10.9.0.1", 32)])
        refused: int | None = None
        try:  # the same address again is refused; the route after it is added all the same
            inside.batch([address_request(LOOPBACK_INDEX, "10.9.0.1", 32),
                          route_request("10.9.1.0/24", index=LOOPBACK_INDEX)])  # fmt: skip
        except NetlinkError as exc:
            refused = exc.errno
        again: int | None = None
        try:
            inside.add_route("10.9.1.0/24", index=LOOPBACK_INDEX)
        except NetlinkError as exc:
            again = exc.errno
        inside.set_up(LOOPBACK_INDEX)  # the socket is in step after a refused batch
        return refused, again

    assert in_new_namespace(job) == (errno.EEXIST, errno.EEXIST)


def test_a_new_veth_comes_back_with_its_and_its_peers_indexes() -> None:
    def job(inside: Netlink, fd: int) -> tuple[tuple[int, int | None] | None, tuple[int, int | None]]:
        echoed = inside.add_veth("lmnecho0", "peer0", fd)
        return echoed, inside.link_indexes("lmnecho0")

    echoed, looked_up = in_new_namespace(job)
    # Kernels before 6.3 echo nothing: the pool looks the indexes up then.
    assert echoed is None or echoed == looked_up
    assert looked_up[1] is not None and looked_up[1] != looked_up[0]
