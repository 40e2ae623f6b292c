"""A Kafka mapping's own options, as CreateEventSourceMapping takes them and checks them (pure).

SelfManagedEventSource.Endpoints.KAFKA_BOOTSTRAP_SERVERS, Topics (one), StartingPosition
(TRIM_HORIZON or LATEST: with-kafka.md lists no AT_TIMESTAMP for self-managed Kafka),
SelfManagedKafkaEventSourceConfig.ConsumerGroupId (default: the mapping's UUID), all set only on
Create; DestinationConfig.OnFailure (one of Lamina's SQS queues) and MaximumRetryAttempts, also on
Update. SourceAccessConfigurations naming VPC parts are kept and mean nothing here (Lamina reaches
brokers directly). The others name Secrets Manager secrets Lamina reads from LAMINA_SECRETS_FILE
(lamina/secrets.py) when the mapping starts: at most one authentication method, BASIC_AUTH
(SASL/PLAIN), SASL_SCRAM_256_AUTH, SASL_SCRAM_512_AUTH (a username and password) or
CLIENT_CERTIFICATE_TLS_AUTH (mTLS: a certificate and its private key), and at most one
SERVER_ROOT_CA_CERTIFICATE (the CA that signed the brokers' certificates). Which security protocol
that comes to is ``security_protocol``: TLS with a client certificate or a root CA (SSL, or
SASL_SSL with SASL), else plaintext (PLAINTEXT, or SASL_PLAINTEXT with SASL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Mapping

from lamina.errors import InvalidParameterValue, ValidationError
from lamina.mappings.on_failure import destination as on_failure_destination

DEFAULT_BATCH = 100
DEFAULT_WINDOW_SECONDS = 0.5  # Kafka's default batching window (invocation-eventsourcemapping.md)
POSITIONS = ("TRIM_HORIZON", "LATEST")
_ENDPOINT = re.compile(
    r"^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])\.)*([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9\-]*[A-Za-z0-9]):[0-9]{1,5}$"
)
_TOPIC = re.compile(r"^[^.]([a-zA-Z0-9\-_.]+)$")
_NETWORK_ACCESS = ("VPC_SUBNET", "VPC_SECURITY_GROUP")
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$")
# SASL, the secret's username and password read from LAMINA_SECRETS_FILE: the
# SourceAccessConfiguration's Type -> aiokafka's sasl_mechanism.
SASL = {"BASIC_AUTH": "PLAIN", "SASL_SCRAM_256_AUTH": "SCRAM-SHA-256", "SASL_SCRAM_512_AUTH": "SCRAM-SHA-512"}
CLIENT_CERTIFICATE = "CLIENT_CERTIFICATE_TLS_AUTH"
ROOT_CA = "SERVER_ROOT_CA_CERTIFICATE"
_SECRETS = (*SASL, CLIENT_CERTIFICATE, ROOT_CA)  # the access types whose URI is a secret's ARN
# Stream options AWS does not take for self-managed Kafka (on-demand pollers).
UNSUPPORTED = ("BisectBatchOnFunctionError", "MaximumRecordAgeInSeconds", "ParallelizationFactor",
               "TumblingWindowInSeconds", "StartingPositionTimestamp", "Queues", "AmazonManagedKafkaEventSourceConfig",
               "DocumentDBEventSourceConfig")  # fmt: skip


@dataclass(frozen=True, slots=True)
class KafkaOptions:
    bootstrap_servers: tuple[str, ...]
    topic: str
    starting_position: str
    consumer_group_id: str
    window_given: bool  # MaximumBatchingWindowInSeconds was set (else Kafka's 0.5 s applies)
    access: tuple[tuple[str, str], ...] = ()  # SourceAccessConfigurations (Type, URI): VPC parts, secrets
    on_failure: str | None = None  # DestinationConfig.OnFailure.Destination: an SQS queue's ARN
    maximum_retry_attempts: int = -1  # -1: retry until the batch succeeds

    @property
    def sasl(self) -> tuple[str, str] | None:
        """The SASL mechanism (aiokafka's name) and the secret's ARN, if the mapping authenticates."""
        for kind, uri in self.access:
            if kind in SASL:
                return SASL[kind], uri
        return None

    def _secret(self, kind: str) -> str | None:
        return next((uri for k, uri in self.access if k == kind), None)

    @property
    def client_certificate(self) -> str | None:
        """CLIENT_CERTIFICATE_TLS_AUTH's secret ARN (mTLS), if the mapping names one."""
        return self._secret(CLIENT_CERTIFICATE)

    @property
    def root_ca(self) -> str | None:
        """SERVER_ROOT_CA_CERTIFICATE's secret ARN, if the mapping names one."""
        return self._secret(ROOT_CA)

    @property
    def tls(self) -> bool:
        return self.client_certificate is not None or self.root_ca is not None

    @property
    def security_protocol(self) -> str:
        """Kafka's name for how the mapping connects: TLS when it names a client certificate or a
        root CA, SASL when it names credentials."""
        if self.tls:
            return "SASL_SSL" if self.sasl is not None else "SSL"
        return "SASL_PLAINTEXT" if self.sasl is not None else "PLAINTEXT"

    @property
    def bootstrap(self) -> str:
        return ",".join(self.bootstrap_servers)

    def window_seconds(self, batching_window: int) -> float:
        return float(batching_window) if self.window_given else DEFAULT_WINDOW_SECONDS

    def doc(self) -> dict[str, object]:
        return {
            "BootstrapServers": list(self.bootstrap_servers), "Topic": self.topic,
            "StartingPosition": self.starting_position, "ConsumerGroupId": self.consumer_group_id,
            "WindowGiven": self.window_given, "Access": [list(a) for a in self.access],
            "OnFailure": self.on_failure, "MaximumRetryAttempts": self.maximum_retry_attempts,
        }  # fmt: skip

    @classmethod
    def from_doc(cls, doc: Mapping[str, object]) -> KafkaOptions:
        servers, access, retries = doc["BootstrapServers"], doc.get("Access") or [], doc.get("MaximumRetryAttempts")
        assert isinstance(servers, list) and isinstance(access, list)
        on_failure = doc.get("OnFailure")
        return cls(
            bootstrap_servers=tuple(str(s) for s in servers), topic=str(doc["Topic"]),
            starting_position=str(doc["StartingPosition"]), consumer_group_id=str(doc["ConsumerGroupId"]),
            window_given=bool(doc.get("WindowGiven")), access=tuple((str(a[0]), str(a[1])) for a in access),
            on_failure=str(on_failure) if on_failure else None,
            maximum_retry_attempts=retries if isinstance(retries, int) else -1,
        )  # fmt: skip

    def document(self) -> dict[str, object]:
        """The Kafka part of ``EventSourceMappingConfiguration``."""
        doc: dict[str, object] = {
            "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": list(self.bootstrap_servers)}},
            "Topics": [self.topic],
            "StartingPosition": self.starting_position,
            "SelfManagedKafkaEventSourceConfig": {"ConsumerGroupId": self.consumer_group_id},
            "SourceAccessConfigurations": [{"Type": t, "URI": u} for t, u in self.access],
            "MaximumRetryAttempts": self.maximum_retry_attempts,
        }
        if self.on_failure is not None:
            doc["DestinationConfig"] = {"OnFailure": {"Destination": self.on_failure}}
        return doc


def _errors(found: list[str]) -> ValidationError:
    noun = "error" if len(found) == 1 else "errors"
    return ValidationError(f"{len(found)} validation {noun} detected: " + "; ".join(found))


def _servers(source: object) -> tuple[str, ...]:
    endpoints = source.get("Endpoints") if isinstance(source, dict) else None
    servers = endpoints.get("KAFKA_BOOTSTRAP_SERVERS") if isinstance(endpoints, dict) else None
    if not isinstance(endpoints, dict) or set(endpoints) != {"KAFKA_BOOTSTRAP_SERVERS"}:
        raise InvalidParameterValue("Unsupported endpoint type. Valid types: [KAFKA_BOOTSTRAP_SERVERS]")
    if not isinstance(servers, list) or not servers or not all(isinstance(s, str) for s in servers):
        raise InvalidParameterValue("KAFKA_BOOTSTRAP_SERVERS must list at least one broker as host:port.")
    if len(servers) > 10:
        raise _errors([f"Value '[{', '.join(servers)}]' at 'selfManagedEventSource.endpoints' failed to satisfy "
                       "constraint: Map value must satisfy constraint: [Member must have length less than or "
                       "equal to 10]"])  # fmt: skip
    for server in servers:
        if not 1 <= len(server) <= 300 or not _ENDPOINT.match(server):
            raise InvalidParameterValue(f"Invalid bootstrap server: {server}. Expected host:port.")
    return tuple(servers)


def _topic(topics: object) -> str:
    if topics is None:
        raise InvalidParameterValue("Topics must be specified for a self-managed Apache Kafka event source.")
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise InvalidParameterValue("Topics must be a list of strings")
    if len(topics) != 1:
        rule = "greater than or equal to 1" if not topics else "less than or equal to 1"
        raise _errors([f"Value '[{', '.join(topics)}]' at 'topics' failed to satisfy constraint: "
                       f"Member must have length {rule}"])  # fmt: skip
    topic = str(topics[0])
    if not 1 <= len(topic) <= 249 or not _TOPIC.match(topic):
        raise _errors([f"Value '[{topic}]' at 'topics' failed to satisfy constraint: Member must satisfy "
                       "constraint: [Member must have length less than or equal to 249, Member must have length "
                       "greater than or equal to 1, Member must satisfy regular expression pattern: "
                       "^[^.]([a-zA-Z0-9\\-_.]+)]"])  # fmt: skip
    return topic


def access_configurations(value: object) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(a, dict) for a in value):
        raise InvalidParameterValue("SourceAccessConfigurations must be a list of {\"Type\", \"URI\"} objects")
    found: list[tuple[str, str]] = []
    for entry in value:
        kind, uri = entry.get("Type"), entry.get("URI")
        if kind in _SECRETS:
            if not isinstance(uri, str) or not _SECRET_ARN.match(uri):
                raise InvalidParameterValue(f"Invalid {kind} URI {uri}: expected a Secrets Manager secret's ARN "
                                            "(arn:aws:secretsmanager:<region>:<account>:secret:<name>).")  # fmt: skip
            if kind != ROOT_CA and any(k in SASL or k == CLIENT_CERTIFICATE for k, _ in found):
                raise InvalidParameterValue("You can specify only one authentication method for a self-managed "
                                            "Apache Kafka event source.")  # fmt: skip
            if kind == ROOT_CA and any(k == ROOT_CA for k, _ in found):
                raise InvalidParameterValue("You can specify only one SERVER_ROOT_CA_CERTIFICATE for a self-managed "
                                            "Apache Kafka event source.")  # fmt: skip
            found.append((str(kind), uri))
            continue
        if kind not in _NETWORK_ACCESS:
            raise InvalidParameterValue(f"Invalid SourceAccessConfiguration type {kind} for a Kafka event source.")
        found.append((str(kind), str(uri)))
    return tuple(found)


def on_failure(config: object) -> str | None:
    """DestinationConfig.OnFailure's ARN ('' or absent: none)."""
    return on_failure_destination(config, services=("sqs",), refusal=_REFUSAL)


_REFUSAL = (
    "Unsupported destination {destination}: Lamina sends a Kafka mapping's failed batches to an SQS queue of its own "
    "(arn:aws:sqs:...)."
)


def parse(body: Mapping[str, object], uuid: str, *, window_given: bool) -> KafkaOptions:
    """A Create's Kafka options, or the error AWS answers (checked before the function is looked up)."""
    if body.get("EventSourceArn") is not None:
        raise InvalidParameterValue("EventSourceArn and SelfManagedEventSource cannot be specified together.")
    for option in UNSUPPORTED:
        if body.get(option) is not None:
            raise InvalidParameterValue(f"Unsupported {option} parameter for given event source mapping type.")
    servers = _servers(body.get("SelfManagedEventSource"))
    topic = _topic(body.get("Topics"))
    position = body.get("StartingPosition")
    if position is None:
        raise InvalidParameterValue("StartingPosition must be specified for a self-managed Apache Kafka event source.")
    if position not in POSITIONS:
        raise InvalidParameterValue(f"Unsupported starting position {position} for a self-managed Apache Kafka "
                                    "event source. Valid values: [TRIM_HORIZON, LATEST]")  # fmt: skip
    config = body.get("SelfManagedKafkaEventSourceConfig")
    group = uuid
    if config is not None:
        given = config.get("ConsumerGroupId") if isinstance(config, dict) else None
        if given is not None:
            if not isinstance(given, str) or not 1 <= len(given) <= 200 or not re.fullmatch(r"[ a-zA-Z0-9-/*:_+=.@-]*", given):
                raise _errors([f"Value '{given}' at 'selfManagedKafkaEventSourceConfig.consumerGroupId' failed to "
                               "satisfy constraint: Member must satisfy regular expression pattern: "
                               "[a-zA-Z0-9-\\/*:_+=.@-]*"])  # fmt: skip
            group = given
    retries = body.get("MaximumRetryAttempts")
    return KafkaOptions(
        bootstrap_servers=servers, topic=topic, starting_position=str(position), consumer_group_id=group,
        window_given=window_given, access=access_configurations(body.get("SourceAccessConfigurations")),
        on_failure=on_failure(body.get("DestinationConfig")),
        maximum_retry_attempts=retries if isinstance(retries, int) else -1,
    )  # fmt: skip


def updated(options: KafkaOptions, body: Mapping[str, object]) -> KafkaOptions:
    """The options after an Update (only what Update may change for Kafka)."""
    for option in UNSUPPORTED:
        if body.get(option) is not None:
            raise InvalidParameterValue(f"Unsupported {option} parameter for given event source mapping type.")
    changed = options
    if body.get("MaximumBatchingWindowInSeconds") is not None:
        changed = replace(changed, window_given=True)
    if body.get("DestinationConfig") is not None:
        changed = replace(changed, on_failure=on_failure(body.get("DestinationConfig")))
    retries = body.get("MaximumRetryAttempts")
    if isinstance(retries, int):
        changed = replace(changed, maximum_retry_attempts=retries)
    if body.get("SourceAccessConfigurations") is not None:
        changed = replace(changed, access=access_configurations(body.get("SourceAccessConfigurations")))
    return changed
