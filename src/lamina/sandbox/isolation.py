"""Which protections this host lets Lamina give each execution environment, found at start-up.

    namespaces   own PID, mount, IPC and network namespaces: PID 1 of its own process tree, a root
                 filesystem of its own (the system's programs and libraries, its code, layers and
                 runtime read-only; a private size-limited /tmp), loopback of its own  (root, Linux)
    users        its own unprivileged uid: no access to other environments' processes, files or
                 Runtime API                                                    (root)
    cgroups      memory limit and accounting (socket buffers too), process-count limit, CPU weight by
                 memory size
    seccomp      a system-call filter (``sandbox/seccomp.py``): no user namespaces, mounts, ptrace,
                 kernel modules or keyrings                         (with namespaces, libseccomp)

Each missing protection is said plainly in the start-up log; Lamina then runs with what it has.
"""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lamina.sandbox.cgroups import Cgroups
from lamina.sandbox.seccomp import Filter, SeccompUnavailable, build_filter

log = logging.getLogger(__name__)

# A range of uids no account on a normal host uses: blocks of one uid per live environment.
UID_BASE = 1_900_000_000
UID_COUNT = 1_000_000
UID_BLOCKS = 2_000

ENTER_SCRIPT = Path(__file__).resolve().parent / "enter.py"


@dataclass(frozen=True)
class Protections:
    namespaces: bool
    users: bool
    cgroups: Cgroups
    seccomp: Filter | None = None  # installed in sandboxed environments only
    seccomp_unavailable: str = ""  # why there is no filter

    @classmethod
    def detect(cls) -> Protections:
        root = os.geteuid() == 0
        namespaces = root and _probe_namespaces()
        filt, why = None, "environments are not sandboxed"
        if namespaces:
            try:
                filt, why = build_filter(), ""
            except SeccompUnavailable as exc:
                why = str(exc)
        return cls(namespaces=namespaces, users=namespaces, cgroups=Cgroups.detect(), seccomp=filt,
                   seccomp_unavailable=why)  # fmt: skip

    def report(self) -> None:
        """Say at start-up what each environment gets and what it lacks."""
        if self.namespaces:
            log.info("isolation: each environment has its own PID, mount, IPC and network namespaces, a root "
                     "filesystem of its own with read-only code and a private /tmp, and its own uid")  # fmt: skip
        else:
            why = "Lamina is not running as root" if os.geteuid() != 0 else "the kernel refused new namespaces"
            log.warning("isolation: NONE (%s): functions share the host's processes, files, network and "
                        "Lamina's uid, and can use Lamina's whole API; /tmp is a per-environment directory with no "
                        "size limit. Run Lamina as root to isolate them (docs/security.md)", why)  # fmt: skip
        cg = self.cgroups
        if cg.bases:
            log.info("cgroups v%d: %s per environment", cg.version, ", ".join(sorted(cg.bases)))
        for controller in cg.missing:
            effect = {
                "memory": "a function over its memory size is stopped after the invocation instead of during it",
                "pids": "no limit on the number of processes a function can start",
                "cpu": "no CPU weighting by memory size",
            }[controller]
            log.warning("cgroups: no writable %s controller: %s", controller, effect)
        if "memory" in cg.bases and not cg.socket_memory:
            log.warning("cgroups v1: socket buffers are not charged to environments (no memory.kmem.tcp): a "
                        "function can hold more memory in sockets than its memory size")  # fmt: skip
        if self.seccomp is not None:
            log.info("seccomp: %d kinds of system call denied in each environment (user namespaces, mounts, "
                     "ptrace, kernel modules, keyrings, ...)", len(self.seccomp.denied))  # fmt: skip
        elif self.namespaces:
            log.warning("seccomp: no system-call filter (%s): functions can create user namespaces and use "
                        "every system call their uid may", self.seccomp_unavailable)  # fmt: skip

    def close(self) -> None:
        self.cgroups.close()


def _probe_namespaces() -> bool:
    try:
        result = subprocess.run([sys.executable, "-s", str(ENTER_SCRIPT), "--probe"], capture_output=True, timeout=10,
                                check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


class UidPool:
    """Hands out a distinct uid to each live environment; released uids are reused last.

    Each pool takes a block of its own at random, so that two Lamina servers on one host do not
    hand out the same uids (their environments must not own each other's processes and files).
    """

    def __init__(self, base: int | None = None, count: int = UID_COUNT) -> None:
        if base is None:
            base = UID_BASE + secrets.randbelow(UID_BLOCKS) * count
        self.base = base
        self._next = base
        self._end = base + count
        self._free: list[int] = []

    def take(self) -> int:
        """A uid no live environment has; fresh ones first, so a uid is reused as late as possible."""
        if self._next < self._end:
            self._next += 1
            return self._next - 1
        if self._free:
            return self._free.pop(0)
        raise RuntimeError("no free environment uid")

    def give_back(self, uid: int) -> None:
        self._free.append(uid)
