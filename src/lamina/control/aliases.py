"""Aliases: names for a function's versions, optionally sending a share of invocations to a second.

``route`` is the pure decision of which version one invocation of an alias runs. ``Aliases`` holds
every function's aliases in memory (the invocation path resolves them without the store), checks
requests against Lambda's rules, and writes through to the store before it answers. Callers make
sure the function exists; an alias written for a function deleted meanwhile is refused by the store.

Lambda's rules: a name is 1-128 of ``[a-zA-Z0-9-_]`` and not a number; the version must exist;
``RoutingConfig`` adds at most one version, not the alias's own, with a weight from 0.0 to 1.0, and
not to an alias of ``$LATEST``. Every change gets a new RevisionId (a stale one is refused).
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from typing import Mapping

from lamina.control.changes import AliasChanged, Changes
from lamina.control.validation import constraint, description, string
from lamina.control.versions import Versions, is_version_number
from lamina.errors import (
    InvalidParameterValue,
    ResourceConflict,
    ResourceNotFound,
    ValidationError,
    stale_revision,
)
from lamina.model import LATEST, Alias
from lamina.settings import Settings
from lamina.store.aggregates import AliasStore

Body = Mapping[str, object]
_NAME = re.compile(r"^(?![0-9]+$)[a-zA-Z0-9_-]+$")
_VERSION = re.compile(r"^(\$LATEST|[0-9]+)$")


def route(alias: Alias, draw: float) -> str:
    """The version one invocation of ``alias`` runs, given ``draw`` uniform in [0, 1): each
    additional version with the probability of its weight, the alias's own version otherwise."""
    for version, weight in sorted(alias.weights.items()):
        if draw < weight:
            return version
        draw -= weight
    return alias.function_version


def alias_name(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 128:
        raise constraint(value, "name", "Member must have length between 1 and 128")
    if not _NAME.match(value):
        raise constraint(value, "name", "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)")
    return value


def _function_version(value: object) -> str:
    if value is None:
        raise ValidationError("1 validation error detected: Value null at 'functionVersion' failed to satisfy "
                              "constraint: Member must not be null")
    if not isinstance(value, str) or not _VERSION.match(value) or len(value) > 1024:
        raise constraint(value, "functionVersion", "Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)")
    return value


def _weights(routing: object) -> dict[str, float]:
    """``RoutingConfig.AdditionalVersionWeights``, checked for form (not yet against the versions)."""
    if routing is None:
        return {}
    weights = routing.get("AdditionalVersionWeights") if isinstance(routing, Mapping) else routing
    if weights is None:
        return {}
    if not isinstance(weights, Mapping):
        raise InvalidParameterValue("RoutingConfig.AdditionalVersionWeights must map a version to its weight")
    if len(weights) > 1:
        raise InvalidParameterValue("Number of items in AdditionalVersionWeights cannot be greater than 1")
    checked: dict[str, float] = {}
    for version, weight in weights.items():
        shown = f"{{{version}={weight}}}"
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0.0 <= weight <= 1.0:
            raise constraint(shown, "routingConfig.additionalVersionWeights", "Map value must satisfy constraint: "
                             "[Member must have value less than or equal to 1.0, Member must have value greater "
                             "than or equal to 0.0, Member must not be null]")  # fmt: skip
        if not isinstance(version, str) or not is_version_number(version) or len(version) > 1024:
            raise constraint(shown, "routingConfig.additionalVersionWeights", "Map keys must satisfy constraint: "
                             "[Member must have length less than or equal to 1024, Member must have length greater "
                             "than or equal to 1, Member must satisfy regular expression pattern: [0-9]+, "
                             "Member must not be null]")  # fmt: skip
        checked[version] = float(weight)
    return checked


class Aliases:
    def __init__(self, store: AliasStore, settings: Settings, versions: Versions, changes: Changes) -> None:
        self._store = store
        self._changes = changes  # moves and deletions are published (provisioned concurrency follows)
        self._settings = settings
        self._versions = versions
        self._aliases: dict[str, dict[str, Alias]] = {}  # function -> alias name -> alias

    def arn(self, name: str, alias: str) -> str:
        return self._settings.function_arn(name, alias)

    async def load(self, name: str) -> None:
        self._aliases[name] = {alias.name: alias for alias in await self._store.list_aliases(name)}

    # -- reading ---------------------------------------------------------------------------

    def find(self, name: str, alias: str) -> Alias | None:
        return self._aliases.get(name, {}).get(alias)

    def exists(self, name: str, alias: str) -> bool:
        return alias in self._aliases.get(name, {})

    def get(self, name: str, alias: str) -> Alias:
        found = self.find(name, alias)
        if found is None:
            raise ResourceNotFound(f"Cannot find alias arn: {self.arn(name, alias)}")
        return found

    def list_for(self, name: str, function_version: str | None = None) -> list[Alias]:
        """A function's aliases by name; with ``function_version``, those pointing to it."""
        aliases = sorted(self._aliases.get(name, {}).values(), key=lambda a: a.name)
        return [a for a in aliases if function_version in (None, a.function_version)]

    def referencing(self, name: str, version: str) -> list[str]:
        """Names of the aliases that send invocations to ``version`` (as theirs, or as the additional one)."""
        return [a.name for a in self.list_for(name) if version == a.function_version or version in a.weights]

    # -- writing ---------------------------------------------------------------------------

    async def create(self, name: str, body: Body) -> Alias:
        alias = alias_name(body.get("Name"))
        version = _function_version(body.get("FunctionVersion"))
        text = description(body.get("Description", "") or "")
        self._check_version(name, version)
        if self.find(name, alias) is not None:
            raise ResourceConflict(f"Alias already exists: {self.arn(name, alias)}")
        weights = _weights(body.get("RoutingConfig"))
        self._check_routing(name, version, weights)
        created = Alias(name, alias, version, text, weights, str(uuid.uuid4()))
        kept = self._aliases.setdefault(name, {})
        kept[alias] = created  # visible at once: a concurrent create of the same name conflicts
        try:
            await self._store.create_alias(created)
        except BaseException:
            if kept.get(alias) is created:
                del kept[alias]
            raise
        await self._changes.publish(AliasChanged(name, alias, version))
        return created

    async def update(self, name: str, alias: str, body: Body) -> Alias:
        current = self.find(name, alias_name(alias))
        if current is None:
            raise ResourceNotFound(f"Alias not found: {self.arn(name, alias)}")
        revision = string(body, "RevisionId")
        if revision is not None and revision != current.revision_id:
            raise stale_revision()
        version = current.function_version
        if body.get("FunctionVersion") is not None:
            version = _function_version(body["FunctionVersion"])
            self._check_version(name, version)
        weights = dict(current.weights)
        if "RoutingConfig" in body:
            weights = _weights(body["RoutingConfig"])
        self._check_routing(name, version, weights)
        text = current.description if body.get("Description") is None else description(body["Description"])
        updated = dataclasses.replace(
            current, function_version=version, description=text, weights=weights, revision_id=str(uuid.uuid4())
        )
        if self.find(name, alias) is not current:
            raise ResourceConflict(f"The alias {self.arn(name, alias)} was changed concurrently; try again.")
        await self._replace(name, alias, current, updated)
        await self._changes.publish(AliasChanged(name, alias, version))
        return updated

    async def rotate_revision(self, name: str, alias: str, revision: str) -> None:
        """Give an alias a new RevisionId (``revision``) and nothing else: its resource policy changed."""
        current = self.get(name, alias)
        await self._replace(name, alias, current, dataclasses.replace(current, revision_id=revision))

    async def _replace(self, name: str, alias: str, current: Alias, updated: Alias) -> None:
        """``updated`` in place of ``current``, in memory and then in the store (undone in memory if
        the store refuses it)."""
        kept = self._aliases[name]
        kept[alias] = updated
        try:
            await self._store.put_alias(updated, expected_revision=current.revision_id)
        except BaseException:
            if kept.get(alias) is updated:
                kept[alias] = current
            raise

    async def delete(self, name: str, alias: str) -> None:
        """Delete an alias; deleting one that does not exist is not an error (as on Lambda)."""
        await self._store.delete_alias(name, alias_name(alias))
        self._aliases.get(name, {}).pop(alias, None)
        await self._changes.publish(AliasChanged(name, alias, None))

    def forget(self, name: str) -> None:
        """Drop a deleted function's aliases from memory (the store removed them with it)."""
        self._aliases.pop(name, None)

    # -- checks ----------------------------------------------------------------------------

    def _check_version(self, name: str, version: str) -> None:
        if version != LATEST and self._versions.get(name, version) is None:
            raise ResourceNotFound(f"Function not found: {self._settings.function_arn(name, version)}")

    def _check_routing(self, name: str, version: str, weights: Mapping[str, float]) -> None:
        for additional in weights:
            if additional == version:
                raise InvalidParameterValue(f"Invalid function version {version}. Function version {version} is "
                                            "already included in routing configuration.")  # fmt: skip
            if version == LATEST:
                raise InvalidParameterValue("$LATEST is not supported for an alias pointing to more than 1 version")
            self._check_version(name, additional)
            primary, other = self._versions.get(name, version), self._versions.get(name, additional)
            if primary is not None and other is not None and (
                (primary.role, primary.dead_letter_target) != (other.role, other.dead_letter_target)
            ):
                raise InvalidParameterValue(
                    f"Versions {version} and {additional} of an alias must have the same execution role and "
                    "dead-letter queue configuration."
                )
