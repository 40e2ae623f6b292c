"""Stacks, their resources, events and change sets as values, and their stored documents (store
kinds ``cloudformation/stack``, ``cloudformation/event``, ``cloudformation/changeset``)."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping

STACK = "cloudformation/stack"
EVENT = "cloudformation/event"
CHANGE_SET = "cloudformation/changeset"
STACK_TYPE = "AWS::CloudFormation::Stack"

# The statuses an operation ends in; any other is an operation in progress.
SETTLED = frozenset({
    "CREATE_COMPLETE", "CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED", "UPDATE_FAILED", "DELETE_COMPLETE", "DELETE_FAILED",
    "REVIEW_IN_PROGRESS",
})  # fmt: skip
# Where a stack can be updated from.
UPDATABLE = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"})


def stack_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:cloudformation:{region}:{account_id}:stack/{name}/{uuid.uuid4()}"


def change_set_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:cloudformation:{region}:{account_id}:changeSet/{name}/{uuid.uuid4()}"


@dataclass
class StackResource:
    logical_id: str
    type: str
    status: str
    updated: float
    physical_id: str | None = None
    ref: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)  # as last created or updated, resolved
    reason: str | None = None

    def doc(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def load(cls, doc: Mapping[str, Any]) -> StackResource:
        return cls(**doc)


@dataclass
class Stack:
    stack_id: str
    name: str
    status: str
    created: float
    template_body: str = ""
    parameters: dict[str, str] = field(default_factory=dict)
    no_echo: list[str] = field(default_factory=list)  # parameters answered as ****
    capabilities: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    reason: str | None = None
    updated: float | None = None
    deleted: float | None = None
    disable_rollback: bool = False
    outputs: list[dict[str, str]] = field(default_factory=list)  # OutputKey, OutputValue, Description, ExportName
    resources: dict[str, StackResource] = field(default_factory=dict)
    change_set_id: str | None = None
    imports: list[str] = field(default_factory=list)  # export names its template imports
    original_body: str | None = None  # the template as given, when template_body is its transforms' output

    def doc(self) -> dict[str, Any]:
        doc = dataclasses.asdict(self)
        doc["resources"] = {k: r.doc() for k, r in self.resources.items()}
        return doc

    @classmethod
    def load(cls, doc: Mapping[str, Any]) -> Stack:
        values = dict(doc)
        values["resources"] = {k: StackResource.load(r) for k, r in (doc.get("resources") or {}).items()}
        return cls(**values)

    @property
    def in_progress(self) -> bool:
        return self.status not in SETTLED


@dataclass(frozen=True)
class StackEvent:
    event_id: str
    stack_id: str
    stack_name: str
    logical_id: str
    resource_type: str
    status: str
    timestamp: float
    physical_id: str | None = None
    reason: str | None = None
    properties: str | None = None  # ResourceProperties: the resource's properties as JSON

    def doc(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def load(cls, doc: Mapping[str, Any]) -> StackEvent:
        return cls(**doc)


@dataclass
class ChangeSet:
    change_set_id: str
    name: str
    stack_id: str
    stack_name: str
    kind: str  # CREATE or UPDATE
    created: float
    template_body: str
    parameters: dict[str, str]
    capabilities: list[str]
    tags: dict[str, str]
    status: str = "CREATE_COMPLETE"
    execution_status: str = "AVAILABLE"
    reason: str | None = None
    description: str | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)  # ResourceChange shapes
    original_body: str | None = None  # as Stack's

    def doc(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def load(cls, doc: Mapping[str, Any]) -> ChangeSet:
        return cls(**doc)
