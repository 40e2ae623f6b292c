"""A fixed CPU capacity for each local Ray node: a cpu cgroup of its own with a CFS quota.

Local nodes share the machine's cores, so adding one adds no CPU; a quota per node (e.g. 0.2 of a
core) gives each the same capacity, as separate machines of one size would have, and lets the
ray scenario show throughput growing with nodes. ``NodeCgroups.detect()`` finds the cpu
controller's hierarchy (cgroup v1's cpu hierarchy, or v2's unified one with the cpu controller)
from /proc/self/cgroup and /proc/mounts, and makes a base cgroup under the caller's own (v1) or the
hierarchy's root (v2, whose other cgroups may not have both processes and children); ``node``
makes one cgroup per node under it, with the quota set, and ``joiner`` returns what a
``preexec_fn`` runs to put the child in it before it execs, so every process the node starts
(Ray's daemons, the Lamina worker, its environments, whose cgroups the worker nests under its own)
counts against the quota. ``remove`` kills what is left in them and removes them, deepest first.

The parsing and the arithmetic are pure functions (tests/unit/test_bench_cpu_quota.py).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PERIOD_US = 100_000  # the kernel's default CFS period
MIN_QUOTA_US = 1_000  # the kernel refuses a smaller quota


@dataclass(frozen=True)
class Hierarchy:
    """Where the cpu controller is: ``mount``, and the cgroup this process is in, relative to it."""

    version: int  # 1 or 2
    mount: Path
    own: str  # e.g. "/" or "/user.slice"

    @property
    def own_path(self) -> Path:
        return self.mount / self.own.lstrip("/")


def quota_files(cores: float, version: int, period_us: int = PERIOD_US) -> dict[str, str]:
    """The files (name -> text) that limit a cgroup to ``cores`` of a core per period."""
    if not 0 < cores < float("inf"):  # NaN too
        raise ValueError(f"a CPU quota must be a positive number of cores, not {cores!r}")
    quota_us = round(cores * period_us)
    if quota_us < MIN_QUOTA_US:
        raise ValueError(f"{cores} of a core is {quota_us} us per {period_us} us period: the kernel's least is "
                         f"{MIN_QUOTA_US} us")  # fmt: skip
    if version == 2:
        return {"cpu.max": f"{quota_us} {period_us}"}
    return {"cpu.cfs_period_us": str(period_us), "cpu.cfs_quota_us": str(quota_us)}


def _unescape(field: str) -> str:
    """A /proc/mounts field, its octal escapes (``\\040`` for a space) decoded."""
    out, i = [], 0
    while i < len(field):
        code = field[i + 1 : i + 4]
        if field[i] == "\\" and len(code) == 3 and all(c in "01234567" for c in code):
            out.append(chr(int(code, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def find_hierarchy(self_cgroup: str, mounts: str, v2_controllers: Callable[[Path], str]) -> Hierarchy | None:
    """The cpu controller's hierarchy, from /proc/self/cgroup's and /proc/mounts' texts: v1's cpu
    hierarchy if one is mounted, else the unified hierarchy if ``v2_controllers(mount)`` (its
    cgroup.controllers) lists cpu; None if neither. Malformed lines are skipped."""
    v1_own: str | None = None
    v2_own: str | None = None
    for line in self_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3 or not parts[2].startswith("/"):
            continue
        hid, controllers, rel = parts
        if hid == "0" and controllers == "":
            v2_own = rel
        elif "cpu" in controllers.split(","):
            v1_own = rel
    v1_mount: Path | None = None
    v2_mount: Path | None = None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        mount, kind, options = Path(_unescape(fields[1])), fields[2], fields[3].split(",")
        if not mount.is_absolute() or ".." in mount.parts:
            continue
        if kind == "cgroup" and "cpu" in options and v1_mount is None:
            v1_mount = mount
        elif kind == "cgroup2" and v2_mount is None:
            v2_mount = mount
    if v1_mount is not None and v1_own is not None:
        return Hierarchy(1, v1_mount, v1_own)
    if v2_mount is not None and v2_own is not None and "cpu" in v2_controllers(v2_mount).split():
        return Hierarchy(2, v2_mount, v2_own)
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


@dataclass
class NodeCgroups:
    """The cgroups of one cluster's nodes, under ``base``; ``detect`` says why there are none."""

    hierarchy: Hierarchy
    base: Path
    cores: float

    @classmethod
    def detect(cls, cores: float, name: str) -> NodeCgroups | str:
        """The base cgroup ``name`` for nodes of ``cores`` each, or why it cannot be made."""
        quota_files(cores, 1)  # a bad quota is the caller's error, not the machine's
        found = find_hierarchy(_read(Path("/proc/self/cgroup")), _read(Path("/proc/mounts")),
                               lambda mount: _read(mount / "cgroup.controllers"))  # fmt: skip
        if found is None:
            return "no cgroup hierarchy with the cpu controller is mounted"
        parent = found.own_path if found.version == 1 else found.mount
        base = parent / name
        try:
            base.mkdir()
            if found.version == 2:
                for cgroup in (found.mount, base):
                    (cgroup / "cgroup.subtree_control").write_text("+cpu")
        except OSError as exc:
            cls(found, base, cores).remove()
            return f"cannot make a cpu cgroup at {base} ({exc.strerror or exc})"
        return cls(found, base, cores)

    def node(self, index: int) -> Path:
        """A cgroup for node ``index``, its quota set (raises OSError if the kernel refuses)."""
        path = self.base / f"node{index}"
        path.mkdir(exist_ok=True)
        for name, value in quota_files(self.cores, self.hierarchy.version).items():
            (path / name).write_text(value)
        return path

    @staticmethod
    def joiner(cgroup: Path) -> Callable[[], None]:
        """What a child runs between fork and exec to join ``cgroup`` (only system calls: no lock
        of the parent's threads is taken in the child)."""
        procs = str(cgroup / "cgroup.procs")

        def join() -> None:
            fd = os.open(procs, os.O_WRONLY)
            try:
                os.write(fd, b"0")  # 0: the writing process itself
            finally:
                os.close(fd)

        return join

    def _tree(self) -> list[Path]:
        """Every cgroup under the base (the base too), deepest first."""
        found: list[Path] = []
        for root, dirs, _ in os.walk(self.base):
            found += [Path(root) / d for d in dirs]
        found.sort(key=lambda p: len(p.parts), reverse=True)
        return [*found, self.base]

    def remove(self, timeout: float = 10) -> None:
        """Kill the processes still in the nodes' cgroups (all started by the cluster: processes
        that left their node's process group, e.g. environments in namespaces of their own), then
        remove the cgroups. Safe to call twice."""
        deadline = time.monotonic() + timeout
        while True:
            tree = self._tree() if self.base.exists() else []
            pids = {int(p) for cgroup in tree for p in _read(cgroup / "cgroup.procs").split() if p.isdigit()}
            if not pids or time.monotonic() > deadline:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        for cgroup in tree:
            try:
                cgroup.rmdir()
            except FileNotFoundError:
                pass
            except OSError as exc:
                print(f"could not remove cgroup {cgroup}: {exc}", file=sys.stderr)
