"""An event source mapping as a value: its configuration, its state, its stored document and the
document the Lambda API answers with (``EventSourceMappingConfiguration``).

States move as AWS's do. A change is answered in a transitional state and settled by the
mapping's poller (``settled``): Creating and Updating become Enabled or Disabled as ``enabled``
says, Enabling becomes Enabled, Disabling becomes Disabled, Deleting becomes gone. A mapping
stored in a transitional state (Lamina stopped before settling it) settles when Lamina starts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import Mapping

from lamina.mappings.kafka.options import KafkaOptions
from lamina.streams.options import StreamOptions

KIND = "lambda/event-source-mapping"  # the store's resource kind; keys are UUIDs
USER_INITIATED = "USER_INITIATED"
NO_RECORDS = "No records processed"
OK = "OK"
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"


class State(str, Enum):
    CREATING = "Creating"
    ENABLING = "Enabling"
    ENABLED = "Enabled"
    DISABLING = "Disabling"
    DISABLED = "Disabled"
    UPDATING = "Updating"
    DELETING = "Deleting"


class SourceKind(str, Enum):
    SQS = "sqs"
    KAFKA = "kafka"  # self-managed Apache Kafka (SelfManagedEventSource)
    RABBITMQ = "rabbitmq"  # Amazon MQ for RabbitMQ (mappings/rabbitmq.py)
    POSTGRESQL = "postgresql"  # a PostgreSQL database's table changes (lamina/streams)
    SQLITE = "sqlite"  # a SQLite file's table changes (lamina/streams/sqlite.py)


@dataclass(frozen=True, slots=True)
class EventSourceMapping:
    uuid: str
    kind: SourceKind
    source_arn: str
    function: str  # the function's name
    qualifier: str | None  # the version or alias the mapping names, if any
    function_arn: str  # qualified when ``qualifier`` is
    batch_size: int
    batching_window: int  # MaximumBatchingWindowInSeconds
    enabled: bool  # what the user asked for; ``state`` follows it
    state: State
    last_modified: float  # epoch seconds
    filters: tuple[str, ...] = ()  # FilterCriteria's patterns, as given
    response_types: tuple[str, ...] = ()  # FunctionResponseTypes
    maximum_concurrency: int | None = None  # ScalingConfig.MaximumConcurrency
    state_reason: str = USER_INITIATED
    last_result: str = NO_RECORDS
    kafka: KafkaOptions | None = None  # a Kafka mapping's own options
    queues: tuple[str, ...] = ()  # Queues (Amazon MQ: exactly one)
    access: tuple[tuple[str, str], ...] = ()  # SourceAccessConfigurations: (Type, URI)
    stream: StreamOptions | None = None  # a table stream's own options

    @property
    def virtual_host(self) -> str | None:
        """The VIRTUAL_HOST source access configuration's URI, if any."""
        return next((uri for kind, uri in self.access if kind == "VIRTUAL_HOST"), None)

    @property
    def report_batch_item_failures(self) -> bool:
        return REPORT_BATCH_ITEM_FAILURES in self.response_types

    @property
    def settling(self) -> bool:
        return self.state not in (State.ENABLED, State.DISABLED)

    def settled(self) -> EventSourceMapping | None:
        """The mapping once its transition is over; None when that is being deleted."""
        if self.state is State.DELETING:
            return None
        if self.state in (State.CREATING, State.UPDATING, State.ENABLING, State.DISABLING):
            return replace(self, state=State.ENABLED if self.enabled else State.DISABLED)
        return self

    def doc(self) -> dict[str, object]:
        """The stored document (``last_result`` included: the service writes it when it changes)."""
        return {
            "UUID": self.uuid, "Kind": self.kind.value, "EventSourceArn": self.source_arn,
            "FunctionName": self.function, "Qualifier": self.qualifier, "FunctionArn": self.function_arn,
            "BatchSize": self.batch_size, "MaximumBatchingWindowInSeconds": self.batching_window,
            "Enabled": self.enabled, "State": self.state.value, "LastModified": self.last_modified,
            "Filters": list(self.filters), "FunctionResponseTypes": list(self.response_types),
            "MaximumConcurrency": self.maximum_concurrency, "StateTransitionReason": self.state_reason,
            "Kafka": self.kafka.doc() if self.kafka is not None else None,
            "Queues": list(self.queues), "SourceAccessConfigurations": [{"Type": t, "URI": u} for t, u in self.access],
            "LastProcessingResult": self.last_result,
            "Stream": self.stream.doc() if self.stream is not None else None,
        }  # fmt: skip

    @classmethod
    def from_doc(cls, doc: Mapping[str, object]) -> EventSourceMapping:
        def text(key: str) -> str:
            return str(doc[key])

        def number(key: str) -> int:
            value = doc[key]
            assert isinstance(value, int)
            return value

        qualifier, concurrency, modified = doc.get("Qualifier"), doc.get("MaximumConcurrency"), doc["LastModified"]
        filters, types = doc.get("Filters") or [], doc.get("FunctionResponseTypes") or []
        queues, access = doc.get("Queues") or [], doc.get("SourceAccessConfigurations") or []
        assert isinstance(filters, list) and isinstance(types, list) and isinstance(modified, (int, float))
        assert isinstance(queues, list) and isinstance(access, list)
        kafka, stream = doc.get("Kafka"), doc.get("Stream")
        return cls(
            uuid=text("UUID"), kind=SourceKind(text("Kind")), source_arn=text("EventSourceArn"),
            function=text("FunctionName"), qualifier=str(qualifier) if qualifier is not None else None,
            function_arn=text("FunctionArn"), batch_size=number("BatchSize"),
            batching_window=number("MaximumBatchingWindowInSeconds"), enabled=bool(doc["Enabled"]),
            state=State(text("State")), last_modified=float(modified),
            filters=tuple(str(f) for f in filters), response_types=tuple(str(t) for t in types),
            maximum_concurrency=concurrency if isinstance(concurrency, int) else None,
            state_reason=str(doc.get("StateTransitionReason") or USER_INITIATED),
            kafka=KafkaOptions.from_doc(kafka) if isinstance(kafka, dict) else None,
            queues=tuple(str(q) for q in queues), access=tuple((str(a["Type"]), str(a["URI"])) for a in access),
            last_result=str(doc.get("LastProcessingResult") or NO_RECORDS),
            stream=StreamOptions.from_doc(stream) if isinstance(stream, dict) else None,
        )  # fmt: skip

    def document(self, region: str, account: str) -> dict[str, object]:
        """``EventSourceMappingConfiguration`` as the API answers it (Queues and access for Amazon MQ;
        a Kafka source or a table stream has no EventSourceArn: its SelfManagedEventSource, Topics and
        the rest say what it reads)."""
        doc: dict[str, object] = {
            "UUID": self.uuid,
            "BatchSize": self.batch_size,
            "MaximumBatchingWindowInSeconds": self.batching_window,
            "EventSourceArn": self.source_arn,
            "FunctionArn": self.function_arn,
            "LastModified": self.last_modified,
            "LastProcessingResult": self.last_result,
            "State": self.state.value,
            "StateTransitionReason": self.state_reason,
            "FunctionResponseTypes": list(self.response_types),
            "EventSourceMappingArn": f"arn:aws:lambda:{region}:{account}:event-source-mapping:{self.uuid}",
        }
        if self.filters:
            doc["FilterCriteria"] = {"Filters": [{"Pattern": p} for p in self.filters]}
        if self.queues:
            doc["Queues"] = list(self.queues)
        if self.access:
            doc["SourceAccessConfigurations"] = [{"Type": t, "URI": u} for t, u in self.access]
        if self.maximum_concurrency is not None:
            doc["ScalingConfig"] = {"MaximumConcurrency": self.maximum_concurrency}
        if self.kafka is not None:
            del doc["EventSourceArn"]
            doc.update(self.kafka.document())
        if self.stream is not None:
            del doc["EventSourceArn"]
            doc.update(self.stream.document())
        return doc
