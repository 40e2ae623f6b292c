"""A real Apache Kafka broker for the tests: one KRaft node (broker and controller) on loopback
ports of its own, its storage in a temporary directory, run from the jars scripts/install/kafka.sh
copies into ~/.cache/lamina/kafka-<version>/ (LAMINA_KAFKA_HOME overrides it), stopped (or
killed) by its PID. ``stop`` then ``start`` brings it back on the same ports with its data.

``Kafka(..., sasl=True)`` (the ``kafka_sasl`` fixture) also listens on a SASL_PLAINTEXT port
(``sasl_bootstrap``) taking PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, each with a user of its own
(``USERS``; the SCRAM ones added when the storage is formatted); its PLAINTEXT port stays open,
for the tests' own producer and admin client.

``Kafka(..., tls=True)`` (the ``kafka_tls`` fixture) makes a CA of its own (``tests/certificates.py``)
and listens with TLS too, its certificate issued for localhost and 127.0.0.1 in a PEM keystore: on
``ssl_bootstrap`` (SSL, no client certificate asked), ``mtls_bootstrap`` (SSL, a client certificate
signed by its CA required: ``client``) and ``sasl_ssl_bootstrap`` (SASL_SSL, PLAIN's user of
``USERS``)."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import brokers, certificates

VERSION = "4.1.1"  # scripts/install/kafka-pom.xml's


# SASL mechanism -> (user, password) the ``sasl=True`` broker knows.
USERS = {"PLAIN": ("plain-user", "plain-password"), "SCRAM-SHA-256": ("scram256-user", "scram256-password"),
         "SCRAM-SHA-512": ("scram512-user", "scram512-password")}  # fmt: skip


def _sasl_config() -> str:
    plain_user, plain_password = USERS["PLAIN"]
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    return (
        "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512\n"
        "listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule "
        f'required user_{plain_user}="{plain_password}";\n'
        f"listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config={scram}\n"
        f"listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config={scram}\n"
    )


def _tls_config(keystore: Path, truststore: Path, sasl: bool) -> str:
    plain_user, plain_password = USERS["PLAIN"]
    return (
        "ssl.keystore.type=PEM\n"
        f"ssl.keystore.location={keystore}\n"
        "ssl.truststore.type=PEM\n"
        f"ssl.truststore.location={truststore}\n"
        "listener.name.mtls.ssl.client.auth=required\n"
        + ("" if sasl else "sasl.enabled.mechanisms=PLAIN\n")
        + "listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule "
        f'required user_{plain_user}="{plain_password}";\n'
    )


def kafka_home() -> Path:
    return Path(os.environ.get("LAMINA_KAFKA_HOME") or Path.home() / ".cache" / "lamina" / f"kafka-{VERSION}")


def cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


class Kafka:
    def __init__(self, directory: Path, home: Path, *, sasl: bool = False, tls: bool = False) -> None:
        self.directory = directory
        self.home = home
        self.port = brokers.free_port()
        self.controller_port = brokers.free_port()
        self.sasl_port = brokers.free_port() if sasl else None
        listeners = f"PLAINTEXT://127.0.0.1:{self.port}"
        if self.sasl_port is not None:
            listeners += f",SASL_PLAINTEXT://127.0.0.1:{self.sasl_port}"
        self.proc: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)
        self.ca: certificates.Issued | None = None
        self.client: certificates.Issued | None = None
        self.tls_ports: tuple[int, int, int] | None = None
        tls_config = ""
        if tls:
            self.ca = certificates.authority("Lamina test Kafka CA")
            self.client = certificates.issue(self.ca, "lamina-client", server=False)
            server = certificates.issue(self.ca, "localhost", server=True)
            keystore = directory / "keystore.pem"
            keystore.touch(0o600)
            keystore.write_text(server.key + server.chain)
            truststore = directory / "truststore.pem"
            truststore.write_text(self.ca.certificate)
            self.tls_ports = (brokers.free_port(), brokers.free_port(), brokers.free_port())
            ssl_port, mtls_port, sasl_ssl_port = self.tls_ports
            listeners += (f",SSL://127.0.0.1:{ssl_port},MTLS://127.0.0.1:{mtls_port}"
                          f",SASL_SSL://127.0.0.1:{sasl_ssl_port}")  # fmt: skip
            tls_config = _tls_config(keystore, truststore, sasl)
        self.config = directory / "server.properties"
        self.config.write_text(
            "process.roles=broker,controller\n"
            "node.id=1\n"
            f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}\n"
            f"listeners={listeners},CONTROLLER://127.0.0.1:{self.controller_port}\n"
            f"advertised.listeners={listeners}\n"
            "controller.listener.names=CONTROLLER\n"
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT,"
            "SSL:SSL,MTLS:SSL,SASL_SSL:SASL_SSL\n"
            "inter.broker.listener.name=PLAINTEXT\n"
            f"log.dirs={directory / 'data'}\n"
            "num.partitions=1\n"
            "offsets.topic.replication.factor=1\n"
            "offsets.topic.num.partitions=1\n"
            "transaction.state.log.replication.factor=1\n"
            "transaction.state.log.min.isr=1\n"
            "share.coordinator.state.topic.replication.factor=1\n"
            "group.initial.rebalance.delay.ms=0\n"
            "auto.create.topics.enable=false\n"
            + (_sasl_config() if self.sasl_port is not None else "")
            + tls_config
        )  # fmt: skip
        scram = [arg for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-512") if self.sasl_port is not None
                 for arg in ("--add-scram", f"{mechanism}=[name={USERS[mechanism][0]},password={USERS[mechanism][1]}]")]  # fmt: skip
        # --cluster-id=<id>: an id may begin with "-" (base64url), which as a separate argument would read as an option.
        self._java(["kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id()}",
                    "-c", str(self.config), *scram], check=True)  # fmt: skip

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def sasl_bootstrap(self) -> str:
        assert self.sasl_port is not None, "a broker started with sasl=True"
        return f"127.0.0.1:{self.sasl_port}"

    def _tls_port(self, index: int) -> str:
        assert self.tls_ports is not None, "a broker started with tls=True"
        return f"127.0.0.1:{self.tls_ports[index]}"

    @property
    def ssl_bootstrap(self) -> str:
        """TLS, the broker's certificate signed by ``ca``; no client certificate asked."""
        return self._tls_port(0)

    @property
    def mtls_bootstrap(self) -> str:
        """TLS with a client certificate signed by ``ca`` required."""
        return self._tls_port(1)

    @property
    def sasl_ssl_bootstrap(self) -> str:
        """SASL/PLAIN (``USERS["PLAIN"]``) over TLS."""
        return self._tls_port(2)

    def _command(self, args: list[str]) -> list[str]:
        java = shutil.which("java") or "java"
        return [java, "-Xms128m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", str(self.home / "libs" / "*"), *args]  # fmt: skip

    def _java(self, args: list[str], check: bool = False) -> None:
        done = subprocess.run(self._command(args), capture_output=True, text=True)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")

    def start(self, timeout: float = 90) -> Kafka:
        with (self.directory / "kafka.log").open("ab") as log:
            self.proc = subprocess.Popen(self._command(["kafka.Kafka", str(self.config)]), stdout=log, stderr=log)
        brokers.wait_until(self.proc, brokers.listening(self.port), timeout, f"kafka (see {self.directory / 'kafka.log'})")
        return self

    def kill(self) -> None:
        brokers.kill(self.proc)

    def stop(self) -> None:
        brokers.stop(self.proc, 30)


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kafka]:
    home = kafka_home()
    if not (home / ".complete").exists():
        pytest.skip("Apache Kafka is not installed (scripts/install/kafka.sh)")
    broker = Kafka(tmp_path_factory.mktemp("kafka"), home).start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def kafka_sasl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kafka]:
    """A broker that also takes SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512: ``USERS``) on ``sasl_bootstrap``."""
    home = kafka_home()
    if not (home / ".complete").exists():
        pytest.skip("Apache Kafka is not installed (scripts/install/kafka.sh)")
    broker = Kafka(tmp_path_factory.mktemp("kafka-sasl"), home, sasl=True).start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def kafka_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kafka]:
    """A broker with TLS listeners too (``ssl_bootstrap``, ``mtls_bootstrap``, ``sasl_ssl_bootstrap``),
    its CA ``ca`` and a client certificate ``client`` of its own."""
    home = kafka_home()
    if not (home / ".complete").exists():
        pytest.skip("Apache Kafka is not installed (scripts/install/kafka.sh)")
    broker = Kafka(tmp_path_factory.mktemp("kafka-tls"), home, tls=True).start()
    yield broker
    broker.stop()


@pytest.fixture
def make_kafka(tmp_path: Path) -> Iterator[Callable[[], Kafka]]:
    """A factory of brokers of the test's own (for tests that stop or restart theirs), stopped after it."""
    home = kafka_home()
    if not (home / ".complete").exists():
        pytest.skip("Apache Kafka is not installed (scripts/install/kafka.sh)")
    started: list[Kafka] = []

    def make() -> Kafka:
        broker = Kafka(tmp_path / f"kafka-{len(started)}", home).start()
        started.append(broker)
        return broker

    yield make
    for broker in started:
        broker.stop()


# -- a real aiokafka client, run to completion for each call (the tests are synchronous) ---------


def create_topic(bootstrap: str, name: str, partitions: int = 1) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    async def run() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(name, partitions, 1)])
        finally:
            await admin.close()

    asyncio.run(run())


@dataclass(frozen=True)
class Produced:
    partition: int
    offset: int
    value: bytes


def produce(bootstrap: str, topic: str, values: Sequence[bytes | str], *, partition: int | None = None,
            key: bytes | None = None, headers: Sequence[tuple[str, bytes]] = ()) -> list[Produced]:  # fmt: skip
    """Send ``values`` in order (to ``partition``, or spread round-robin over the topic's partitions)."""
    from aiokafka import AIOKafkaProducer

    async def run() -> list[Produced]:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            count = len(await producer.partitions_for(topic))
            sent = []
            for i, value in enumerate(values):
                data = value.encode() if isinstance(value, str) else value
                target = partition if partition is not None else i % count
                meta = await producer.send_and_wait(topic, data, key=key, partition=target, headers=list(headers))
                sent.append(Produced(meta.partition, meta.offset, data))
            return sent
        finally:
            await producer.stop()

    return asyncio.run(run())


def committed(bootstrap: str, group: str, topic: str, partitions: int = 1) -> dict[int, int | None]:
    """The consumer group's committed offset of each of ``topic``'s partitions (None: none yet)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    async def run() -> dict[int, int | None]:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
        await consumer.start()
        try:
            return {p: await consumer.committed(TopicPartition(topic, p)) for p in range(partitions)}
        finally:
            await consumer.stop()

    return asyncio.run(run())
