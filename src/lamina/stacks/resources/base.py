"""What a resource type's provider is: how it creates, updates and deletes its resources through
Lamina's own services (the same objects the APIs call, in the stack's cell), what ``Ref`` and
``Fn::GetAtt`` answer for them, and which property changes replace a resource rather than update it.

A provider raises ``ResourceFailed`` (or lets a service's ``ApiError`` through: its message becomes
the resource's status reason) when it cannot do what it is asked. ``delete`` of a resource that is
gone already succeeds, as CloudFormation's does.
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar, Mapping

from lamina.api.context import Services
from lamina.iam import denial
from lamina.iam.context import context_of, requester_of
from lamina.iam.evaluate import Request, decide
from lamina.identity.principals import Principal, PrincipalKind
from lamina.stacks.errors import ResourceFailed

Properties = Mapping[str, Any]
_SUFFIX = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class Context:
    """The stack a provider works for, in its cell, on behalf of ``caller``."""

    svc: Services
    caller: Principal
    stack_name: str
    stack_id: str
    port: int  # the port Lamina listens on (function URLs' addresses)

    @property
    def region(self) -> str:
        return self.svc.settings.region

    def authorize(self, action: str, resource: str) -> None:
        """Refuse (ResourceFailed) what the caller's identity policies do not allow: a stack's
        resource is made with the caller's permissions, as if it had asked for it itself."""
        iam = self.svc.iam
        if iam is None or self.caller.kind is PrincipalKind.ROOT:
            return
        request = Request(requester_of(self.caller), action, resource, self.account_id,
                          context_of(self.caller, datetime.now(timezone.utc)))  # fmt: skip
        decision = decide(request, iam.policies_of(self.caller))
        if not decision.allowed:
            refusal = denial.message(self.caller.arn, action, resource, decision, True)
            raise ResourceFailed(f"Resource handler returned message: \"{refusal}\"")

    @property
    def account_id(self) -> str:
        return self.svc.settings.account_id

    def physical_name(self, logical_id: str, limit: int, *, lower: bool = False, suffix: str = "") -> str:
        """A generated name, as CloudFormation makes them: ``<stack>-<logical id>-<13 random>``,
        the first two cut to fit ``limit``."""
        random = "".join(secrets.choice(_SUFFIX) for _ in range(13))
        room = limit - len(random) - len(suffix) - 2
        stack, logical = self.stack_name, logical_id
        if len(stack) + len(logical) > room:
            keep = max(room // 2, room - len(logical))
            stack = stack[:keep]
            logical = logical[: room - len(stack)]
        name = f"{stack}-{logical}-{random}{suffix}"
        return name.lower() if lower else name


@dataclass(frozen=True)
class Outcome:
    """What a resource is once created or updated: its physical id, its Ref and its attributes."""

    physical_id: str
    ref: str
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def doc(self) -> dict[str, Any]:
        return {"physical_id": self.physical_id, "ref": self.ref, "attributes": dict(self.attributes)}

    @classmethod
    def load(cls, doc: Mapping[str, Any]) -> Outcome:
        return cls(str(doc["physical_id"]), str(doc["ref"]), dict(doc.get("attributes") or {}))


class Provider:
    """One resource type's provider."""

    type_name: ClassVar[str]
    replaced_by: ClassVar[frozenset[str]] = frozenset()  # properties whose change replaces the resource
    replaced_always: ClassVar[bool] = False  # any change replaces it (immutable resources)
    needs_iam_capability: ClassVar[bool] = False

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        raise NotImplementedError

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        raise NotImplementedError

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        raise NotImplementedError

    def replaces(self, old: Properties, new: Properties) -> bool:
        """Whether going from ``old`` to ``new`` needs a new resource (pure)."""
        if self.replaced_always:
            return old != new
        return any(old.get(name) != new.get(name) for name in self.replaced_by)


# -- what providers share -------------------------------------------------------------------------


def text(props: Properties, name: str, default: str | None = None) -> str | None:
    """A string property (numbers and booleans as CloudFormation passes them on: text)."""
    value = props.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ResourceFailed(f"Property validation failure: [Value of property {{/{name}}} does not match type "
                         f"{{String}}]")  # fmt: skip


def required(props: Properties, name: str) -> str:
    value = text(props, name)
    if value is None:
        raise ResourceFailed(f"Property validation failure: [The property {{/{name}}} is required]")
    return value


def integer(props: Properties, name: str) -> int | None:
    value = props.get(name)
    if value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        raise ResourceFailed(f"Property validation failure: [Value of property {{/{name}}} does not match type "
                             f"{{Integer}}]") from None  # fmt: skip


def document(value: Any) -> str:
    """A policy or pattern document as the service takes it: text (CloudFormation allows objects)."""
    return value if isinstance(value, str) else json.dumps(value)


def tag_list(props: Properties) -> dict[str, str]:
    """CloudFormation's ``Tags: [{Key, Value}]`` as a map."""
    tags = props.get("Tags") or []
    if isinstance(tags, dict):  # some types (AWS::Lambda::Url's siblings, SAM) take a map
        return {str(k): str(v) for k, v in tags.items()}
    if not isinstance(tags, list):
        raise ResourceFailed("Property validation failure: [Value of property {/Tags} does not match type {Array}]")
    return {str(t.get("Key")): str(t.get("Value", "")) for t in tags if isinstance(t, dict)}
