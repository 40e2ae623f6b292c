"""The function control plane: create, read, update and delete functions, and their state machine.

``FunctionService`` is the only writer of function records. It keeps every function's current
configuration in memory (the invocation path reads it without touching the store) and writes
through to the store before it answers. New code is prepared (unzipped) in the background:

    create:       State Pending  --prepared--> Active        (or Failed, with StateReason)
    update code:  LastUpdateStatus InProgress --prepared--> Successful (or Failed)

Every change gets a new RevisionId; environments of an older revision are retired.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import logging
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Mapping

from lamina.control import validation as v
from lamina.errors import (
    InvalidParameterValue,
    PreconditionFailed,
    ResourceConflict,
    ResourceNotFound,
    ServiceError,
)
from lamina.control.layers import LayerService
from lamina.model import Code, FunctionConfig, LayerRef, State, UpdateStatus
from lamina.runtime.runtimes import RuntimeRegistry
from lamina.settings import Settings
from lamina.store.base import Store
from lamina.store.code import CodeStore
from lamina.store.overlay import LayerOverlays

log = logging.getLogger(__name__)

Body = Mapping[str, object]
# How long create and update wait for the code to be unzipped before answering Pending / InProgress.
PREPARE_WAIT_SECONDS = 1.0


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
        retire: Callable[[str], None],
        layers: LayerService,
        overlays: LayerOverlays,
    ) -> None:
        self._store = store
        self._code = code
        self._layers = layers
        self._overlays = overlays
        self._runtimes = runtimes
        self._settings = settings
        self._retire = retire
        self._functions: dict[str, FunctionConfig] = {}
        self._settled: dict[str, asyncio.Event] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def load(self) -> None:
        """Read every function from the store; finish preparing any a crash left half-prepared."""
        after: str | None = None
        while batch := await self._store.list_functions(after, 500):
            for fn in batch:
                self._functions[fn.name] = fn
            after = batch[-1].name
        await self.collect_code()
        for fn in self._functions.values():
            if fn.state is State.PENDING or fn.update_status is UpdateStatus.IN_PROGRESS:
                self._prepare(fn)

    async def close(self) -> None:
        """Wait for code being prepared; nothing is left half-done."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- reading ---------------------------------------------------------------------------

    def get(self, name: str) -> FunctionConfig:
        fn = self._functions.get(name)
        if fn is None:
            raise ResourceNotFound(f"Function not found: {self._settings.function_arn(name)}")
        return fn

    def list(self, marker: str | None, max_items: int) -> tuple[list[FunctionConfig], str | None]:
        names = sorted(self._functions)
        start = 0
        if marker:
            start = next((i for i, n in enumerate(names) if n > marker), len(names))
        page = names[start : start + max_items]
        more = start + max_items < len(names)
        return [self._functions[n] for n in page], (page[-1] if more and page else None)

    async def wait_settled(self, name: str, timeout: float) -> FunctionConfig:
        """The function once no code is being prepared for it (at most ``timeout`` seconds)."""
        event = self._settled.get(name)
        if event is not None:
            try:
                await asyncio.wait_for(event.wait(), timeout)
            except TimeoutError:
                pass
        return self.get(name)

    # -- writing ---------------------------------------------------------------------------

    async def create(self, body: Body) -> FunctionConfig:
        limits = self._settings.limits
        name = v.function_name(body.get("FunctionName"))
        if body.get("PackageType", "Zip") != "Zip":
            raise InvalidParameterValue("Lamina runs .zip deployment packages; container images are not supported.")
        runtime = v.string(body, "Runtime")
        if runtime is None:
            raise InvalidParameterValue("Runtime and Handler are mandatory parameters for functions created with .zip deployment packages.")
        await asyncio.to_thread(self._runtimes.get, runtime)
        handler = v.handler(body.get("Handler"))
        role = v.role(body.get("Role"))
        if name in self._functions:
            raise ResourceConflict(f"Function already exist: {name}")
        code = await self._put_code(body.get("Code"))
        layers = await self._layers.resolve(body.get("Layers", []))
        self._check_total_size(code, layers)
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
            architectures=v.architectures(body.get("Architectures", ["x86_64"])),
            layers=layers,
            state=State.PENDING,
            state_reason="The function is being created.",
            update_status=UpdateStatus.SUCCESSFUL,
            last_modified=_now(),
            revision_id=_revision(),
        )
        if name in self._functions:  # created concurrently while the code was stored
            raise ResourceConflict(f"Function already exist: {name}")
        self._functions[name] = fn
        try:
            await self._store.create_function(fn)
        except BaseException:
            self._functions.pop(name, None)
            raise
        return await self._prepare_briefly(fn)

    async def update_code(self, name: str, body: Body) -> FunctionConfig:
        fn = self._writable(name, body)
        code = await self._put_code(body)
        self._check_total_size(code, fn.layers)
        updated = dataclasses.replace(
            fn, code=code, update_status=UpdateStatus.IN_PROGRESS,
            update_reason="The function is being created.", last_modified=_now(), revision_id=_revision(),
        )  # fmt: skip
        await self._commit(updated, fn)
        return await self._prepare_briefly(updated)

    async def update_configuration(self, name: str, body: Body) -> FunctionConfig:
        fn = self._writable(name, body)
        limits = self._settings.limits
        changes: dict[str, object] = {}
        if "Runtime" in body:
            runtime = v.string(body, "Runtime")
            if runtime is None:
                raise InvalidParameterValue("Runtime must be a string")
            await asyncio.to_thread(self._runtimes.get, runtime)
            changes["runtime"] = runtime
        if "Handler" in body:
            changes["handler"] = v.handler(body["Handler"])
        if "Role" in body:
            changes["role"] = v.role(body["Role"])
        if "MemorySize" in body:
            changes["memory_mb"] = v.memory_size(body["MemorySize"], limits)
        if "Timeout" in body:
            changes["timeout_s"] = v.timeout(body["Timeout"], limits)
        if "EphemeralStorage" in body:
            changes["ephemeral_mb"] = v.ephemeral_storage(body["EphemeralStorage"], limits)
        if "Description" in body:
            changes["description"] = v.description(body["Description"])
        if "Environment" in body:
            changes["environment"] = v.environment(body["Environment"])
        if "Layers" in body:
            layers = await self._layers.resolve(body["Layers"])
            self._check_total_size(fn.code, layers)
            changes["layers"] = layers
        updated = dataclasses.replace(
            fn, **changes, update_status=UpdateStatus.SUCCESSFUL, update_reason="",  # type: ignore[arg-type]
            last_modified=_now(), revision_id=_revision(),
        )  # fmt: skip
        await self._commit(updated, fn)
        return updated

    async def delete(self, name: str) -> None:
        fn = self.get(name)
        await self._store.delete_function(name)
        if self._functions.get(name) is fn or name in self._functions:
            del self._functions[name]
        self._retire(name)

    # -- internals -------------------------------------------------------------------------

    def _check_total_size(self, code: Code, layers: tuple[LayerRef, ...]) -> None:
        limit = self._settings.limits.unzipped_code_bytes
        total = code.unzipped + sum(layer.code.unzipped for layer in layers)
        if total > limit:
            raise InvalidParameterValue(
                f"Function code combined with layers exceeds the maximum allowed size of {limit} bytes. "
                f"The actual size is {total} bytes."
            )

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
            raise PreconditionFailed(
                "The Revision Id provided does not match the latest Revision Id. "
                "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
            )
        return fn

    async def _commit(self, updated: FunctionConfig, previous: FunctionConfig) -> None:
        if self._functions.get(updated.name) is not previous:
            raise ResourceConflict(f"The function {updated.name} was changed concurrently; try again.")
        self._functions[updated.name] = updated
        try:
            await self._store.put_function(updated, expected_revision=previous.revision_id)
        except BaseException:
            if self._functions.get(updated.name) is updated:
                self._functions[updated.name] = previous
            raise
        self._retire(updated.name)

    async def put_code(self, code: object) -> Code:
        """Check and store a ``{"ZipFile": base64}`` code object (functions' and layers' alike)."""
        return await self._put_code(code)

    async def _put_code(self, code: object) -> Code:
        if not isinstance(code, Mapping):
            raise InvalidParameterValue("Code is required: {\"ZipFile\": <base64 of a .zip file>}")
        if "ZipFile" not in code:
            if "S3Bucket" in code or "ImageUri" in code:
                raise InvalidParameterValue(
                    "Lamina takes code as ZipFile (a base64 .zip in the request); S3 and image sources are not "
                    "supported yet."
                )
            raise InvalidParameterValue("Code.ZipFile is required: the base64 of a .zip file")
        encoded = code["ZipFile"]
        if not isinstance(encoded, str):
            raise InvalidParameterValue("Code.ZipFile must be base64 text")
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidParameterValue("Code.ZipFile is not valid base64.") from exc
        artifact = await asyncio.to_thread(self._code.put, data)
        return Code(artifact.digest, artifact.sha256_b64, artifact.size, artifact.unzipped_size)

    async def _prepare_briefly(self, fn: FunctionConfig) -> FunctionConfig:
        """Start preparing ``fn``'s code and wait a moment for it: small packages answer already Active.

        Larger ones answer Pending / InProgress and finish in the background, as Lambda does.
        """
        event = self._prepare(fn)
        try:
            await asyncio.wait_for(event.wait(), PREPARE_WAIT_SECONDS)
        except TimeoutError:
            pass
        current = self._functions.get(fn.name)
        return current if current is not None and current.revision_id == fn.revision_id else fn

    def _prepare(self, fn: FunctionConfig) -> asyncio.Event:
        event = self._settled.setdefault(fn.name, asyncio.Event())
        event.clear()
        task = asyncio.create_task(self._activate(fn, event), name=f"lamina-prepare-{fn.name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return event

    async def _activate(self, fn: FunctionConfig, settled: asyncio.Event) -> None:
        """Unzip the function's code, then mark it Active / Successful (or Failed, with the reason)."""
        started = time.monotonic()
        try:
            await asyncio.to_thread(self._code.extract, fn.code.digest)
            if fn.layers:
                await asyncio.to_thread(self._overlays.merged, [layer.code.digest for layer in fn.layers])
            failure = ""
        except Exception as exc:
            log.warning("preparing code for %s failed: %s", fn.name, exc)
            failure = getattr(exc, "message", str(exc))
        current = self._functions.get(fn.name)
        if current is None or current.revision_id != fn.revision_id:
            settled.set()
            return  # deleted or changed again meanwhile; the newer change prepares its own code
        if fn.state is State.PENDING:
            ready = dataclasses.replace(
                fn, state=State.FAILED if failure else State.ACTIVE, state_reason=failure,
                update_status=UpdateStatus.FAILED if failure else UpdateStatus.SUCCESSFUL,
            )  # fmt: skip
        else:
            ready = dataclasses.replace(
                fn, update_status=UpdateStatus.FAILED if failure else UpdateStatus.SUCCESSFUL, update_reason=failure
            )
        try:
            await self._store.put_function(ready)
            self._functions[fn.name] = ready
            log.info("function %s ready in %.1f ms", fn.name, (time.monotonic() - started) * 1000)
        except ResourceNotFound:
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
