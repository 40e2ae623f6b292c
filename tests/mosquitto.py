"""A real Mosquitto broker for the tests: on a loopback port of its own, configured from a file in
a temporary directory, stopped (or killed) by its PID. scripts/install/mosquitto.sh installs it."""

from __future__ import annotations

import getpass
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests import brokers


def mosquitto_path() -> str | None:
    return shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if Path(p).exists()), None)


class Mosquitto:
    """``start`` waits until the broker accepts connections; ``kill`` is kill -9 by PID, after
    which ``start`` runs it again on the same port (its persistence file keeps queued messages)."""

    def __init__(self, directory: Path, executable: str, users: Mapping[str, str] | None = None) -> None:
        """``users``: name and password of each client allowed to connect (None: anyone may)."""
        self.directory = directory
        self.executable = executable
        self.port = brokers.free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)
        access = "allow_anonymous true\n"
        if users is not None:
            passwords = directory / "passwords"
            passwords.touch(mode=0o600)
            tool = str(Path(executable).resolve().parent.parent / "bin" / "mosquitto_passwd")
            for user, password in users.items():
                subprocess.run([shutil.which("mosquitto_passwd") or tool, "-b", str(passwords), user, password],
                               check=True, capture_output=True)  # fmt: skip
            access = f"allow_anonymous false\npassword_file {passwords}\n"
        (directory / "mosquitto.conf").write_text(
            f"listener {self.port} 127.0.0.1\n"
            # Started by root, mosquitto would become the mosquitto user, who cannot read this directory.
            f"user {getpass.getuser()}\n"
            f"{access}"
            "persistence true\n"
            f"persistence_location {directory}/\n"
            "autosave_interval 1\n"
            "max_queued_messages 10000\n"
            f"log_dest file {directory}/mosquitto.log\n"
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> Mosquitto:
        self.proc = subprocess.Popen([self.executable, "-c", str(self.directory / "mosquitto.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        brokers.wait_until(self.proc, brokers.listening(self.port), timeout, "mosquitto", pause=0.05)
        return self

    def kill(self) -> None:
        brokers.kill(self.proc)

    def stop(self) -> None:
        brokers.stop(self.proc, 10)


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    executable = mosquitto_path()
    if executable is None:
        pytest.skip("mosquitto is not installed (scripts/install/mosquitto.sh)")
    broker = Mosquitto(tmp_path / "mosquitto", executable).start()
    yield broker
    broker.stop()
