"""What the tests' brokers (Kafka, Mosquitto, RabbitMQ) share: free loopback ports, waiting for a
broker's process to answer, and stopping it by its PID."""

from __future__ import annotations

import socket
import subprocess
import time
from typing import Callable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


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
