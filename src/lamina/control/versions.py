"""Published versions: immutable snapshots of a function's ``$LATEST``, numbered 1, 2, ... for life.

``FunctionService`` decides when to publish (it owns ``$LATEST``); this module knows what a version
is and keeps them. ``snapshot`` (the version ``$LATEST`` publishes as) and ``unchanged`` (whether
publishing again would add nothing) are pure. ``Versions`` holds every function's versions in
memory, for the invocation path, and writes through to the store before it answers: a version is
visible in memory as soon as it is numbered (so two concurrent publishes cannot both add the same
snapshot) and withdrawn again if the store refuses it.

A version's code is the code ``$LATEST`` had; it is ``Pending`` until that code is prepared (a
version published by ``Publish=true`` while its code is still being unzipped), then ``Active``.
Numbers are never reused, even after a version is deleted.
"""

from __future__ import annotations

import dataclasses

from lamina.errors import InvalidParameterValue, ResourceConflict
from lamina.model import LATEST, FunctionConfig, State, UpdateStatus
from lamina.store.aggregates import FunctionStore

CREATING = "The function is being created."


def is_version_number(qualifier: str) -> bool:
    return qualifier.isascii() and qualifier.isdigit()


def unchanged(latest: FunctionConfig, published: FunctionConfig | None) -> bool:
    """Whether ``published`` is what ``latest`` still is: no code or configuration change since."""
    return published is not None and published.generation == latest.generation


def snapshot(latest: FunctionConfig, number: int, description: str | None, revision_id: str) -> FunctionConfig:
    """Version ``number`` of ``latest``: its code and configuration, a RevisionId of its own, and
    ``description`` in place of the function's when one is given."""
    if latest.state is State.FAILED or latest.update_status is UpdateStatus.FAILED:
        state, reason = State.FAILED, latest.state_reason or latest.update_reason
    elif latest.state is State.ACTIVE and latest.update_status is UpdateStatus.SUCCESSFUL:
        state, reason = State.ACTIVE, ""
    else:  # its code is still being prepared
        state, reason = State.PENDING, CREATING
    return dataclasses.replace(
        latest, version=str(number), description=latest.description if description is None else description,
        revision_id=revision_id, config_revision=latest.generation, state=state, state_reason=reason,
        update_status=UpdateStatus.SUCCESSFUL, update_reason="",
    )  # fmt: skip


def check_code_sha256(latest: FunctionConfig, code_sha256: str | None) -> None:
    """PublishVersion's ``CodeSha256``, when given, must be ``$LATEST``'s."""
    if code_sha256 is not None and code_sha256 != latest.code.sha256_b64:
        raise InvalidParameterValue(
            f"CodeSHA256 ({code_sha256}) is different from current CodeSHA256 in $LATEST ({latest.code.sha256_b64}). "
            "Please try again with the CodeSHA256 in $LATEST."
        )


def check_deletable(qualifier: str) -> None:
    """DeleteFunction's ``Qualifier`` must name a version: not ``$LATEST``, not an alias."""
    if qualifier == LATEST:
        raise InvalidParameterValue("$LATEST version cannot be deleted without deleting the function.")
    if not is_version_number(qualifier):
        raise InvalidParameterValue("Deletion of aliases is not currently supported.")


def check_unreferenced(aliases: list[str]) -> None:
    """A version that aliases route to (``aliases``, their names) cannot be deleted."""
    if aliases:
        raise ResourceConflict(
            f"Unable to delete version because the following aliases reference it: [{', '.join(aliases)}]"
        )


class Versions:
    """Every function's published versions; only ``FunctionService`` changes them."""

    def __init__(self, store: FunctionStore) -> None:
        self._store = store
        self._versions: dict[str, dict[str, FunctionConfig]] = {}  # function -> number -> version
        self._last: dict[str, int] = {}  # function -> the highest number it has published

    async def load(self, name: str) -> list[FunctionConfig]:
        """Read one function's versions from the store; returns them."""
        versions = await self._store.list_versions(name)
        self._versions[name] = {fn.version: fn for fn in versions}
        self._last[name] = await self._store.last_version(name)
        return versions

    def get(self, name: str, version: str) -> FunctionConfig | None:
        return self._versions.get(name, {}).get(version)

    def list_for(self, name: str) -> list[FunctionConfig]:
        """A function's versions, by number."""
        return sorted(self._versions.get(name, {}).values(), key=lambda fn: int(fn.version))

    def last_published(self, name: str) -> FunctionConfig | None:
        """The most recently published version, unless it was deleted."""
        return self.get(name, str(self._last.get(name, 0)))

    def next_number(self, name: str) -> int:
        """Take the function's next version number: it is never handed out again."""
        number = self._last.get(name, 0) + 1
        self._last[name] = number
        return number

    async def add(self, version: FunctionConfig) -> None:
        """Keep a newly numbered version: visible at once, stored before this returns."""
        self._versions.setdefault(version.name, {})[version.version] = version
        try:
            await self._store.put_version(version)
        except BaseException:
            kept = self._versions.get(version.name, {})
            if kept.get(version.version) is version:
                del kept[version.version]
            raise

    async def update(self, version: FunctionConfig) -> bool:
        """Keep a version's new state (its code prepared); False if it was deleted meanwhile."""
        kept = self._versions.get(version.name, {})
        if version.version not in kept:
            return False
        kept[version.version] = version
        await self._store.put_version(version)
        if version.version not in self._versions.get(version.name, {}):
            await self._store.delete_version(version.name, version.version)  # deleted while it was written
            return False
        return True

    async def delete(self, name: str, version: str) -> None:
        await self._store.delete_version(name, version)
        self._versions.get(name, {}).pop(version, None)

    def forget(self, name: str) -> None:
        """Drop a deleted function's versions from memory (the store removed them with it)."""
        self._versions.pop(name, None)
        self._last.pop(name, None)
