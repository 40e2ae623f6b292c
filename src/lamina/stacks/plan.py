"""What an update would change (pure): each resource of the new template against the stack's, as
a change set's ``Changes`` list them (Add, Modify with or without Replacement, Remove).

Properties are compared resolved: the parameters' new values, the stack's current resources'
Refs and attributes; a reference to a resource not created yet resolves to a placeholder, so what
depends on a new or replaced resource shows as modified, as CloudFormation's ``Dynamic`` evaluation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from lamina.stacks import intrinsics
from lamina.stacks.intrinsics import Scope
from lamina.stacks.model import StackResource
from lamina.stacks.resources.base import Provider
from lamina.stacks.template import Template


@dataclass(frozen=True)
class Change:
    action: str  # Add, Modify, Remove
    logical_id: str
    resource_type: str
    physical_id: str | None = None
    replacement: str | None = None  # Modify: "True" or "False"
    details: tuple[str, ...] = ()  # the properties that change

    def shape(self) -> dict[str, Any]:
        """The change as DescribeChangeSet's ``Change``."""
        change: dict[str, Any] = {"Action": self.action, "LogicalResourceId": self.logical_id,
                                  "ResourceType": self.resource_type, "Scope": [], "Details": []}  # fmt: skip
        if self.physical_id is not None:
            change["PhysicalResourceId"] = self.physical_id
        if self.action == "Modify":
            change["Replacement"] = self.replacement
            change["Scope"] = ["Properties"]
            change["Details"] = [{"Target": {"Attribute": "Properties", "Name": name,
                                             "RequiresRecreation": "Always" if self.replacement == "True" else "Never"},
                                  "Evaluation": "Static", "ChangeSource": "DirectModification"}
                                 for name in self.details]  # fmt: skip
        return {"Type": "Resource", "ResourceChange": change}


def active(template: Template, conditions: Mapping[str, bool]) -> list[str]:
    """The template's resources its conditions keep, in creation order."""
    def kept(name: str) -> bool:
        condition = template.resources[name].condition
        return condition is None or conditions[condition]

    return [name for name in intrinsics.check(template) if kept(name)]


def preview_scope(base: Scope, current: Mapping[str, StackResource]) -> Scope:
    """``base`` with the stack's current resources' Refs and attributes, placeholders for the rest."""

    def attribute(logical_id: str, name: str) -> Any:
        found = current.get(logical_id)
        if found is not None and name in found.attributes:
            return found.attributes[name]
        return f"{{{{changing:{logical_id}.{name}}}}}"

    class Refs(dict[str, str]):
        def __contains__(self, key: object) -> bool:
            return True

        def __getitem__(self, key: str) -> str:
            found = current.get(key)
            return found.ref if found is not None and found.ref is not None else f"{{{{changing:{key}}}}}"

    return Scope(base.parameters, base.mappings, base.conditions, Refs(), attribute, base.exports)


def changes(template: Template, scope: Scope, current: Mapping[str, StackResource],
            providers: Mapping[str, Provider]) -> list[Change]:  # fmt: skip
    """The changes an update to ``template`` makes to the stack's ``current`` resources."""
    found: list[Change] = []
    keep = active(template, scope.conditions)
    preview = preview_scope(scope, current)
    for logical_id in keep:
        spec = template.resources[logical_id]
        now = current.get(logical_id)
        if now is None or now.physical_id is None:
            found.append(Change("Add", logical_id, spec.type))
            continue
        if now.type != spec.type:
            found.append(Change("Modify", logical_id, spec.type, now.physical_id, "True", ("Type",)))
            continue
        new = intrinsics.evaluate(spec.properties, preview)
        if new == now.properties:
            continue
        names = tuple(sorted(k for k in set(new) | set(now.properties) if new.get(k) != now.properties.get(k)))
        provider = providers.get(spec.type)
        replaced = provider is None or provider.replaces(now.properties, new)
        found.append(Change("Modify", logical_id, spec.type, now.physical_id, "True" if replaced else "False", names))
    for logical_id, now in current.items():
        if logical_id not in keep and now.physical_id is not None:
            found.append(Change("Remove", logical_id, now.type, now.physical_id))
    return found
