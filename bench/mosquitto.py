"""A Mosquitto broker for the IoT scenario: on a loopback port of its own, configured from a file in
the run's scratch folder, started and stopped by ``Processes`` like the servers."""

from __future__ import annotations

import getpass
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from bench.procs import Processes, ServerProcess

MISSING = "mosquitto is not installed (scripts/install/mosquitto.sh)"


def executable() -> str | None:
    found = shutil.which("mosquitto")
    if found is None and Path("/usr/sbin/mosquitto").exists():
        found = "/usr/sbin/mosquitto"
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class Broker:
    server: ServerProcess
    port: int

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


async def start(processes: Processes, path: str, directory: Path) -> Broker:
    """Mosquitto as Debian configures it but for its queue: no limit to the messages it keeps for a
    subscriber that falls behind (the default, 1,000, would drop some of a burst)."""
    directory.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    config = directory / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\n"
        f"user {getpass.getuser()}\n"  # started by root, it would become a user who cannot read this folder
        "allow_anonymous true\n"
        "persistence false\n"
        "max_queued_messages 0\n"
        "log_dest stderr\n"  # unbuffered: its readiness line comes at once
    )  # fmt: skip
    server = ServerProcess("mosquitto", [path, "-c", str(config)], ready=r"mosquitto version \S+ (?P<url>running)",
                           env={}, log=directory / "mosquitto.log")  # fmt: skip
    await processes.start(server)
    return Broker(server, port)
