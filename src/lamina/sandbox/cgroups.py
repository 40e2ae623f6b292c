"""Memory limits and accounting through Linux control groups (v2, or v1 where that is what's mounted).

``MemoryControl.detect()`` finds a cgroup subtree Lamina may write to and returns ``None`` where
there is none (no cgroupfs, read-only, not permitted): callers then degrade to checking each
environment's peak RSS after every invocation. Contract of ``MemoryCgroup``: ``add`` must be called
with a live pid; ``peak_bytes``/``oom_killed`` never raise (they read 0/False once removed);
``remove`` is safe to call twice and after the processes are gone.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


@dataclass(frozen=True)
class MemoryCgroup:
    path: Path
    version: int

    @property
    def procs(self) -> Path:
        """Write a pid here to move that process into the cgroup."""
        return self.path / "cgroup.procs"

    def peak_bytes(self) -> int:
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        text = _read(self.path / name).strip()
        return int(text) if text.isdigit() else 0

    def oom_killed(self) -> bool:
        if self.version == 2:
            events = _read(self.path / "memory.events")
            return any(line.split()[1] != "0" for line in events.splitlines() if line.startswith("oom_kill "))
        control = _read(self.path / "memory.oom_control")
        kills = [line.split()[1] for line in control.splitlines() if line.startswith("oom_kill ")]
        if kills:
            return kills[0] != "0"
        return _read(self.path / "memory.failcnt").strip() not in ("", "0")

    def remove(self) -> None:
        try:
            self.path.rmdir()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("could not remove cgroup %s: %s", self.path, exc)


class MemoryControl:
    """Creates one memory cgroup per execution environment under Lamina's own subtree."""

    def __init__(self, base: Path, version: int) -> None:
        self.base = base
        self.version = version

    @classmethod
    def detect(cls, name: str = "lamina") -> MemoryControl | None:
        for version, own in _own_memory_cgroups():
            base = own / f"{name}-{os.getpid()}"
            try:
                base.mkdir(exist_ok=True)
                if version == 2:
                    (base / "cgroup.subtree_control").write_text("+memory")
                probe = base / "probe"
                probe.mkdir(exist_ok=True)
                limit = "memory.max" if version == 2 else "memory.limit_in_bytes"
                (probe / limit).write_text(str(64 * 1024 * 1024))
                probe.rmdir()
                return cls(base, version)
            except OSError as exc:
                log.debug("cgroup v%d at %s not usable: %s", version, own, exc)
                try:
                    base.rmdir()
                except OSError:
                    pass
        return None

    def create(self, env_id: str, limit_bytes: int) -> MemoryCgroup:
        path = self.base / env_id
        path.mkdir()
        if self.version == 2:
            (path / "memory.max").write_text(str(limit_bytes))
            if (path / "memory.swap.max").exists():
                (path / "memory.swap.max").write_text("0")
        else:
            (path / "memory.limit_in_bytes").write_text(str(limit_bytes))
            memsw = path / "memory.memsw.limit_in_bytes"
            if memsw.exists():
                try:
                    memsw.write_text(str(limit_bytes))
                except OSError:
                    pass
        return MemoryCgroup(path, self.version)

    def close(self) -> None:
        try:
            self.base.rmdir()
        except OSError:
            pass


def _own_memory_cgroups() -> list[tuple[int, Path]]:
    """Where this process sits in the memory hierarchy: v2 first, then v1."""
    found: list[tuple[int, Path]] = []
    for line in _read(Path("/proc/self/cgroup")).splitlines():
        hid, controllers, rel = line.split(":", 2)
        rel = rel.lstrip("/")
        if hid == "0" and controllers == "":
            for mount in (CGROUP_ROOT, CGROUP_ROOT / "unified"):
                if (mount / "cgroup.controllers").exists() and "memory" in _read(mount / "cgroup.controllers"):
                    found.insert(0, (2, mount / rel))
        elif "memory" in controllers.split(","):
            found.append((1, CGROUP_ROOT / "memory" / rel))
    return found
