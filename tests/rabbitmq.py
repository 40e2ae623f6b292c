"""A real RabbitMQ node for the tests: Debian's rabbitmq-server (scripts/install/rabbitmq.sh) run as
the user running the tests, on free loopback ports, with its data, logs and configuration in a
temporary directory and an epmd of its own (started here, so that it too is stopped by PID); the
management plugin off. ``stop`` and ``start`` restart it on the same port, its durable queues and
persistent messages kept.

``RabbitMQ(..., tls=True)`` (the ``rabbitmq_tls`` fixture, a node of its own started only for the
tests that ask for it) also listens for AMQP over TLS on ``tls_port``, its certificate issued for
localhost and 127.0.0.1 by a CA of its own (``ca``, tests/certificates.py)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import brokers, certificates

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"  # not /usr/sbin's wrapper, which becomes the rabbitmq user
USER, PASSWORD, VHOST = "lamina", "s3cret pass", "lamina-vhost"


class RabbitMQ:
    """One node; its default user is ``USER``/``PASSWORD`` and its only vhost ``VHOST``."""

    def __init__(self, directory: Path, *, tls: bool = False) -> None:
        self.directory = directory
        self.port = brokers.free_port()
        self.tls_port = brokers.free_port() if tls else None
        self.ca = certificates.authority("Lamina test RabbitMQ CA") if tls else None
        self.epmd_port = brokers.free_port()
        self.dist_port = brokers.free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.epmd: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            f"default_user = {USER}\n"
            f"default_pass = {PASSWORD}\n"
            f"default_vhost = {VHOST}\n"
            "loopback_users = none\n"
            "log.console = false\n"
            + self._tls_config()
        )  # fmt: skip
        (directory / "enabled_plugins").write_text("[].\n")
        (directory / "home").mkdir(exist_ok=True)
        self.env = {
            **os.environ, "HOME": str(directory / "home"), "ERL_EPMD_PORT": str(self.epmd_port),
            "RABBITMQ_NODENAME": f"lamina{self.port}@localhost", "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port), "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(directory / "mnesia"), "RABBITMQ_LOG_BASE": str(directory / "log"),
            "RABBITMQ_CONFIG_FILE": str(directory / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(directory / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(directory / "rabbitmq.pid"), "RABBITMQ_USE_LONGNAME": "false",
        }  # fmt: skip

    def _tls_config(self) -> str:
        if self.ca is None:
            return ""
        server = certificates.issue(self.ca, "localhost", server=True)
        cert, key = server.write(self.directory / "tls", "server")
        ca = self.directory / "tls" / "ca.pem"
        ca.write_text(self.ca.certificate)
        return (
            f"listeners.ssl.default = 127.0.0.1:{self.tls_port}\n"
            f"ssl_options.cacertfile = {ca}\n"
            f"ssl_options.certfile = {cert}\n"
            f"ssl_options.keyfile = {key}\n"
            "ssl_options.verify = verify_none\n"
            "ssl_options.fail_if_no_peer_cert = false\n"
        )

    def url(self, vhost: str | None = None) -> str:
        path = "" if vhost is None else "/" + vhost.replace("/", "%2F")
        return f"amqp://{USER}:{PASSWORD.replace(' ', '%20')}@127.0.0.1:{self.port}{path}"

    def tls_url(self, vhost: str | None = None, *, credentials: bool = True) -> str:
        """The TLS listener's amqps:// URL (without the user and password: ``credentials=False``)."""
        assert self.tls_port is not None, "a node started with tls=True"
        path = "" if vhost is None else "/" + vhost.replace("/", "%2F")
        user = f"{USER}:{PASSWORD.replace(' ', '%20')}@" if credentials else ""
        return f"amqps://{user}127.0.0.1:{self.tls_port}{path}"

    def start(self, timeout: float = 90) -> RabbitMQ:
        if self.epmd is None or self.epmd.poll() is not None:
            self.epmd = subprocess.Popen([shutil.which("epmd") or "epmd", "-port", str(self.epmd_port)],
                                         env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        with (self.directory / "server.out").open("ab") as log:
            self.proc = subprocess.Popen([SERVER], env=self.env, cwd=self.directory, stdout=log, stderr=log,
                                         start_new_session=True)  # fmt: skip
        brokers.wait_until(self.proc, self._answers, timeout, f"rabbitmq-server (see {self.directory})", pause=0.2)
        return self

    def _answers(self) -> bool:
        """Whether the node speaks AMQP: it answers a protocol header with Connection.Start."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(b"AMQP\x00\x00\x09\x01")
                return s.recv(1)[:1] == b"\x01"
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM to the node's process group (the server script, beam and its helpers), by PID."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc is not None:
            try:  # helpers (erl_child_setup, inet_gethost) left in the group
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        self.stop()
        if self.epmd is not None and self.epmd.poll() is None:
            self.epmd.terminate()
            self.epmd.wait(10)


@pytest.fixture(scope="session")
def rabbitmq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitMQ]:
    if not Path(SERVER).exists():
        pytest.skip("rabbitmq-server is not installed (scripts/install/rabbitmq.sh)")
    node = RabbitMQ(tmp_path_factory.mktemp("rabbitmq")).start()
    yield node
    node.close()


@pytest.fixture(scope="session")
def rabbitmq_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitMQ]:
    """A node of its own with a TLS listener too (``tls_url``, its CA ``ca``)."""
    if not Path(SERVER).exists():
        pytest.skip("rabbitmq-server is not installed (scripts/install/rabbitmq.sh)")
    node = RabbitMQ(tmp_path_factory.mktemp("rabbitmq-tls"), tls=True).start()
    yield node
    node.close()
