"""A Ray cluster of several nodes on this one machine (the Ray tests' and the ray scenario's), as
Ray's own tests make one: a head and
workers, each started by ``ray start`` in a session of its own (its raylet, object store and the
workers' processes in one process group), so that one node can be killed alone (SIGKILL to its
group, by its PID) and all of them at the end. Usage stats off, no dashboard; each node has a
data directory and a range of namespace addresses of its own for its Lamina worker.

With ``cpu_quota`` (cores), each node's ``ray start`` runs in a cpu cgroup of its own limited to
that much CPU (bench/cpu_quota.py), so that every process of the node shares it: nodes of one
fixed size on one machine. Where no such cgroup can be made, ``quota_unavailable`` says why and
the nodes run without one.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.cpu_quota import NodeCgroups

RAY = str(Path(sys.executable).parent / "ray")
OBJECT_STORE_BYTES = 80 * 1024 * 1024  # Ray's least: objects are not what Lamina's workers hold
NODE_MEMORY_BYTES = 2 * 1024**3


# The head's GCS declares a node dead after two missed health checks a second apart (Ray's default:
# some 15 s), so that a killed node is soon told from a live one.
HEALTH_CHECKS = {"RAY_health_check_period_ms": "1000", "RAY_health_check_timeout_ms": "1000",
                 "RAY_health_check_failure_threshold": "2"}  # fmt: skip


def ray_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAMINA_", "RAY_"))}
    env.update(RAY_USAGE_STATS_ENABLED="0", **extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _free_port_above(low: int) -> int:
    while True:
        port = free_port()
        if port > low:
            return port


@dataclass
class RayNode:
    index: int
    pgid: int
    data_dir: Path
    killed: bool = False


@dataclass
class RayCluster:
    """``start(n)`` the head and ``n - 1`` workers; ``add`` one more; ``kill(node)`` its group."""

    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="lamina-ray-")))
    port: int = field(default_factory=lambda: _free_port_above(20000))
    nodes: list[RayNode] = field(default_factory=list)
    cpu_quota: float | None = None  # cores per node; None: the machine's, shared
    # 0: a head kept for Ray alone (its GCS), as a deployment has: no Lamina worker there, and no
    # quota (only nodes with CPUs get one), so that every node that runs environments is alike.
    head_cpus: int = 1
    cgroups: NodeCgroups | None = None
    quota_unavailable: str | None = None  # why the nodes run without their quota

    def __post_init__(self) -> None:
        if self.cpu_quota is not None:
            # Not "lamina-...": a Lamina server starting removes the lamina-<pid> cgroups beside its
            # own whose pid is gone, and it would take the port for a pid.
            found = NodeCgroups.detect(self.cpu_quota, f"bench-ray-{os.getpid()}-{self.port}")
            if isinstance(found, str):
                self.quota_unavailable = found
            else:
                self.cgroups = found

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def host(self) -> str:
        # Ray gives its nodes the machine's address even when told 127.0.0.1 (services.py's
        # resolve_ip_for_localhost): the traffic stays on this machine either way.
        import ray._private.services as services

        return str(services.get_node_ip_address())  # type: ignore[no-untyped-call]

    def start(self, count: int) -> RayCluster:
        self._start_node(["--head", f"--port={self.port}", "--include-dashboard=false"])
        for _ in range(count - 1):
            self.add()
        return self

    def add(self) -> RayNode:
        return self._start_node([f"--address={self.address}"])

    def _start_node(self, args: list[str]) -> RayNode:
        index = len(self.nodes)
        data = self.directory / f"node{index}"
        data.mkdir(parents=True)
        env = ray_env(LAMINA_DATA_DIR=str(data / "lamina"), LAMINA_NETWORK_RANGE=f"100.{100 + index}.0.0/16",
                      LAMINA_PORT="4566", **HEALTH_CHECKS)  # fmt: skip
        cpus = self.head_cpus if index == 0 else 1
        # Several nodes on one machine: every port of each its own (Ray's defaults are fixed numbers).
        ports = [f"--{name}={free_port()}" for name in (
            "dashboard-agent-listen-port", "dashboard-agent-grpc-port", "metrics-export-port", "runtime-env-agent-port",
            "node-manager-port", "object-manager-port")]  # fmt: skip
        argv = [RAY, "start", *args, *ports, "--min-worker-port=0", "--max-worker-port=0", f"--num-cpus={cpus}",
                f"--memory={NODE_MEMORY_BYTES}", f"--object-store-memory={OBJECT_STORE_BYTES}", "--disable-usage-stats",
                *([f"--temp-dir={self.directory / 'ray'}"] if index == 0 else [])]  # fmt: skip
        join = NodeCgroups.joiner(self.cgroups.node(index)) if self.cgroups is not None and cpus else None
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True, preexec_fn=join)  # fmt: skip
        output, _ = proc.communicate(timeout=120)
        if proc.returncode != 0:
            self.stop()
            raise RuntimeError(f"ray start failed:\n{output}")
        node = RayNode(index, proc.pid, data)
        self.nodes.append(node)
        return node

    @property
    def alive(self) -> list[RayNode]:
        return [n for n in self.nodes if not n.killed]

    def kill(self, node: RayNode) -> None:
        node.killed = True
        try:
            os.killpg(node.pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def alive_in_ray(self) -> int:
        """How many nodes Ray's GCS counts alive (asked directly: no driver, no raylet involved)."""
        from ray._raylet import GcsClient  # type: ignore[attr-defined]

        info = GcsClient(address=self.address).get_all_node_info(timeout=10)
        return sum(1 for node in info.values() if node.state == 0)  # GcsNodeInfo.ALIVE

    def settled(self, timeout: float = 60) -> None:
        """Wait until Ray counts alive exactly the nodes not killed (a driver attaches to any node of
        its machine that Ray counts alive: on one machine, a killed one too until it is declared dead)."""
        deadline = time.monotonic() + timeout
        while self.alive_in_ray() != len(self.alive):
            if time.monotonic() > deadline:
                raise TimeoutError("Ray did not declare the killed nodes dead")
            time.sleep(0.2)

    def stop(self) -> None:
        for node in reversed(self.nodes):
            self.kill(node)
        time.sleep(0.5)
        if self.cgroups is not None:  # after the processes: a cgroup with processes in it cannot go
            self.cgroups.remove()
        shutil.rmtree(self.directory, ignore_errors=True)
