"""The function control plane: create, read, update and delete functions, and their state machine.

``FunctionService`` is the only writer of function records. It keeps every function's current
configuration in memory (the invocation path reads it without touching the store) and writes
through to the store before it answers. Every create and update answers at once, as Lambda does, and
its code and layers are prepared (unzipped, merged) in the background:

    create:  State Pending (its answers show no LastUpdateStatus yet) --prepared--> Active, Successful
             (or Failed)
    update:  LastUpdateStatus InProgress --prepared--> Successful (or Failed, with its reason)

While a function is Pending or InProgress, another update (and PublishVersion) is refused with
``ResourceConflict``; an Invoke of a Pending function is too (``invoke/resolver.py``). Settling takes the
preparation's milliseconds (at least ``Settings.state_delay_seconds``) and, for ``$LATEST``, gives a
new RevisionId (not a new generation: its environments stay).

Every change gets a new RevisionId. What changes for the data plane (a new generation, a deletion) is
published on the change stream (``control/changes.py``), which the scheduler and the other keepers of
a function's state follow.

Published versions (``control/versions.py``) and aliases (``control/aliases.py``) are kept here too,
beside ``$LATEST``: ``resolve(name, qualifier)`` is the one place that turns a qualifier ($LATEST, a
version number, an alias) into the configuration it names. A version's code is prepared like
``$LATEST``'s (Pending --prepared--> Active); deleting a function deletes its versions and aliases.
"""

from __future__ import annotations

import asyncio
import base64
import builtins
import binascii
import dataclasses
import logging
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Awaitable, Callable, Mapping, Protocol

from lamina.control import fields as f
from lamina.control import validation as v
from lamina.control import violations as vs
from lamina.control.violations import Checks
from lamina.control.aliases import Aliases, route
from lamina.control.changes import AliasChanged, Changes, FunctionDeleted, FunctionUpdated, VersionDeleted
from lamina.control.versions import CREATING, Versions, is_version_number, snapshot, unchanged
from lamina.control.versions import check_code_sha256, check_deletable, check_unreferenced
from lamina.errors import (
    InvalidParameterValue,
    ResourceConflict,
    ResourceNotFound,
    ServiceError,
    stale_revision,
)
from lamina.control.layers import LayerService
from lamina.model import LATEST, Code, FunctionConfig, LayerRef, State, UpdateStatus
from lamina.runtime import architecture
from lamina.runtime.runtimes import RuntimeRegistry
from lamina.settings import Settings
from lamina.store.aggregates import PreparationClaims, Store
from lamina.store.code import CodeStore
from lamina.store.errors import NotFound
from lamina.store.overlay import LayerOverlays
from lamina.tasks import wait_set

log = logging.getLogger(__name__)

Body = Mapping[str, object]


class FunctionHook(Protocol):
    """What CreateFunction's request carries for another owner (its ``Tags``), or what another owner
    does as a function is born (its fork server started): ``check_create`` runs before anything is
    stored and may refuse the request; ``created`` runs once the function is stored. (Deletions and
    updates are published on the change stream.)"""

    def check_create(self, body: Mapping[str, object]) -> None: ...

    async def created(self, fn: FunctionConfig, body: Mapping[str, object]) -> None: ...


class DeploymentCheck(Protocol):
    """What may refuse new code or layers for an existing function (code signing's): ``check_code``
    at UpdateFunctionCode, ``check_layers`` at UpdateFunctionConfiguration's Layers, before anything
    is stored."""

    def check_code(self, name: str) -> None: ...

    def check_layers(self, name: str, layers: tuple[LayerRef, ...]) -> None: ...


# Lambda's words for a code object without a source, and for a ZipFile of no bytes (functions' and layers').
NO_SOURCE = "Please provide a source for function code."
EMPTY_ZIP = "Uploaded file must be a non-empty zip"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def _revision() -> str:
    return str(uuid.uuid4())


class FunctionService:
    def __init__(
        self,
        store: Store,
        code: CodeStore,
        runtimes: RuntimeRegistry,
        settings: Settings,
        changes: Changes,
        layers: LayerService,
        overlays: LayerOverlays,
    ) -> None:
        self._store = store
        self._code = code
        self._layers = layers
        self._overlays = overlays
        self._runtimes = runtimes
        self._settings = settings
        self._changes = changes
        self._functions: dict[str, FunctionConfig] = {}
        self._settled: dict[tuple[str, str], asyncio.Event] = {}  # (function, version) -> code prepared
        self._check_role: Callable[[str], Awaitable[None]] | None = None  # IAM's (check_roles_with)
        self._check_dead_letter: Callable[[str, str], None] | None = None  # IAM's (check_dead_letters_with)
        self.versions = Versions(store)
        self.aliases = Aliases(store, settings, self.versions, changes)
        self._tasks: set[asyncio.Task[None]] = set()
        # (function, version) -> how many preparations of its code this server runs (an update may
        # start one before the last ended)
        self._preparing: dict[tuple[str, str], int] = {}
        self._claims: PreparationClaims | None = None  # with other servers on the database (``claim_with``)
        self._hooks: list[FunctionHook] = []
        self._deployment_checks: list[DeploymentCheck] = []
        self._closing = asyncio.Event()  # set at close: a state delay ends early

    def add_hook(self, hook: FunctionHook) -> None:
        self._hooks.append(hook)

    def add_deployment_check(self, check: DeploymentCheck) -> None:
        self._deployment_checks.append(check)

    def check_roles_with(self, check: Callable[[str], Awaitable[None]]) -> None:
        """Have ``check`` (IAM's: the role must exist and trust Lambda) approve a function's Role at
        CreateFunction and UpdateFunctionConfiguration, before anything is stored."""
        self._check_role = check

    def check_dead_letters_with(self, check: Callable[[str, str], None]) -> None:
        """Have ``check`` (IAM's: the role must be allowed to send to it) approve a function's
        (Role, DeadLetterConfig target) at CreateFunction and at an UpdateFunctionConfiguration that
        changes either, before anything is stored."""
        self._check_dead_letter = check

    async def load(self) -> None:
        """Read every function from the store; finish preparing any a crash left half-prepared."""
        after: str | None = None
        while batch := await self._store.list_functions(after, 500):
            for fn in batch:
                self._functions[fn.name] = fn
            after = batch[-1].name
        pending_versions = []
        for name in list(self._functions):
            pending_versions += [fn for fn in await self.versions.load(name) if fn.state is State.PENDING]
            await self.aliases.load(name)
        if self._settings.database_url is None:
            # Replicas sharing a database share the code folder too: code another one has just
            # stored, and not yet recorded, is not to be told from code no function uses.
            await self.collect_code()
        for fn in self._functions.values():
            if fn.state is State.PENDING or fn.update_status is UpdateStatus.IN_PROGRESS:
                self._prepare(fn)
        for fn in pending_versions:
            self._prepare(fn)

    async def close(self) -> None:
        """Wait for code being prepared; nothing is left half-done."""
        self._closing.set()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- reading ---------------------------------------------------------------------------

    def get(self, name: str) -> FunctionConfig:
        fn = self._functions.get(name)
        if fn is None:
            raise ResourceNotFound(f"Function not found: {self._settings.function_arn(name)}")
        return fn

    def resolve(self, name: str, qualifier: str | None = None, *, draw: float | None = None) -> FunctionConfig:
        """The configuration ``qualifier`` names: ``$LATEST`` (also for ``None``), a published version,
        or an alias's version. For one invocation of an alias, pass ``draw`` (uniform in [0, 1)): the
        alias's routing picks the version with it; without it, the alias's own version.

        Raises ``ResourceNotFound`` (``Function not found: <ARN, qualified as asked>``) if the
        function, the version or the alias does not exist.
        """
        latest = self._functions.get(name)
        if latest is not None and qualifier in (None, LATEST):
            return latest
        found = None
        if latest is not None and qualifier is not None:
            if is_version_number(qualifier):
                found = self.versions.get(name, qualifier)
            elif (alias := self.aliases.find(name, qualifier)) is not None:
                target = alias.function_version if draw is None else route(alias, draw)
                found = latest if target == LATEST else self.versions.get(name, target)
        if found is None:
            raise ResourceNotFound(f"Function not found: {self._settings.function_arn(name, qualifier)}")
        return found

    def list(self, marker: str | None, max_items: int) -> tuple[list[FunctionConfig], str | None]:
        names = sorted(self._functions)
        start = 0
        if marker:
            start = next((i for i, n in enumerate(names) if n > marker), len(names))
        page = names[start : start + max_items]
        more = start + max_items < len(names)
        return [self._functions[n] for n in page], (page[-1] if more and page else None)

    def list_all(self, marker: str | None, max_items: int) -> tuple[builtins.list[FunctionConfig], str | None]:
        """ListFunctions with FunctionVersion=ALL: each function by name, its $LATEST then its published
        versions by number; the marker is the last one listed, as ``<name>:<version>``."""
        entries = [fn for name in sorted(self._functions)
                   for fn in [self._functions[name], *self.versions.list_for(name)]]  # fmt: skip
        start = 0
        if marker:
            keys = [f"{fn.name}:{fn.version}" for fn in entries]
            start = keys.index(marker) + 1 if marker in keys else next(
                (i for i, fn in enumerate(entries) if fn.name > marker.partition(":")[0]), len(entries))
        page = entries[start : start + max_items]
        more = start + max_items < len(entries)
        return page, (f"{page[-1].name}:{page[-1].version}" if more and page else None)

    async def wait_settled(self, name: str, timeout: float, version: str = LATEST) -> FunctionConfig:
        """The function (or version) once no code is being prepared for it (at most ``timeout`` seconds)."""
        event = self._settled.get((name, version))
        if event is not None:
            await wait_set(event, timeout)
        return self.resolve(name, version)

    # -- writing ---------------------------------------------------------------------------

    async def create(self, body: Body) -> FunctionConfig:
        limits = self._settings.limits
        # The model's constraints first, every violation named at once in its members' order.
        checks = Checks()
        checked_name = checks.check(lambda: v.function_name(body.get("FunctionName")))
        checked_runtime = checks.check(lambda: vs.runtime(body["Runtime"])) if body.get("Runtime") is not None else None
        checked_role = checks.check(lambda: v.role(body.get("Role")))
        checked_handler = checks.check(lambda: v.handler(body["Handler"])) if body.get("Handler") is not None else None
        checks.check(lambda: v.required(body.get("Code"), "code"))
        code_body = body.get("Code")
        if isinstance(code_body, Mapping):
            checks.add(v.code_source(code_body, "code."))
            checks.add(v.kms_key_arn(code_body.get("SourceKMSKeyArn"), "code.sourceKMSKeyArn"))
        checks.done()
        name, role = str(checked_name), str(checked_role)
        publish = _flag(body, "Publish")
        if body.get("PackageType", "Zip") != "Zip":
            raise InvalidParameterValue("Lamina runs .zip deployment packages; container images are not supported.")
        if checked_runtime is None or checked_handler is None:
            raise InvalidParameterValue("Runtime and Handler are mandatory parameters for functions created with .zip deployment packages.")
        runtime, handler = checked_runtime, checked_handler
        vs.check_supported(runtime)
        await asyncio.to_thread(self._runtimes.get, runtime)
        arches = v.architectures(body.get("Architectures", ["x86_64"]))
        await asyncio.to_thread(architecture.check, runtime, arches)
        if name in self._functions:
            raise ResourceConflict(f"Function already exist: {name}")
        if self._check_role is not None:
            await self._check_role(role)
        dead_letter = None
        if "DeadLetterConfig" in body:
            dead_letter = v.dead_letter_target(body["DeadLetterConfig"], removable=False)
        if dead_letter and self._check_dead_letter is not None:
            self._check_dead_letter(role, dead_letter)
        extra = _configured(body, name)
        f.check_snap_start(str(extra.get("snap_start", "None")), runtime)
        for hook in self._hooks:
            hook.check_create(body)
        code = await self._put_code(body.get("Code"))
        layers = await self._layers.resolve(body.get("Layers", []))
        self._check_total_size(code, layers)
        await self._check_merge(layers)
        fn = FunctionConfig(
            name=name,
            runtime=runtime,
            handler=handler,
            role=role,
            code=code,
            memory_mb=v.memory_size(body.get("MemorySize", 128), limits),
            timeout_s=v.timeout(body.get("Timeout", 3), limits),
            ephemeral_mb=v.ephemeral_storage(body.get("EphemeralStorage", {"Size": 512}), limits),
            description=v.description(body.get("Description", "")),
            environment=v.environment(body.get("Environment", {})),
            architectures=arches,
            layers=layers,
            dead_letter_target=dead_letter,
            state=State.PENDING,
            state_reason=CREATING,
            update_status=UpdateStatus.IN_PROGRESS,
            update_reason=CREATING,
            last_modified=_now(),
            revision_id=_revision(),
        )
        fn = dataclasses.replace(fn, **extra)  # type: ignore[arg-type]
        if name in self._functions:  # created concurrently while the code was stored
            raise ResourceConflict(f"Function already exist: {name}")
        self._functions[name] = fn
        try:
            await self._store.create_function(fn)
        except BaseException:
            self._functions.pop(name, None)
            raise
        for hook in self._hooks:
            await hook.created(fn, body)
        await self._changes.publish(FunctionUpdated(name, LATEST, fn.generation))
        settled = self._prepare(fn)
        return await self._publish_prepared(name, settled) if publish else fn

    async def update_code(self, name: str | Callable[[], str], body: Body) -> FunctionConfig:
        """UpdateFunctionCode; with ``Publish``, the version it publishes.

        The model's constraints come first, every violation named at once in its members' order, before
        the function is looked up (as UpdateFunctionConfiguration's); ``name`` is the function's, or what checks
        the FunctionName member and answers it."""
        checks = Checks()
        checked_name = checks.check(name) if callable(name) else name
        checks.add(v.code_source(body))
        checked_arches = None
        if "Architectures" in body:
            checked_arches = checks.check(lambda: v.architectures(body["Architectures"]))
        if body.get("PublishTo") is not None:
            checks.check(lambda: v.enum(body["PublishTo"], "publishTo", ("LATEST_PUBLISHED",)))
        checks.add(v.kms_key_arn(body.get("SourceKMSKeyArn"), "sourceKMSKeyArn"))
        checks.done()
        name = str(checked_name)
        publish = _flag(body, "Publish")
        fn = self._writable(name, body)
        for check in self._deployment_checks:
            check.check_code(name)
        arches = fn.architectures
        if checked_arches is not None:  # UpdateFunctionCode's, as on Lambda
            arches = checked_arches
            await asyncio.to_thread(architecture.check, fn.runtime, arches)
        code = await self._put_code(body)
        self._check_total_size(code, fn.layers)
        updated = dataclasses.replace(
            fn, code=code, architectures=arches, update_status=UpdateStatus.IN_PROGRESS,
            update_reason=CREATING, last_modified=_now(), revision_id=_revision(), config_revision="",
        )  # fmt: skip
        await self._commit(updated, fn)
        settled = self._prepare(updated)
        return await self._publish_prepared(name, settled) if publish else updated

    async def update_configuration(self, name: str | Callable[[], str], body: Body) -> FunctionConfig:
        """UpdateFunctionConfiguration; ``name`` is the function's, or what checks the
        FunctionName member (the first of the model's) and answers it."""
        limits = self._settings.limits
        # The model's constraints first (before the function is looked up), every violation named at
        # once in the order of UpdateFunctionConfiguration's members.
        members: tuple[tuple[str, str, Callable[[object], object]], ...] = (
            ("Role", "role", v.role), ("Handler", "handler", v.handler), ("Description", "description", v.description),
            ("Timeout", "timeout_s", lambda value: v.timeout(value, limits)),
            ("MemorySize", "memory_mb", lambda value: v.memory_size(value, limits)),
            ("Runtime", "runtime", vs.runtime),
        )  # fmt: skip
        checks = Checks()
        checked_name = checks.check(name) if callable(name) else name
        changes: dict[str, object] = {
            attribute: checks.check(lambda check=check, key=key: check(body[key]))  # type: ignore[misc]
            for key, attribute, check in members if key in body
        }  # fmt: skip
        checks.done()
        name = str(checked_name)
        fn = self._writable(name, body)
        if "runtime" in changes:
            vs.check_supported(str(changes["runtime"]))
            await asyncio.to_thread(self._runtimes.get, str(changes["runtime"]))
            await asyncio.to_thread(architecture.check, str(changes["runtime"]), fn.architectures)
        if "role" in changes and self._check_role is not None:
            await self._check_role(str(changes["role"]))
        if "EphemeralStorage" in body:
            changes["ephemeral_mb"] = v.ephemeral_storage(body["EphemeralStorage"], limits)
        if "Environment" in body:
            changes["environment"] = v.environment(body["Environment"])
        if "DeadLetterConfig" in body:
            changes["dead_letter_target"] = v.dead_letter_target(body["DeadLetterConfig"], removable=True)
        dead_letter = changes.get("dead_letter_target", fn.dead_letter_target)
        if dead_letter and self._check_dead_letter is not None and ({"role", "dead_letter_target"} & changes.keys()):
            self._check_dead_letter(str(changes.get("role", fn.role)), str(dead_letter))
        changes.update(_configured(body, name))
        f.check_snap_start(str(changes.get("snap_start", fn.snap_start)), str(changes.get("runtime", fn.runtime)))
        if "Layers" in body:
            layers = await self._layers.resolve(body["Layers"])
            for check in self._deployment_checks:
                check.check_layers(name, layers)
            self._check_total_size(fn.code, layers)
            await self._check_merge(layers)
            changes["layers"] = layers
        updated = dataclasses.replace(
            fn, **changes, update_status=UpdateStatus.IN_PROGRESS, update_reason=CREATING,  # type: ignore[arg-type]
            last_modified=_now(), revision_id=_revision(), config_revision="",
        )  # fmt: skip
        await self._commit(updated, fn)
        self._prepare(updated)
        return updated

    async def delete(self, name: str) -> None:
        """DeleteFunction. Of concurrent calls, the one whose store delete removed the record wins;
        the others are ``ResourceNotFound``, as on Lambda."""
        self.get(name)
        if await self._store.delete_function(name) is None:
            raise ResourceNotFound(f"Function not found: {self._settings.function_arn(name)}")
        self._functions.pop(name, None)
        self.versions.forget(name)
        self.aliases.forget(name)
        for key in [key for key in self._settled if key[0] == name]:
            del self._settled[key]
        await self._changes.publish(FunctionDeleted(name))

    async def reread(self, name: str) -> None:
        """Another server changed ``name`` (its $LATEST, versions or aliases) in the store this one
        shares: read it again, and publish what changed as if it had been changed here."""
        fn = await self._store.get_function(name)
        if fn is None:
            if self._functions.pop(name, None) is not None:
                self.versions.forget(name)
                self.aliases.forget(name)
                await self._changes.publish(FunctionDeleted(name))
            return
        previous = self._functions.get(name)
        versions = {v.version: v for v in self.versions.list_for(name)}
        aliases = {a.name: a for a in self.aliases.list_for(name)}
        self._functions[name] = fn
        await self.versions.load(name)
        await self.aliases.load(name)
        if fn != previous:
            await self._changes.publish(FunctionUpdated(name, LATEST, fn.generation))
        for version in self.versions.list_for(name):
            if versions.pop(version.version, None) != version:
                await self._changes.publish(FunctionUpdated(name, version.version, version.generation))
        for gone in versions:
            await self._changes.publish(VersionDeleted(name, gone))
        for alias in self.aliases.list_for(name):
            if aliases.pop(alias.name, None) != alias:
                await self._changes.publish(AliasChanged(name, alias.name, alias.function_version))
        for gone in aliases:
            await self._changes.publish(AliasChanged(name, gone, None))

    async def reread_all(self) -> builtins.list[str]:
        """Read every function again (changes of other servers may have been missed); returns the
        names read (those deleted meanwhile included)."""
        names = set(self._functions)
        after: str | None = None
        while batch := await self._store.list_functions(after, 500):
            names.update(fn.name for fn in batch)
            after = batch[-1].name
        for name in sorted(names):
            await self.reread(name)
        return sorted(names)

    async def publish_version(self, name: str, body: Body) -> FunctionConfig:
        """PublishVersion: ``$LATEST`` as the next version, or the last version if nothing changed since."""
        check_code_sha256(self._writable(name, body), v.string(body, "CodeSha256"))
        text = body.get("Description")
        return await self._publish(name, None if text is None else v.description(text))

    async def delete_version(self, name: str, qualifier: str) -> None:
        """DeleteFunction with a Qualifier: one published version, unless an alias routes to it.
        A version that does not exist (any more) is not an error, as on Lambda."""
        check_deletable(qualifier)
        self.get(name)
        check_unreferenced(self.aliases.referencing(name, qualifier))
        if self.versions.get(name, qualifier) is not None:
            await self.versions.delete(name, qualifier)
            self._settled.pop((name, qualifier), None)
            await self._changes.publish(VersionDeleted(name, qualifier))

    def revision(self, name: str, qualifier: str) -> str:
        """The RevisionId of ``$LATEST``, a version or an alias (``ResourceNotFound`` if none)."""
        if qualifier != LATEST and not is_version_number(qualifier):
            alias = self.aliases.find(name, qualifier)
            if alias is None:
                raise ResourceNotFound(f"Function not found: {self._settings.function_arn(name, qualifier)}")
            return alias.revision_id
        return self.resolve(name, qualifier).revision_id

    async def rotate_revision(self, name: str, qualifier: str, revision: str) -> None:
        """Give ``$LATEST``, a version or an alias the RevisionId ``revision``, as Lambda does when its
        resource policy changes; its code and configuration stay (so does its generation: warm
        environments stay)."""
        if qualifier != LATEST and not is_version_number(qualifier):
            await self.aliases.rotate_revision(name, qualifier, revision)
            return
        fn = self.resolve(name, qualifier)
        rotated = dataclasses.replace(fn, revision_id=revision, config_revision=fn.generation)
        if not fn.is_latest:
            await self.versions.update(rotated)
            return
        if self._functions.get(name) is not fn:
            raise ResourceConflict(f"The function {name} was changed concurrently; try again.")
        self._functions[name] = rotated
        try:
            await self._store.put_function(rotated, expected_revision=fn.revision_id)
        except BaseException:
            if self._functions.get(name) is rotated:
                self._functions[name] = fn
            raise

    # -- internals -------------------------------------------------------------------------

    def _check_total_size(self, code: Code, layers: tuple[LayerRef, ...]) -> None:
        limit = self._settings.limits.unzipped_code_bytes
        total = code.unzipped + sum(layer.code.unzipped for layer in layers)
        if total > limit:
            raise InvalidParameterValue(
                f"Function code combined with layers exceeds the maximum allowed size of {limit} bytes. "
                f"The actual size is {total} bytes."
            )

    async def _check_merge(self, layers: tuple[LayerRef, ...]) -> None:
        """Refuse layers whose merged /opt would hold a link leading out of it (``InvalidParameterValue``)."""
        await asyncio.to_thread(self._overlays.check, [layer.code.digest for layer in layers])

    def _writable(self, name: str, body: Body) -> FunctionConfig:
        """The function, if it may be changed now (no update in progress, RevisionId matching)."""
        fn = self.get(name)
        if fn.update_status is UpdateStatus.IN_PROGRESS or fn.state is State.PENDING:
            raise ResourceConflict(
                f"The operation cannot be performed at this time. An update is in progress for resource: "
                f"{self._settings.function_arn(name)}"
            )
        revision = v.string(body, "RevisionId")
        if revision is not None and revision != fn.revision_id:
            raise stale_revision()
        return fn

    async def _publish_prepared(self, name: str, settled: asyncio.Event) -> FunctionConfig:
        """``Publish``'s version, once ``$LATEST`` has settled: the settling gives it a new RevisionId,
        which a version published meanwhile would race (milliseconds: the code is unzipped)."""
        await settled.wait()
        return await self._publish(name, None)

    async def _publish(self, name: str, description: str | None) -> FunctionConfig:
        """Publish what ``$LATEST`` is now as the next version; if that is what the last version
        published, return it instead. ``$LATEST`` gets a new RevisionId, as on Lambda, but keeps its
        generation: its environments stay warm."""
        latest = self.get(name)
        last = self.versions.last_published(name)
        if last is not None and unchanged(latest, last):
            return last
        version = snapshot(latest, self.versions.next_number(name), description, _revision())
        bumped = dataclasses.replace(latest, revision_id=_revision(), config_revision=latest.generation)
        self._functions[name] = bumped
        try:
            await self.versions.add(version)
            await self._store.put_function(bumped, expected_revision=latest.revision_id)
        except BaseException:
            if self._functions.get(name) is bumped:
                self._functions[name] = latest
            raise
        await self._changes.publish(FunctionUpdated(name, version.version, version.generation))
        if version.state is State.PENDING:
            self._prepare(version)
        return version

    async def _commit(self, updated: FunctionConfig, previous: FunctionConfig) -> None:
        if self._functions.get(updated.name) is not previous:
            raise ResourceConflict(f"The function {updated.name} was changed concurrently; try again.")
        self._functions[updated.name] = updated
        # Published as soon as invocations resolve to it (they read memory): the scheduler keeps the
        # environments of the generation they run, not those of the one the store still holds.
        await self._changes.publish(FunctionUpdated(updated.name, LATEST, updated.generation))
        try:
            await self._store.put_function(updated, expected_revision=previous.revision_id)
        except BaseException:
            if self._functions.get(updated.name) is updated:
                self._functions[updated.name] = previous
                await self._changes.publish(FunctionUpdated(previous.name, LATEST, previous.generation))
            raise

    async def put_code(self, code: object) -> Code:
        """Check and store a ``{"ZipFile": base64}`` code object (functions' and layers' alike)."""
        return await self._put_code(code)

    async def _put_code(self, code: object) -> Code:
        if not isinstance(code, Mapping) or code.get("ZipFile") is None:
            if isinstance(code, Mapping) and (code.get("S3Bucket") is not None or code.get("ImageUri") is not None):
                raise InvalidParameterValue(
                    "Lamina takes code as ZipFile (a base64 .zip in the request); S3 and image sources are not "
                    "supported yet."
                )
            raise InvalidParameterValue(NO_SOURCE)
        encoded = code["ZipFile"]
        if not isinstance(encoded, str):
            raise InvalidParameterValue("Code.ZipFile must be base64 text")
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidParameterValue("Code.ZipFile is not valid base64.") from exc
        if not data:
            raise InvalidParameterValue(EMPTY_ZIP)
        artifact = await asyncio.to_thread(self._code.put, data)
        return Code(artifact.digest, artifact.sha256_b64, artifact.size, artifact.unzipped_size)

    def _current(self, fn: FunctionConfig) -> FunctionConfig | None:
        """What is kept now for ``fn``'s function and version (``None``: deleted)."""
        return self._functions.get(fn.name) if fn.is_latest else self.versions.get(fn.name, fn.version)

    def claim_with(self, claims: PreparationClaims) -> None:
        """Prepare a function's code only while holding its claim (other servers share the store:
        control/preparations.py)."""
        self._claims = claims

    def unsettled(self) -> builtins.list[FunctionConfig]:
        """Functions and versions Pending or InProgress whose code this server is not preparing."""
        found = [fn for name, latest in self._functions.items() for fn in (latest, *self.versions.list_for(name))]
        return [fn for fn in found if (fn.state is State.PENDING or fn.update_status is UpdateStatus.IN_PROGRESS)
                and (fn.name, fn.version) not in self._preparing]  # fmt: skip

    def prepare_claimed(self, fn: FunctionConfig) -> None:
        """Prepare ``fn``'s code, its claim held already (taken over: control/preparations.py)."""
        if (fn.name, fn.version) not in self._preparing:
            self._prepare(fn)

    def _prepare(self, fn: FunctionConfig) -> asyncio.Event:
        key = (fn.name, fn.version)
        event = self._settled.setdefault(key, asyncio.Event())
        event.clear()
        task = asyncio.create_task(self._claimed(fn, event), name=f"lamina-prepare-{fn.name}:{fn.version}")
        self._preparing[key] = self._preparing.get(key, 0) + 1
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self._prepared(key))
        return event

    def _prepared(self, key: tuple[str, str]) -> None:
        left = self._preparing.pop(key, 1) - 1
        if left:
            self._preparing[key] = left

    async def _claimed(self, fn: FunctionConfig, settled: asyncio.Event) -> None:
        """``_activate``, under the claim of ``fn``'s preparation when other servers share the store:
        one that another holds is left to it (it is taken over should that one die)."""
        claims = self._claims
        if claims is None:
            await self._activate(fn, settled)
            return
        now = int(time.time() * 1000)
        if not await claims.claim_preparation(fn.name, fn.version, now, now + claims.claim_ms):
            settled.set()
            return
        try:
            await self._activate(fn, settled)
        finally:
            try:
                if self._preparing.get((fn.name, fn.version), 0) <= 1:  # not while a later one runs here
                    await claims.finish_preparation(fn.name, fn.version)
            except Exception as exc:  # it ends by itself: this server stops renewing it once prepared
                log.warning("could not give back the claim on preparing %s:%s: %s", fn.name, fn.version, exc)

    async def _activate(self, fn: FunctionConfig, settled: asyncio.Event) -> None:
        """Unzip the code of ``fn`` ($LATEST or a version), then mark it Active / Successful (or Failed,
        with the reason). The new state is kept in memory before it is stored, so that a change
        made meanwhile (publishing a version gives $LATEST a new RevisionId) builds on it."""
        started = time.monotonic()
        if self._settings.state_delay_seconds > 0:
            await wait_set(self._closing, self._settings.state_delay_seconds)
        latest_settled = self._settled.get((fn.name, LATEST))
        if not fn.is_latest and latest_settled is not None:
            await latest_settled.wait()  # the same code, most likely: unzipped once, then found ready
        try:
            await asyncio.to_thread(self._code.extract, fn.code.digest)
            if fn.layers:
                await asyncio.to_thread(self._overlays.merged, [layer.code.digest for layer in fn.layers])
            failure = ""
        except Exception as exc:
            log.warning("preparing code for %s failed: %s", fn.name, exc)
            failure = getattr(exc, "message", str(exc))
        current = self._current(fn)
        if current is None or current.generation != fn.generation:
            settled.set()
            return  # deleted or changed again meanwhile; the newer change prepares its own code
        if current.state is State.PENDING:
            ready = dataclasses.replace(
                current, state=State.FAILED if failure else State.ACTIVE, state_reason=failure,
                update_status=UpdateStatus.FAILED if failure else UpdateStatus.SUCCESSFUL,
                update_reason=failure,
            )  # fmt: skip
        else:
            ready = dataclasses.replace(
                current, update_status=UpdateStatus.FAILED if failure else UpdateStatus.SUCCESSFUL,
                update_reason=failure,
            )  # fmt: skip
        if ready.is_latest:  # a new RevisionId, as on Lambda, but not a new generation: nothing else changed
            ready = dataclasses.replace(ready, revision_id=_revision(), config_revision=current.generation)
        try:
            if ready.is_latest:
                self._functions[fn.name] = ready
                await self._store.put_function(ready)
            elif not await self.versions.update(ready):
                return
            log.info("function %s:%s ready in %.1f ms", fn.name, fn.version, (time.monotonic() - started) * 1000)
        except NotFound:  # deleted while it was prepared
            pass
        except Exception:
            log.exception("could not record the state of %s", fn.name)
            raise ServiceError(f"could not record the state of {fn.name}") from None
        finally:
            settled.set()

    async def collect_code(self) -> int:
        """Remove code artifacts no function refers to; run at start-up, before any environment exists.

        (Environments run from unzipped code, so it is never removed while one might still use it.)
        """
        in_use = await self._store.code_in_use()
        unused = (await asyncio.to_thread(self._code.digests)) - in_use
        for digest in unused:
            await asyncio.to_thread(self._code.delete, digest)
        return len(unused)

    def files(self, fn: FunctionConfig) -> tuple[Path, Path | None]:
        """Where ``fn``'s code and merged layers are (prepared when it became Active / Successful)."""
        task_root = self._code.extract(fn.code.digest)
        opt = self._overlays.merged([layer.code.digest for layer in fn.layers]) if fn.layers else None
        return task_root, opt


def _configured(body: Body, name: str) -> dict[str, object]:
    """The FunctionConfig fields CreateFunction's or UpdateFunctionConfiguration's other members
    set (``control/fields.py``): only those present in ``body``."""
    changes: dict[str, object] = {}
    if "Environment" in body:
        changes["environment_set"] = True
    if "TracingConfig" in body:
        changes["tracing_mode"] = f.tracing_mode(body["TracingConfig"])
    if "LoggingConfig" in body:
        changes["logging"] = f.logging_config(body["LoggingConfig"], name)
    if "VpcConfig" in body:
        changes["vpc"] = f.vpc_config(body["VpcConfig"])
    if "FileSystemConfigs" in body:
        changes["file_systems"] = f.file_system_configs(body["FileSystemConfigs"])
    if "KMSKeyArn" in body:
        changes["kms_key_arn"] = f.kms_key_arn(body["KMSKeyArn"])
    if "SnapStart" in body:
        changes["snap_start"] = f.snap_start(body["SnapStart"])
    if "ImageConfig" in body:
        f.refuse_image_config(body["ImageConfig"])
    return changes


def _flag(body: Body, key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise InvalidParameterValue(f"{key} must be a boolean")
    return value
