"""Finding an execution environment's processes from the host, for tests that check they end."""

from __future__ import annotations

import time
from pathlib import Path


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
