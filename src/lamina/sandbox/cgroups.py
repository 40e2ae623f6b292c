"""Per-environment control groups: memory limit and accounting, a process-count limit, CPU weight.

``Cgroups.detect()`` finds, for each controller (memory, pids, cpu), a subtree Lamina may write
to: the unified v2 hierarchy, or the controller's own v1 hierarchy. Controllers it cannot use are
left out, and ``missing`` names them so start-up can say so; callers degrade (a memory limit is
then checked after each invocation from the peak RSS).

Socket buffers: v2 charges them to ``memory.max`` with the rest. v1 charges none unless the
cgroup has a ``memory.kmem.tcp.limit_in_bytes``; the kernel then counts the buffers of every
socket its processes create, TCP and UDP alike, against that limit (a counter of its own, beside
``memory.limit_in_bytes``). Each environment's is its memory size, so its sockets hold about that
much at most: a 128 MB function held 134 MB in UDP buffers and 166 MB over 509 loopback TCP
connections (each may always queue a little past the limit), where it held 2.2 GB of UDP buffers
without one. ``socket_memory`` says whether sockets are bounded.

Contract of ``EnvCgroup``: a process joins by writing to each of ``procs``;
``peak_bytes``/``oom_killed`` never raise; ``remove`` is safe to call twice and after the
processes are gone.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids", "cpu")
SERVER = "server"  # the cgroup of Lamina's own process, beside its environments' (named by hex ids)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _write(path: Path, value: str) -> bool:
    try:
        path.write_text(value)
        return True
    except OSError:
        return False


def _write_raw(path: str, value: bytes, *, strict: bool = False) -> bool:
    """Write ``value`` to the cgroup file ``path`` with one open, write and close; False if the
    kernel refused (raises instead with ``strict``)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, value)
        finally:
            os.close(fd)
        return True
    except OSError:
        if strict:
            raise
        return False


class EnvCgroup:
    """One environment's cgroups: a directory per controller hierarchy (one, on v2).

    The files read after every invocation are kept open and re-read with pread: one system call
    each, instead of an open, a read and a close.
    """

    def __init__(self, dirs: dict[str, Path], version: int) -> None:
        self.dirs = dirs  # controller -> directory
        self.version = version
        self._fds: dict[Path, int] = {}
        memory, pids = dirs.get("memory"), dirs.get("pids")
        peak = "memory.peak" if version == 2 else "memory.max_usage_in_bytes"
        self._peak = memory / peak if memory else None
        self._pids_events = pids / "pids.events" if pids else None

    def _pread(self, path: Path) -> str:
        fd = self._fds.get(path)
        try:
            if fd is None:
                fd = self._fds[path] = os.open(path, os.O_RDONLY)
            return os.pread(fd, 4096, 0).decode()
        except OSError:
            return ""

    @property
    def procs(self) -> list[Path]:
        """Each ``cgroup.procs`` a process must be written to, to join all of this environment's cgroups."""
        return sorted({d / "cgroup.procs" for d in self.dirs.values()})

    def peak_bytes(self) -> int:
        text = self._pread(self._peak).strip() if self._peak else ""
        return int(text) if text.isdigit() else 0

    def oom_killed(self) -> bool:
        memory = self.dirs.get("memory")
        if memory is None:
            return False
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        for line in _read(memory / name).splitlines():
            if line.startswith("oom_kill "):
                return line.split()[1] != "0"
        return self.version == 1 and _read(memory / "memory.failcnt").strip() not in ("", "0")

    def pids_limited(self) -> bool:
        """Whether a fork was refused because of the process-count limit."""
        if self._pids_events is None:
            return False
        for line in self._pread(self._pids_events).splitlines():
            if line.startswith("max "):
                return line.split()[1] != "0"
        return False

    def remove(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        for path in set(self.dirs.values()):
            try:
                path.rmdir()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("could not remove cgroup %s: %s", path, exc)


class Cgroups:
    """Creates the cgroups of each execution environment under Lamina's own subtree."""

    def __init__(self, bases: dict[str, Path], version: int, *, socket_memory: bool = False) -> None:
        self.bases = bases  # controller -> Lamina's base directory for it
        self.version = version
        self.socket_memory = socket_memory  # whether socket buffers count against an environment's memory
        self._server: Path | None = None  # where Lamina's own process is (``take_in_server``)

    @property
    def missing(self) -> list[str]:
        return [c for c in CONTROLLERS if c not in self.bases]

    @classmethod
    def detect(cls, name: str = "lamina") -> Cgroups:
        unified = _own_unified()
        if unified is not None:
            _remove_stale(unified, name)
            bases = _probe_v2(unified / f"{name}-{os.getpid()}")
            if bases:
                return cls(bases, 2, socket_memory="memory" in bases)
        bases = {}
        for controller, own in _own_v1().items():
            _remove_stale(own, name)
            base = own / f"{name}-{os.getpid()}"
            if _probe_v1(base, controller):
                bases[controller] = base
        memory = bases.get("memory")
        return cls(bases, 1, socket_memory=memory is not None and _takes_socket_limit(memory))

    def create(self, env_id: str, *, memory_bytes: int, max_pids: int, cpu_weight: int) -> EnvCgroup:
        """Cgroups for one environment; raises OSError if the kernel refuses.

        Plain ``os`` calls on precomputed names rather than ``Path.write_text``: an environment's
        cgroups are made on the event loop's thread at every cold start, where pathlib's text files
        cost twice the system calls' own time."""
        dirs: dict[str, Path] = {}
        try:
            for controller, base in self.bases.items():
                path = base / env_id
                directory = str(path)
                try:
                    os.mkdir(directory)
                except FileExistsError:
                    pass
                dirs[controller] = path
                for name, value, required in self.settings(controller, memory_bytes, max_pids, cpu_weight):
                    _write_raw(f"{directory}/{name}", value, strict=required)
        except OSError:
            EnvCgroup(dirs, self.version).remove()
            raise
        return EnvCgroup(dirs, self.version)

    def settings(self, controller: str, memory_bytes: int, max_pids: int,
                  cpu_weight: int) -> list[tuple[str, bytes, bool]]:  # fmt: skip
        """The files an environment's cgroup of ``controller`` is set up with: (name, value, required)."""
        v2 = self.version == 2
        if controller == "memory":
            memory = str(memory_bytes).encode()
            settings = [("memory.max" if v2 else "memory.limit_in_bytes", memory, True),
                        ("memory.swap.max" if v2 else "memory.memsw.limit_in_bytes", b"0" if v2 else memory, False)]  # fmt: skip
            if not v2 and self.socket_memory:
                settings.append(("memory.kmem.tcp.limit_in_bytes", memory, True))
            return settings
        if controller == "pids":
            return [("pids.max", str(max_pids).encode(), True)]
        if controller == "cpu":
            if v2:
                return [("cpu.weight", str(max(1, min(10000, cpu_weight * 100 // 1024))).encode(), False)]
            return [("cpu.shares", str(max(2, cpu_weight)).encode(), False)]
        return []

    def take_in_server(self) -> None:
        """Move Lamina's own process into ``<base>/server`` of the cpu hierarchy, beside its
        environments' cgroups, weighted as a function of 1,024 MB.

        Its threads (the data plane's, the event loop's) and its environments then share the CPU as
        siblings of one cgroup. Left where it started, in the root cgroup of a kernel with autogroups
        on (most distributions' default), the server is a scheduling group of its own beside the
        group that holds every environment, and under load an invocation's runtime waited up to
        100-250 ms for a core (docs/benchmarks.md, "Where a slow request waited")."""
        base = self.bases.get("cpu")
        if base is None:
            return
        server = base / SERVER
        try:
            server.mkdir(exist_ok=True)
            _write_raw(str(server / "cgroup.procs"), str(os.getpid()).encode(), strict=True)
        except OSError as exc:
            log.info("cgroups: Lamina's own process stays in %s (%s): it competes with its environments "
                     "for the CPU from outside their cgroup", base.parent, exc)  # fmt: skip
            try:
                server.rmdir()
            except OSError:
                pass
            return
        self._server = server

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:  # back where it started, or its cgroup cannot be removed
            _write_raw(str(server.parent.parent / "cgroup.procs"), str(os.getpid()).encode())
            try:
                server.rmdir()
            except OSError as exc:
                log.warning("could not remove cgroup %s: %s", server, exc)
        for base in set(self.bases.values()):
            try:
                base.rmdir()
            except OSError:
                pass


def _remove_stale(parent: Path, name: str) -> None:
    """Remove the (empty) cgroups a Lamina that was killed left behind: ``<name>-<pid>`` of dead pids."""
    try:
        entries = list(parent.glob(f"{name}-*"))
    except OSError:
        return
    for base in entries:
        pid = base.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or Path(f"/proc/{pid}").exists():
            continue
        try:  # its Lamina may be removing it right now (it ended between /proc and here)
            children = sorted(base.glob("*/"), reverse=True)
        except OSError:
            continue
        for child in children:
            try:
                child.rmdir()
            except OSError:
                pass
        try:
            base.rmdir()
            log.info("removed cgroup %s left by a Lamina that stopped without cleaning up", base)
        except OSError:
            pass


def _own_unified() -> Path | None:
    for line in _read(Path("/proc/self/cgroup")).splitlines():
        hid, controllers, rel = line.split(":", 2)
        if hid == "0" and controllers == "":
            for mount in (CGROUP_ROOT, CGROUP_ROOT / "unified"):
                if "memory" in _read(mount / "cgroup.controllers"):
                    return mount / rel.lstrip("/")
    return None


def _own_v1() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for line in _read(Path("/proc/self/cgroup")).splitlines():
        hid, controllers, rel = line.split(":", 2)
        for controller in controllers.split(","):
            if controller in CONTROLLERS:
                mount = CGROUP_ROOT / controllers  # e.g. cpu,cpuacct; often also linked as cpu
                if not mount.exists():
                    mount = CGROUP_ROOT / controller
                found[controller] = mount / rel.lstrip("/")
    return found


def _probe_v1(base: Path, controller: str) -> bool:
    knob, value = {"memory": ("memory.limit_in_bytes", str(64 << 20)), "pids": ("pids.max", "64"),
                   "cpu": ("cpu.shares", "512")}[controller]  # fmt: skip
    probe = base / "probe"
    try:
        base.mkdir(exist_ok=True)
        probe.mkdir(exist_ok=True)
        (probe / knob).write_text(value)
        probe.rmdir()
        return True
    except OSError as exc:
        log.debug("cgroup v1 %s at %s not usable: %s", controller, base, exc)
        for path in (probe, base):
            try:
                path.rmdir()
            except OSError:
                pass
        return False


def _takes_socket_limit(memory_base: Path) -> bool:
    """Whether a v1 memory cgroup under ``memory_base`` takes a limit on its socket buffers."""
    probe = memory_base / "probe"
    try:
        probe.mkdir(exist_ok=True)
        try:
            (probe / "memory.kmem.tcp.limit_in_bytes").write_text(str(64 << 20))
        finally:
            probe.rmdir()
        return True
    except OSError as exc:
        log.debug("cgroup v1 socket memory limit at %s not usable: %s", memory_base, exc)
        return False


def _probe_v2(base: Path) -> dict[str, Path]:
    """Enable what v2 lets us under ``base``; a v2 leaf can't have both processes and children."""
    try:
        base.mkdir(exist_ok=True)
    except OSError as exc:
        log.debug("cgroup v2 at %s not usable: %s", base, exc)
        return {}
    bases = {}
    for controller in CONTROLLERS:
        if _write(base / "cgroup.subtree_control", f"+{controller}"):
            bases[controller] = base
    if not bases:
        try:
            base.rmdir()
        except OSError:
            pass
    return bases
