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


@dataclass(frozen=True)
class FunctionConfig:
    """One function's ``$LATEST`` configuration, as stored."""

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
    state: State = State.PENDING
    state_reason: str = ""
    update_status: UpdateStatus = UpdateStatus.SUCCESSFUL
    update_reason: str = ""
    last_modified: str = ""
    revision_id: str = ""
    version: str = "$LATEST"

    @property
    def generation(self) -> str:
        """Environments are reused only for the same generation: new code or config retires them."""
        return self.revision_id
