"""The function model: typed state shared by the control plane, the store and the invoker."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Mapping


class State(enum.StrEnum):
    """A function's ``State``; allowed moves are in ``STATE_TRANSITIONS``."""

    PENDING = "Pending"
    ACTIVE = "Active"
    FAILED = "Failed"
    INACTIVE = "Inactive"


class UpdateStatus(enum.StrEnum):
    """A function's ``LastUpdateStatus``."""

    IN_PROGRESS = "InProgress"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"


STATE_TRANSITIONS: Mapping[State, frozenset[State]] = {
    State.PENDING: frozenset({State.ACTIVE, State.FAILED}),
    State.ACTIVE: frozenset({State.ACTIVE, State.INACTIVE}),
    State.INACTIVE: frozenset({State.ACTIVE}),
    State.FAILED: frozenset({State.PENDING}),
}


@dataclass(frozen=True)
class Code:
    """A stored deployment package (see ``lamina.store.code``)."""

    digest: str  # hex SHA-256: the artifact's name on disk
    sha256_b64: str  # AWS's CodeSha256
    size: int
    unzipped: int = 0


@dataclass(frozen=True)
class LayerRef:
    """A layer version a function uses: its ARN, and the code it had when the function was configured."""

    arn: str
    code: Code


@dataclass(frozen=True)
class LayerVersion:
    name: str
    version: int
    code: Code
    description: str = ""
    compatible_runtimes: tuple[str, ...] = ()
    compatible_architectures: tuple[str, ...] = ()
    license_info: str = ""
    created: str = ""


LATEST = "$LATEST"


@dataclass(frozen=True)
class LoggingSettings:
    """LoggingConfig: the log format, the levels (only with JSON, as on Lambda) and the log group
    (empty: the function's default, ``/aws/lambda/<name>``)."""

    log_format: str = "Text"  # "Text" | "JSON"
    application_level: str = ""  # TRACE .. FATAL; JSON only
    system_level: str = ""  # DEBUG | INFO | WARN; JSON only
    log_group: str = ""


@dataclass(frozen=True)
class VpcSettings:
    """VpcConfig as given: Lamina stores and returns it; functions keep their own network namespace."""

    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    ipv6_allowed_for_dual_stack: bool = False


@dataclass(frozen=True)
class FileSystem:
    """One FileSystemConfigs item: an access point's ARN and where the function would mount it."""

    arn: str
    local_mount_path: str


@dataclass(frozen=True)
class FunctionConfig:
    """One function's configuration, as stored: its ``$LATEST`` (``version`` "$LATEST"), or one of its
    published versions (``version`` "1", "2", ...), an immutable snapshot of ``$LATEST``."""

    name: str
    runtime: str
    handler: str
    role: str
    code: Code
    memory_mb: int = 128
    timeout_s: int = 3
    ephemeral_mb: int = 512
    description: str = ""
    environment: Mapping[str, str] = field(default_factory=dict)
    architectures: tuple[str, ...] = ("x86_64",)
    layers: tuple[LayerRef, ...] = ()
    # DeadLetterConfig.TargetArn: an SQS queue or SNS topic that receives discarded asynchronous events.
    dead_letter_target: str | None = None
    state: State = State.PENDING
    state_reason: str = ""
    update_status: UpdateStatus = UpdateStatus.SUCCESSFUL
    update_reason: str = ""
    last_modified: str = ""
    revision_id: str = ""
    version: str = LATEST
    # The RevisionId the code or configuration last changed at (empty: ``revision_id``). Publishing a
    # version gives $LATEST a new RevisionId but not a new generation, and the version keeps it: a
    # version whose config_revision is $LATEST's is what $LATEST still is.
    config_revision: str = ""
    # Whether Environment was given (an empty ``{"Variables": {}}`` is echoed back, as on Lambda).
    environment_set: bool = False
    tracing_mode: str = "PassThrough"  # TracingConfig.Mode: "PassThrough" | "Active"
    logging: LoggingSettings = LoggingSettings()
    vpc: VpcSettings | None = None  # None: never configured (no VpcConfig in the answer)
    file_systems: tuple[FileSystem, ...] = ()
    kms_key_arn: str = ""
    snap_start: str = "None"  # SnapStart.ApplyOn: "None" | "PublishedVersions"

    @property
    def generation(self) -> str:
        """Environments are reused only for the same generation: new code or config retires them."""
        return self.config_revision or self.revision_id

    @property
    def is_latest(self) -> bool:
        return self.version == LATEST


@dataclass(frozen=True)
class Alias:
    """A name for one of a function's versions (or ``$LATEST``), optionally sending a share of the
    invocations to one more version: ``weights`` maps that version to its share, 0.0 to 1.0."""

    function: str
    name: str
    function_version: str
    description: str = ""
    weights: Mapping[str, float] = field(default_factory=dict)
    revision_id: str = ""


@dataclass(frozen=True)
class PolicyStatement:
    """One statement of a function's resource-based policy, as AddPermission built it."""

    sid: str
    principal: str | Mapping[str, str]  # "*", {"Service": ...} or {"AWS": "arn:aws:iam::<acct>:root"}
    action: str
    resource: str  # the function's ARN, qualified when the policy is a version's or an alias's
    condition: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # operator -> {key: value}


@dataclass(frozen=True)
class FunctionPolicy:
    """The resource-based policy of a function (``qualifier`` "$LATEST") or of one version or alias."""

    function: str
    qualifier: str
    statements: tuple[PolicyStatement, ...]
    revision_id: str


@dataclass(frozen=True)
class EventInvokeConfig:
    """How asynchronous invocations of a function (or a version or alias) are retried and where results go.

    ``None`` means "not set": the asynchronous invoker applies Lambda's defaults (2 retries, 6 hours).
    """

    function: str
    qualifier: str
    maximum_retry_attempts: int | None = None
    maximum_event_age_seconds: int | None = None
    on_success: str | None = None  # destination ARN
    on_failure: str | None = None
    last_modified: float = 0.0  # epoch seconds


class UrlAuthType(enum.StrEnum):
    """A function URL's ``AuthType``: open to anyone, or only to SigV4-signed requests."""

    NONE = "NONE"
    AWS_IAM = "AWS_IAM"


class InvokeMode(enum.StrEnum):
    """A function URL's ``InvokeMode``. Lamina serves ``RESPONSE_STREAM`` URLs buffered."""

    BUFFERED = "BUFFERED"
    RESPONSE_STREAM = "RESPONSE_STREAM"


@dataclass(frozen=True)
class UrlCors:
    """A function URL's CORS settings; ``None`` is "not set" (absent from the API's shapes)."""

    allow_credentials: bool | None = None
    allow_headers: tuple[str, ...] | None = None
    allow_methods: tuple[str, ...] | None = None
    allow_origins: tuple[str, ...] | None = None
    expose_headers: tuple[str, ...] | None = None
    max_age: int | None = None


@dataclass(frozen=True)
class FunctionUrlConfig:
    """A function URL: the function (``qualifier`` "$LATEST", or an alias) it invokes and how it is served."""

    function: str
    qualifier: str
    url_id: str  # 32 lowercase letters and digits, random, for life: the host's first label
    auth_type: UrlAuthType
    invoke_mode: InvokeMode = InvokeMode.BUFFERED
    cors: UrlCors | None = None
    created: str = ""  # ISO 8601, as AWS writes CreationTime
    last_modified: str = ""


@dataclass(frozen=True)
class ProvisionedConcurrencyConfig:
    """Provisioned concurrency of a published version or an alias (``qualifier``): how many initialised
    environments of that version Lamina keeps ready. Their state (how many are ready) is not stored:
    it is what the scheduler has now."""

    function: str
    qualifier: str  # a version number or an alias name, never "$LATEST"
    requested: int
    last_modified: str = ""  # as AWS writes LastModified: 2024-01-01T00:00:00+0000
