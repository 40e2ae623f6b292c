"""Finding an execution environment's processes from the host, for tests that check they end.

An environment is found by its log stream (``wait_gone``) or by its identity (``identity_processes``,
``wait_identity_gone``): ``"<pid namespace>|<uid>"``, what the test handlers return to name their
environment. In its own PID namespace every environment's pid is 1; its namespace
(``/proc/self/ns/pid`` reads the same from the host) and its uid name it instead.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def namespace_processes(pidns: str, uid: int) -> list[int]:
    """Live host pids of the processes in PID namespace ``pidns`` (``/proc/<pid>/ns/pid``, as the
    environment itself reads it) running as ``uid``: a sandboxed environment's processes."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "ns" / "pid") != pidns:
                continue
            status = dict(line.split(":\t", 1) for line in (entry / "status").read_text().splitlines() if ":\t" in line)
        except (OSError, ValueError):
            continue
        if int(status["Uid"].split()[0]) == uid and status["State"].split()[0] not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def identity_processes(identity: str) -> list[int]:
    """Live host pids of the environment ``identity`` ("<pid namespace>|<uid>")."""
    pidns, uid = identity.rsplit("|", 1)
    return namespace_processes(pidns, int(uid))


def wait_identity_gone(identity: str, timeout: float = 10) -> bool:
    """Whether every process of the environment ``identity`` has ended within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while identity_processes(identity):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def wait_gone(stream: str, timeout: float = 10) -> bool:
    """Whether every process of the environment whose log stream is ``stream`` has ended.

    A runtime that Lamina execs carries ``AWS_LAMBDA_LOG_STREAM_NAME`` in its initial environment,
    which the host reads in ``/proc/<pid>/environ``.
    """
    marker = f"AWS_LAMBDA_LOG_STREAM_NAME={stream}".encode()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = False
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and marker in (entry / "environ").read_bytes().split(b"\0"):
                    alive = "State:\tZ" not in (entry / "status").read_text()
            except OSError:
                continue
            if alive:
                break
        if not alive:
            return True
        time.sleep(0.05)
    return False


def read_all(fd: int) -> bytes:
    """Everything written to the pipe ``fd`` until its write end closes; closes ``fd``."""
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)
