"""The server's view of the Ray cluster: which nodes are alive, their workers, where to place.

``RayCluster`` joins the cluster at LAMINA_RAY_ADDRESS (``ray.init``, usage stats off), then every
``POLL_SECONDS`` asks Ray for its nodes: a node alive without a worker gets one (the actor named
after it, pinned to it with ``NodeAffinitySchedulingStrategy(soft=False)``, asking for the node's
CPUs; created by the first server to see the node, found by name by the others); a node Ray no
longer reports alive loses its worker, and everyone told (``on_lost``: the providers mark its
environments dead). ``choose`` is the placement decision (pure, ``place``): the alive worker with
the most memory left for environments, from Ray's view of the node's memory less what this server
placed there itself. A node without CPUs (a head kept for Ray alone) gets no worker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, TypeVar

from lamina.errors import LaminaError
from lamina.tasks import cancel_and_wait

log = logging.getLogger(__name__)
T = TypeVar("T")

POLL_SECONDS = 2.0
CONNECT_TIMEOUT_S = 5.0
READY_TIMEOUT_S = 60.0
# A node whose worker's channel ended is not joined again for this long, unless Ray says it is dead
# first: Ray takes a while to see a node gone, and asking its dead worker would only wait.
REJOIN_SECONDS = 30.0
MB = 1024 * 1024


class RayUnavailable(LaminaError):
    """The Ray cluster LAMINA_RAY_ADDRESS names cannot be joined; the message says why."""


@dataclass
class Node:
    """One alive node's worker, as this server knows it."""

    node_id: str
    host: str
    port: int
    secret: str
    memory_mb: int  # Ray's view of the node's memory for work
    cpus: float
    pid: int = 0  # the worker's process, on its node
    placed_mb: int = 0  # what this server's environments there were given
    environments: int = 0
    alive: bool = True

    @property
    def free_mb(self) -> int:
        return self.memory_mb - self.placed_mb


def place(nodes: Sequence[Node]) -> Node | None:
    """Where a new environment goes: the alive node with the most memory left (ties: the fewest
    environments), or None without an alive node."""
    alive = [n for n in nodes if n.alive]
    if not alive:
        return None
    # Never refused: an environment may be placed where less than its size is left (Ray's view of
    # memory is not the environments' limit), as the embedded engine starts one on a full machine.
    return max(alive, key=lambda n: (n.free_mb, -n.environments))


@dataclass
class RayCluster:
    address: str
    nodes: dict[str, Node] = field(default_factory=dict)
    _lost: list[Callable[[str], None]] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _joining: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _lost_at: dict[str, float] = field(default_factory=dict)
    # Ray's calls block: on threads of their own, so that a slow answer never holds the server's.
    _executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(4, thread_name_prefix="lamina-ray"))

    driver_node: str = ""  # the node whose raylet this server's Ray driver is attached to (on its machine)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def start(self) -> None:
        await self._call(self._connect)
        await self.poll()
        self._task = asyncio.create_task(self._follow(), name="lamina-ray")

    def _connect(self) -> None:
        # Ray's client waits minutes for a cluster that is not there: a closed port is said at once.
        reachable(self.address)
        os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # nothing leaves the machine
        import ray

        from lamina.placement.actor import NAMESPACE

        try:
            ray.init(address=self.address, namespace=NAMESPACE, logging_level=logging.WARNING, log_to_driver=False,
                     configure_logging=False)  # fmt: skip
        except Exception as exc:  # Ray raises what its client met (ConnectionError, RuntimeError, ValueError)
            raise RayUnavailable(f"cannot join the Ray cluster at LAMINA_RAY_ADDRESS={self.address}: "
                                 f"{type(exc).__name__} {exc}".strip()) from None
        self.driver_node = str(ray.get_runtime_context().get_node_id())

    def on_lost(self, callback: Callable[[str], None]) -> None:
        self._lost.append(callback)

    def choose(self, memory_mb: int) -> Node | None:
        node = place(list(self.nodes.values()))
        if node is not None:
            node.placed_mb += memory_mb
            node.environments += 1
        return node

    def released(self, node: Node, memory_mb: int) -> None:
        node.placed_mb -= memory_mb
        node.environments -= 1

    def lost(self, node_id: str) -> None:
        """The node's worker is gone (Ray says the node is dead, or its channel ended)."""
        node = self.nodes.pop(node_id, None)
        if node is None:
            return
        node.alive = False
        self._lost_at[node_id] = time.monotonic()
        log.warning("ray: node %s lost: its environments are gone", node_id)
        for callback in self._lost:
            callback(node_id)

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                await self.poll()
            except Exception:  # Ray unreachable for a while: its nodes are kept until it says otherwise
                log.exception("ray: asking for the cluster's nodes failed")

    async def poll(self) -> None:
        import ray

        # A node without CPUs (a head kept for Ray alone: --num-cpus=0) runs no environments.
        alive = {n["NodeID"]: n for n in await self._call(ray.nodes)
                 if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0}  # fmt: skip
        for node_id in [n for n in self.nodes if n not in alive]:
            self.lost(node_id)
        now = time.monotonic()
        for node_id, since in list(self._lost_at.items()):
            if node_id not in alive or now - since > REJOIN_SECONDS:
                del self._lost_at[node_id]
        for node_id, info in alive.items():
            if node_id not in self.nodes and node_id not in self._joining and node_id not in self._lost_at:
                task = asyncio.create_task(self._join(node_id, info), name=f"lamina-ray-join-{node_id[:8]}")
                self._joining[node_id] = task
                task.add_done_callback(self._joined(node_id))

    def _joined(self, node_id: str) -> Callable[[asyncio.Task[None]], None]:
        def done(_: asyncio.Task[None]) -> None:
            self._joining.pop(node_id, None)

        return done

    async def _join(self, node_id: str, info: dict[str, Any]) -> None:
        try:
            ready = await self._call(_worker_of, node_id, info)
        except Exception as exc:
            log.warning("ray: no worker on node %s yet (%s)", node_id, exc)
            return
        resources = info.get("Resources", {})
        self.nodes[node_id] = Node(node_id, str(ready["host"]), int(ready["port"]), str(ready["secret"]),
                                   int(resources.get("memory", 0) // MB), float(resources.get("CPU", 0)),
                                   int(ready.get("pid", 0)))  # fmt: skip
        log.info("ray: node %s's worker at %s:%s", node_id, ready["host"], ready["port"])

    def describe(self) -> list[dict[str, Any]]:
        """The nodes as /lamina/v1/health shows them (``driver``: the node this server's Ray driver
        is attached to, on its own machine: Ray's calls go through that node's raylet)."""
        return [{"node_id": n.node_id, "address": f"{n.host}:{n.port}", "pid": n.pid, "memory_mb": n.memory_mb,
                 "cpus": n.cpus, "placed_mb": n.placed_mb, "environments": n.environments,
                 "driver": n.node_id == self.driver_node} for n in self.nodes.values()]  # fmt: skip

    async def close(self) -> None:
        for task in list(self._joining.values()):
            await cancel_and_wait(task)
        if self._task is not None:
            await cancel_and_wait(self._task)
        import ray

        await self._call(ray.shutdown)
        self._executor.shutdown(wait=False)


def reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """``RayUnavailable`` unless something accepts connections at ``address`` (``host:port``; other
    forms, ``auto`` or ``ray://``, are left to Ray)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "/" in host:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise RayUnavailable(f"cannot join the Ray cluster at LAMINA_RAY_ADDRESS={address}: nothing answers there "
                             f"({exc.strerror or exc})") from None  # fmt: skip


def node_address() -> str:
    """This machine's address as Ray's nodes reach it."""
    import ray

    return str(ray.util.get_node_ip_address())  # type: ignore[no-untyped-call]


def _worker_of(node_id: str, info: dict[str, Any]) -> dict[str, Any]:
    """The node's worker, created unless another server did: where it listens, its secret."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from lamina.placement.actor import NAMESPACE, actor_name, worker_class

    cpus = float(info.get("Resources", {}).get("CPU", 0))
    actor = worker_class().options(
        name=actor_name(node_id), namespace=NAMESPACE, lifetime="detached", get_if_exists=True, num_cpus=cpus,
        max_concurrency=1000, scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
    ).remote(secrets.token_hex(32))  # fmt: skip
    result: dict[str, Any] = ray.get(actor.ready.remote(), timeout=READY_TIMEOUT_S)
    return result
