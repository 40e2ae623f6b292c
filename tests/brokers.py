"""What the tests' brokers (Kafka, Mosquitto, RabbitMQ) share: free loopback ports, waiting for a
broker's process to answer, and stopping it by its PID."""

from __future__ import annotations

import itertools
import os
import random
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable


def free_port() -> int:
    """A loopback port nothing listens on now, for a broker about to listen on it.

    Not one the kernel hands out (port 0): a port bound, closed and given to a broker that binds it
    seconds later could meanwhile be taken by any outgoing connection of the tests, which take
    theirs from the same ephemeral range. So the port comes from below that range, from this
    pytest-xdist worker's own share of it (no two workers hand out the same one), in turn from a
    random start (two runs at once rarely meet), and only once nothing is bound to it.
    """
    low, high = _ports_share()
    span = high - low
    for _ in range(span):
        port = low + (next(_turn) % span)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free loopback port in {low}-{high - 1}")


FIRST_PORT = 10_000  # above the usual services' ports


def _ports_share() -> tuple[int, int]:
    """[low, high) of the ports this worker hands out: its share of FIRST_PORT up to the kernel's
    ephemeral range."""
    try:
        ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral = 32768
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    share = (ephemeral - FIRST_PORT) // max(workers, 1)
    low = FIRST_PORT + (worker % max(workers, 1)) * share
    return low, low + share


# Where free_port goes on from: a random start, then in turn (one process never hands a port out
# twice while the share lasts).
_turn = itertools.count(random.randrange(1 << 16))


def listening(port: int) -> Callable[[], bool]:
    """Whether something accepts connections on the loopback ``port``."""

    def check() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    return check


def wait_until(proc: subprocess.Popen[bytes], ready: Callable[[], bool], timeout: float, name: str,
               pause: float = 0.1) -> None:  # fmt: skip
    """Until ``ready()``; RuntimeError if ``proc`` exits first or ``timeout`` passes (``name`` says
    which broker, and where its log is)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}")
        if ready():
            return
        time.sleep(pause)
    raise RuntimeError(f"{name} did not start listening")


def kill(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait()


def stop(proc: subprocess.Popen[bytes] | None, grace: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``grace`` seconds."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            kill(proc)
