"""A table-stream mapping's own options: which database and tables, and how failures are handled.

A mapping names its database as a self-managed source: ``SelfManagedEventSource={"Endpoints":
{"SQLITE_PATH": [path]}}`` or ``{"POSTGRESQL_URL": [url]}``, and optionally ``"STREAM_VIEW_TYPE":
[KEYS_ONLY | NEW_IMAGE | OLD_IMAGE | NEW_AND_OLD_IMAGES]`` (the default is the last, as for a
DynamoDB stream). ``Topics`` lists the tables as "schema.table" (SQLite: "main.<table>"); names are
plain identifiers (letters, digits, underscores), so nothing the user typed is ever SQL.

``parse`` checks a Create as AWS checks a DynamoDB stream's mapping (pure; the function's and the
destination's existence are the service's to check); ``updated`` applies what an Update may change.
The API answers with the URL's password hidden (``document``); the stored document keeps it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import Enum
from typing import Mapping

from lamina.errors import InvalidParameterValue
from lamina.mappings.on_failure import destination as on_failure_destination
from lamina.redact import without_password
from lamina.streams.records import ViewType

Body = Mapping[str, object]


class Database(str, Enum):
    POSTGRESQL = "POSTGRESQL_URL"
    SQLITE = "SQLITE_PATH"


VIEW_TYPE = "STREAM_VIEW_TYPE"
POSITIONS = ("TRIM_HORIZON", "LATEST")
DEFAULT_BATCH = 100
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
# Options a table stream refuses (AWS refuses each for DynamoDB streams, or Lamina does not do it).
UNSUPPORTED = (
    "Queues", "SourceAccessConfigurations", "SelfManagedKafkaEventSourceConfig",
    "AmazonManagedKafkaEventSourceConfig", "DocumentDBEventSourceConfig", "ScalingConfig",
    "TumblingWindowInSeconds", "StartingPositionTimestamp",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class StreamOptions:
    database: Database
    endpoint: str  # the URL (with its password) or the file's path, as the mapping names it
    tables: tuple[str, ...]  # "schema.table"
    view: ViewType
    starting_position: str
    created: float  # epoch seconds: the streams' label
    maximum_retry_attempts: int = -1
    maximum_record_age: int = -1
    bisect: bool = False
    on_failure: str | None = None  # an SQS queue's or a function's ARN
    parallelization_factor: int = 1

    def doc(self) -> dict[str, object]:
        return {
            "Database": self.database.value, "Endpoint": self.endpoint, "Tables": list(self.tables),
            "View": self.view.value, "StartingPosition": self.starting_position, "Created": self.created,
            "MaximumRetryAttempts": self.maximum_retry_attempts, "MaximumRecordAgeInSeconds": self.maximum_record_age,
            "BisectBatchOnFunctionError": self.bisect, "OnFailure": self.on_failure,
            "ParallelizationFactor": self.parallelization_factor,
        }  # fmt: skip

    @classmethod
    def from_doc(cls, doc: Mapping[str, object]) -> StreamOptions:
        tables, created = doc["Tables"], doc["Created"]
        retries, age, factor = doc["MaximumRetryAttempts"], doc["MaximumRecordAgeInSeconds"], doc["ParallelizationFactor"]
        assert isinstance(tables, list) and isinstance(created, (int, float))
        assert isinstance(retries, int) and isinstance(age, int) and isinstance(factor, int)
        failure = doc.get("OnFailure")
        return cls(
            database=Database(str(doc["Database"])), endpoint=str(doc["Endpoint"]),
            tables=tuple(str(t) for t in tables), view=ViewType(str(doc["View"])),
            starting_position=str(doc["StartingPosition"]), created=float(created), maximum_retry_attempts=retries,
            maximum_record_age=age, bisect=bool(doc["BisectBatchOnFunctionError"]),
            on_failure=str(failure) if failure else None, parallelization_factor=factor,
        )  # fmt: skip

    @property
    def shown_endpoint(self) -> str:
        return without_password(self.endpoint) if self.database is Database.POSTGRESQL else self.endpoint

    def document(self) -> dict[str, object]:
        """What the API shows of them, as AWS shows a self-managed source's (no password)."""
        return {
            "SelfManagedEventSource": {"Endpoints": {self.database.value: [self.shown_endpoint],
                                                     VIEW_TYPE: [self.view.value]}},
            "Topics": list(self.tables),
            "StartingPosition": self.starting_position,
            "MaximumRetryAttempts": self.maximum_retry_attempts,
            "MaximumRecordAgeInSeconds": self.maximum_record_age,
            "BisectBatchOnFunctionError": self.bisect,
            "ParallelizationFactor": self.parallelization_factor,
            "DestinationConfig": {"OnFailure": {"Destination": self.on_failure} if self.on_failure else {}},
        }  # fmt: skip


def database_of(body: Body) -> Database | None:
    """The database a Create's SelfManagedEventSource names, if it names one (else Kafka's or none)."""
    source = body.get("SelfManagedEventSource")
    endpoints = source.get("Endpoints") if isinstance(source, dict) else None
    if not isinstance(endpoints, dict):
        return None
    found = [d for d in Database if d.value in endpoints]
    return found[0] if len(found) == 1 else None


def _endpoint(body: Body, database: Database) -> tuple[str, ViewType]:
    source = body.get("SelfManagedEventSource")
    endpoints = source.get("Endpoints") if isinstance(source, dict) else None
    assert isinstance(endpoints, dict)
    extra = set(endpoints) - {database.value, VIEW_TYPE}
    if extra:
        raise InvalidParameterValue(f"Unsupported endpoint type. Valid types: [{database.value}, {VIEW_TYPE}]")
    given = endpoints[database.value]
    if not isinstance(given, list) or len(given) != 1 or not isinstance(given[0], str) or not given[0]:
        raise InvalidParameterValue(f"{database.value} must name exactly one database.")
    endpoint = given[0]
    if database is Database.POSTGRESQL and not re.match(r"^postgres(ql)?://", endpoint):
        raise InvalidParameterValue("POSTGRESQL_URL must be a URL: postgresql://[user[:password]@]host[:port]/database")
    if database is Database.SQLITE and ("\x00" in endpoint or not endpoint.startswith("/")):
        raise InvalidParameterValue("SQLITE_PATH must be a database file's absolute path.")
    view = endpoints.get(VIEW_TYPE, [ViewType.NEW_AND_OLD_IMAGES.value])
    values = [v.value for v in ViewType]
    if not isinstance(view, list) or len(view) != 1 or view[0] not in values:
        raise InvalidParameterValue(f"Unsupported {VIEW_TYPE} {view}. Valid values: [{', '.join(values)}]")
    return endpoint, ViewType(view[0])


def _tables(topics: object, database: Database) -> tuple[str, ...]:
    if topics is None:
        raise InvalidParameterValue("Topics must name the tables whose changes the mapping reads (\"schema.table\").")
    if not isinstance(topics, list) or not topics or not all(isinstance(t, str) for t in topics):
        raise InvalidParameterValue("Topics must be a list of table names (\"schema.table\").")
    tables: list[str] = []
    for topic in topics:
        parts = topic.split(".")
        if len(parts) != 2 or not all(_NAME.match(p) for p in parts):
            raise InvalidParameterValue(f"Invalid table name {topic!r}: name it as schema.table, each a plain "
                                        "identifier (letters, digits and underscores, not starting with a digit).")  # fmt: skip
        if database is Database.SQLITE and parts[0] != "main":
            raise InvalidParameterValue(f"Invalid table name {topic!r}: a SQLite table is named main.<table>.")
        if topic in tables:
            raise InvalidParameterValue(f"Table {topic} is named twice in Topics.")
        tables.append(topic)
    return tuple(tables)


def _record_age(value: object) -> int | None:
    if value is None:
        return None
    assert isinstance(value, int)  # the model's range was checked (validation.parse)
    if 0 <= value < 60:
        raise InvalidParameterValue("MaximumRecordAgeInSeconds must be -1 or between 60 and 604800.")
    return value


def on_failure(config: object) -> str | None:
    """DestinationConfig.OnFailure's ARN ('' or absent: none)."""
    return on_failure_destination(config, services=("sqs", "lambda"), refusal=_REFUSAL)


_REFUSAL = (
    "Unsupported destination {destination}: Lamina sends a stream mapping's failed batches to an SQS queue of its "
    "own (arn:aws:sqs:...) or to a function (arn:aws:lambda:...)."
)


def _flag(body: Body, key: str) -> bool | None:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise InvalidParameterValue(f"{key} must be a boolean")
    return value


def parse(body: Body, database: Database, *, created: float) -> StreamOptions:
    """A Create's stream options, or the error AWS answers (before the function is looked up)."""
    if body.get("EventSourceArn") is not None:
        raise InvalidParameterValue("EventSourceArn and SelfManagedEventSource cannot be specified together.")
    for option in UNSUPPORTED:
        if body.get(option) is not None:
            raise InvalidParameterValue(f"Unsupported {option} parameter for given event source mapping type.")
    endpoint, view = _endpoint(body, database)
    tables = _tables(body.get("Topics"), database)
    position = body.get("StartingPosition")
    if position is None:  # AWS's words for a DynamoDB stream's mapping
        raise InvalidParameterValue("1 validation error detected: Value null at 'startingPosition' failed to satisfy "
                                    "constraint: Member must not be null.")  # fmt: skip
    if position not in POSITIONS:  # AT_TIMESTAMP (the model checked the enum): not for DynamoDB streams either
        raise InvalidParameterValue(f"Unsupported starting position for arn type: {database.value} "
                                    f"(a table's change stream starts at TRIM_HORIZON or LATEST)")  # fmt: skip
    retries, factor = body.get("MaximumRetryAttempts"), body.get("ParallelizationFactor")
    age = _record_age(body.get("MaximumRecordAgeInSeconds"))
    return StreamOptions(
        database=database, endpoint=endpoint, tables=tables, view=view, starting_position=str(position),
        created=created, maximum_retry_attempts=retries if isinstance(retries, int) else -1,
        maximum_record_age=-1 if age is None else age, bisect=bool(_flag(body, "BisectBatchOnFunctionError")),
        on_failure=on_failure(body.get("DestinationConfig")),
        parallelization_factor=factor if isinstance(factor, int) else 1,
    )  # fmt: skip


def updated(options: StreamOptions, body: Body) -> StreamOptions:
    """The options after an Update (only what an Update may change for a stream)."""
    for option in UNSUPPORTED:
        if body.get(option) is not None:
            raise InvalidParameterValue(f"Unsupported {option} parameter for given event source mapping type.")
    changed = options
    if body.get("DestinationConfig") is not None:
        changed = replace(changed, on_failure=on_failure(body.get("DestinationConfig")))
    retries, factor = body.get("MaximumRetryAttempts"), body.get("ParallelizationFactor")
    if isinstance(retries, int):
        changed = replace(changed, maximum_retry_attempts=retries)
    age = _record_age(body.get("MaximumRecordAgeInSeconds"))
    if age is not None:
        changed = replace(changed, maximum_record_age=age)
    bisect = _flag(body, "BisectBatchOnFunctionError")
    if bisect is not None:
        changed = replace(changed, bisect=bisect)
    if isinstance(factor, int):
        changed = replace(changed, parallelization_factor=factor)
    return changed
