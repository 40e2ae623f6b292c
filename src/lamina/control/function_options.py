"""A function's recursion configuration (PutFunctionRecursionConfig) and runtime management
configuration (PutRuntimeManagementConfig): stored and returned as AWS returns them.

Lamina does not act on either: it runs the runtime found on the host whatever ``UpdateRuntimeOn``
says, and does not detect recursive loops (``RecursiveLoop`` is kept, ``Terminate`` by default as on
AWS). Both are kept in memory and written through the store's resources (kinds
``lambda/recursion-config``, by function name, and ``lambda/runtime-management-config``, by
``<function>:<qualifier>``); they go with the function (and a version's with the version).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from lamina.control.changes import Change, FunctionDeleted, VersionDeleted
from lamina.control.validation import constraint
from lamina.errors import InvalidParameterValue
from lamina.model import LATEST
from lamina.store.base import Resource
from lamina.store.aggregates import ResourceStore

RECURSION = "lambda/recursion-config"
RUNTIME = "lambda/runtime-management-config"
LOOPS = ("Allow", "Terminate")
UPDATES = ("Auto", "Manual", "FunctionUpdate")
_REGION = r"(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}"
_RUNTIME_VERSION = re.compile(
    rf"^((arn:(aws[a-zA-Z-]*):lambda:{_REGION}::runtime:.+)|"
    rf"(arn:(aws[a-zA-Z-]*):lambda:{_REGION}:\d{{12}}:runtime/[A-Za-z0-9_.-]{{1,128}}/version/[A-Za-z0-9_.-]{{1,128}}))$"
)
_RUNTIME_VERSION_RULE = (
    "Member must satisfy regular expression pattern: ((arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|"
    "(-iso([a-z]?)))?-[a-z]+-\\d{1}::runtime:.+)|(arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|"
    "(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:runtime/[A-Za-z0-9_.-]{1,128}/version/[A-Za-z0-9_.-]{1,128}))"
)


@dataclass(frozen=True)
class RuntimeManagement:
    update_runtime_on: str = "Auto"
    runtime_version_arn: str | None = None


def recursive_loop(value: object) -> str:
    if value not in LOOPS:
        raise constraint(value, "recursiveLoop", "Member must satisfy enum value set: [Allow, Terminate]")
    return str(value)


def runtime_management(body: Mapping[str, object]) -> RuntimeManagement:
    """PutRuntimeManagementConfig's body: UpdateRuntimeOn, and RuntimeVersionArn with Manual only."""
    update = body.get("UpdateRuntimeOn")
    if update not in UPDATES:
        raise constraint(update, "updateRuntimeOn", "Member must satisfy enum value set: [Auto, Manual, FunctionUpdate]")
    arn = body.get("RuntimeVersionArn")
    if arn is not None and (not isinstance(arn, str) or not 26 <= len(arn) <= 2048 or not _RUNTIME_VERSION.match(arn)):
        raise constraint(arn, "runtimeVersionArn", _RUNTIME_VERSION_RULE)
    if update == "Manual" and arn is None:
        raise InvalidParameterValue("RuntimeVersionArn must be specified when UpdateRuntimeOn is Manual.")
    if update != "Manual" and arn is not None:
        raise InvalidParameterValue("RuntimeVersionArn can be specified only when UpdateRuntimeOn is Manual.")
    return RuntimeManagement(str(update), arn)


class FunctionOptions:
    """Recursion and runtime management configurations of one cell's functions."""

    def __init__(self, store: ResourceStore) -> None:
        self._store = store
        self._loops: dict[str, str] = {}  # function -> RecursiveLoop
        self._runtimes: dict[str, RuntimeManagement] = {}  # "<function>:<qualifier>" -> configuration

    async def load(self) -> None:
        for res in await self._store.list_resources(RECURSION):
            self._loops[res.key] = str(res.doc["RecursiveLoop"])
        for res in await self._store.list_resources(RUNTIME):
            arn = res.doc.get("RuntimeVersionArn")
            self._runtimes[res.key] = RuntimeManagement(str(res.doc["UpdateRuntimeOn"]), None if arn is None else str(arn))

    def recursion(self, function: str) -> str:
        return self._loops.get(function, "Terminate")

    async def put_recursion(self, function: str, value: object) -> str:
        loop = recursive_loop(value)
        await self._store.change_resources(puts=[Resource(RECURSION, function, {"RecursiveLoop": loop})])
        self._loops[function] = loop
        return loop

    def runtime(self, function: str, qualifier: str | None) -> RuntimeManagement:
        return self._runtimes.get(f"{function}:{qualifier or LATEST}", RuntimeManagement())

    async def put_runtime(self, function: str, qualifier: str | None, body: Mapping[str, object]) -> RuntimeManagement:
        config = runtime_management(body)
        key = f"{function}:{qualifier or LATEST}"
        doc: dict[str, object] = {"UpdateRuntimeOn": config.update_runtime_on}
        if config.runtime_version_arn is not None:
            doc["RuntimeVersionArn"] = config.runtime_version_arn
        await self._store.change_resources(puts=[Resource(RUNTIME, key, doc)])
        self._runtimes[key] = config
        return config

    async def follow(self, change: Change) -> None:
        """A deleted function's configurations (a deleted version's) go with it."""
        if isinstance(change, FunctionDeleted):
            self._loops.pop(change.name, None)
            for key in [key for key in self._runtimes if key.startswith(change.name + ":")]:
                del self._runtimes[key]
            await self._store.change_resources(deletes=[(RECURSION, change.name)],
                                               delete_prefixes=[(RUNTIME, change.name + ":")])  # fmt: skip
        elif isinstance(change, VersionDeleted):
            key = f"{change.name}:{change.version}"
            if self._runtimes.pop(key, None) is not None:
                await self._store.change_resources(deletes=[(RUNTIME, key)])
