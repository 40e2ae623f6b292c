"""One stack operation carried out: create, update or delete, resource by resource in dependency
order (deletion in reverse), each step recorded as CloudFormation's stack events and statuses, and
rolled back on failure as CloudFormation does (ROLLBACK_* after a failed create, UPDATE_ROLLBACK_*
after a failed update). Resources are handled one at a time: CloudFormation works on independent
ones in parallel, the order of their events may differ, not what they end as.

``record`` stores the stack and an event (one write) before the operation moves on, so what
DescribeStacks and DescribeStackEvents answer is what is stored.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping

from lamina.api.errors import from_store
from lamina.errors import ApiError
from lamina.stacks import intrinsics, plan
from lamina.store import errors as store
from lamina.stacks.errors import ResourceFailed, TemplateError
from lamina.stacks.intrinsics import Scope
from lamina.stacks.model import STACK_TYPE, Stack, StackEvent, StackResource
from lamina.stacks.resources import PROVIDERS
from lamina.stacks.resources.base import Context, Outcome, Provider
from lamina.stacks.template import MAX_URL_BODY_BYTES, Template, parse

log = logging.getLogger(__name__)
Record = Callable[[Stack, StackEvent | None], Awaitable[None]]


class _Failed(Exception):
    def __init__(self, logical_id: str, reason: str) -> None:
        super().__init__(reason)
        self.logical_id, self.reason = logical_id, reason


class RecordingExports(dict[str, str]):
    """The exports a template may import, noting which it did."""

    def __init__(self, exports: Mapping[str, str]) -> None:
        super().__init__(exports)
        self.used: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.used.add(key)
        return super().__getitem__(key)


@dataclass
class Run:
    """One operation on ``stack``, on behalf of ``ctx``'s caller."""

    ctx: Context
    stack: Stack
    record: Record
    exports: Callable[[str], Mapping[str, str]]  # every export but the stack's own: name -> value
    exporter: Callable[[str], str | None]  # the stack that exports a name, if any
    importers: Callable[[str], list[str]]  # the stacks that import a name

    # -- recording -----------------------------------------------------------------------------

    async def _event(self, logical_id: str, kind: str, status: str, physical: str | None = None,
                     reason: str | None = None, props: Mapping[str, Any] | None = None) -> None:  # fmt: skip
        now = time.time()
        event = StackEvent(str(uuid.uuid4()), self.stack.stack_id, self.stack.name, logical_id, kind, status, now,
                           physical, reason, json.dumps(props) if props is not None else None)  # fmt: skip
        await self.record(self.stack, event)

    async def stack_status(self, status: str, reason: str | None = None) -> None:
        self.stack.status = status
        if reason is not None or "ROLLBACK" not in status:  # a rollback's statuses keep the reason it began with
            self.stack.reason = reason
        self.stack.updated = time.time() if not status.startswith("CREATE") else self.stack.updated
        await self._event(self.stack.name, STACK_TYPE, status, self.stack.stack_id, reason)

    async def _resource(self, res: StackResource, status: str, reason: str | None = None) -> None:
        res.status, res.reason, res.updated = status, reason, time.time()
        await self._event(res.logical_id, res.type, status, res.physical_id, reason, res.properties or None)

    # -- evaluation ----------------------------------------------------------------------------

    def scope(self, template: Template, parameters: Mapping[str, str]) -> tuple[Scope, RecordingExports]:
        exports = RecordingExports(self.exports(self.stack.stack_id))
        values = {**intrinsics.pseudo_parameters(self.ctx.region, self.ctx.account_id, self.stack.name,
                                                 self.stack.stack_id),
                  **intrinsics.parameter_values(template, parameters)}  # fmt: skip
        base = Scope(values, template.mappings, exports=exports)
        conditions = intrinsics.evaluate_conditions(template, base)
        resources = self.stack.resources

        def attribute(logical_id: str, name: str) -> Any:
            found = resources.get(logical_id)
            if found is None or found.physical_id is None:
                raise TemplateError(f"Template error: instance of Fn::GetAtt references undefined resource "
                                    f"{logical_id}")  # fmt: skip
            if name not in found.attributes:
                raise TemplateError(f"Template error: resource {logical_id} does not support attribute type "
                                    f"{name} in Fn::GetAtt")  # fmt: skip
            return found.attributes[name]

        class Refs(dict[str, str]):
            def __contains__(self, key: object) -> bool:
                found = resources.get(str(key))
                return found is not None and found.ref is not None

            def __getitem__(self, key: str) -> str:
                ref = resources[key].ref
                assert ref is not None
                return ref

        return Scope(values, template.mappings, conditions, Refs(), attribute, exports), exports

    def _properties(self, template: Template, scope: Scope, logical_id: str) -> dict[str, Any]:
        try:
            value = intrinsics.evaluate(template.resources[logical_id].properties, scope)
        except TemplateError as exc:
            raise _Failed(logical_id, exc.message) from None
        return dict(value)

    @staticmethod
    def _provider(kind: str, logical_id: str) -> Provider:
        provider = PROVIDERS.get(kind)
        if provider is None:
            raise _Failed(logical_id, f"Unrecognized resource types: [{kind}] (Lamina serves "
                                      f"{', '.join(sorted(PROVIDERS))})")  # fmt: skip
        return provider

    async def _attempt(self, logical_id: str, step: Awaitable[Outcome | None]) -> Outcome | None:
        try:
            return await step
        except ResourceFailed as exc:
            raise _Failed(logical_id, exc.reason) from None
        except (ApiError, store.StoreError) as exc:  # the store's: another writer won a race
            if isinstance(exc, store.StoreError):
                exc = from_store(exc, self.ctx.svc.settings.function_arn)
            raise _Failed(logical_id, f"Resource handler returned message: \"{exc.message}\" "
                                      f"(Service: {exc.code})") from None  # fmt: skip
        except _Failed:
            raise
        except Exception as exc:  # a fault of Lamina's: the resource fails, the operation goes on to roll back
            log.exception("stack %s: resource %s failed", self.stack.name, logical_id)
            raise _Failed(logical_id, f"Internal failure: {type(exc).__name__}") from None

    def _outputs(self, template: Template, scope: Scope) -> list[dict[str, str]]:
        outputs: list[dict[str, str]] = []
        for name, spec in template.outputs.items():
            if spec.condition is not None and not scope.conditions.get(spec.condition, False):
                continue
            try:
                value = intrinsics.evaluate(spec.value, scope)
                export = intrinsics.evaluate(spec.export_name, scope) if spec.export_name is not None else None
            except TemplateError as exc:
                raise _Failed(self.stack.name, exc.message) from None
            shape = {"OutputKey": name, "OutputValue": ",".join(value) if isinstance(value, list) else str(value)}
            if spec.description is not None:
                shape["Description"] = spec.description
            if export is not None:
                owner = self.exporter(str(export))
                if owner is not None and owner != self.stack.stack_id:
                    raise _Failed(self.stack.name, f"Export with name {export} is already exported by stack "
                                                   f"{owner.split('/')[1]}")  # fmt: skip
                shape["ExportName"] = str(export)
            outputs.append(shape)
        return outputs

    # -- operations ----------------------------------------------------------------------------

    async def _create_resource(self, template: Template, scope: Scope, logical_id: str) -> StackResource:
        spec = template.resources[logical_id]
        res = StackResource(logical_id, spec.type, "CREATE_IN_PROGRESS", time.time())
        self.stack.resources[logical_id] = res
        await self._resource(res, "CREATE_IN_PROGRESS")
        provider = self._provider(spec.type, logical_id)
        res.properties = self._properties(template, scope, logical_id)
        outcome = await self._attempt(logical_id, provider.create(self.ctx, logical_id, res.properties))
        assert outcome is not None
        res.physical_id, res.ref, res.attributes = outcome.physical_id, outcome.ref, dict(outcome.attributes)
        await self._resource(res, "CREATE_COMPLETE")
        return res

    async def create(self, template: Template, on_failure: str) -> None:
        """CreateStack's (or a CREATE change set's) work: ``on_failure`` ROLLBACK, DELETE or DO_NOTHING."""
        await self.stack_status("CREATE_IN_PROGRESS", "User Initiated")
        try:
            scope, exports = self.scope(template, self.stack.parameters)
            for logical_id in plan.active(template, scope.conditions):
                await self._create_resource(template, scope, logical_id)
            self.stack.outputs = self._outputs(template, scope)
            self.stack.imports = sorted(exports.used)
        except (_Failed, TemplateError) as exc:
            failed = exc.logical_id if isinstance(exc, _Failed) else self.stack.name
            reason = exc.reason if isinstance(exc, _Failed) else exc.message
            res = self.stack.resources.get(failed)
            if res is not None and res.status == "CREATE_IN_PROGRESS":
                await self._resource(res, "CREATE_FAILED", reason)
            if on_failure == "DO_NOTHING":
                await self.stack_status("CREATE_FAILED", f"The following resource(s) failed to create: [{failed}]. ")
                return
            await self.stack_status("ROLLBACK_IN_PROGRESS", f"The following resource(s) failed to create: "
                                                             f"[{failed}]. Rollback requested by user.")  # fmt: skip
            ok = await self._delete_all(template)
            if on_failure == "DELETE" and ok:
                self.stack.deleted = time.time()
                await self.stack_status("DELETE_COMPLETE")
            else:
                await self.stack_status("ROLLBACK_COMPLETE" if ok else "ROLLBACK_FAILED")
            return
        await self.stack_status("CREATE_COMPLETE")

    async def update(self, previous: Template, template: Template, previous_parameters: Mapping[str, str]) -> None:
        """UpdateStack's (or an UPDATE change set's) work; the stack carries the new body and parameters."""
        await self.stack_status("UPDATE_IN_PROGRESS", "User Initiated")
        done: list[tuple[str, str, StackResource | None]] = []  # (logical id, created/updated/replaced, old record)
        attempted: dict[str, Any] | None = None
        try:
            scope, exports = self.scope(template, self.stack.parameters)
            keep = plan.active(template, scope.conditions)
            for logical_id in keep:
                spec = template.resources[logical_id]
                now = self.stack.resources.get(logical_id)
                if now is None or now.physical_id is None:
                    await self._create_resource(template, scope, logical_id)
                    done.append((logical_id, "created", None))
                    continue
                props = self._properties(template, scope, logical_id)
                if props == now.properties and now.type == spec.type:
                    continue
                provider = self._provider(spec.type, logical_id)
                old = StackResource(**now.doc())
                if now.type != spec.type or provider.replaces(now.properties, props):
                    await self._resource(now, "UPDATE_IN_PROGRESS", "Requested update requires the creation of a "
                                                                    "new physical resource; hence creating one.")
                    outcome = await self._attempt(logical_id, provider.create(self.ctx, logical_id, props))
                    done.append((logical_id, "replaced", old))
                    now.type = spec.type
                else:
                    await self._resource(now, "UPDATE_IN_PROGRESS")
                    attempted = props  # what a failed update may have applied in part
                    outcome = await self._attempt(logical_id, provider.update(self.ctx, logical_id, Outcome(
                        now.physical_id, now.ref or "", now.attributes), now.properties, props))
                    attempted = None
                    done.append((logical_id, "updated", old))
                assert outcome is not None
                now.physical_id, now.ref, now.attributes = outcome.physical_id, outcome.ref, dict(outcome.attributes)
                now.properties = props
                await self._resource(now, "UPDATE_COMPLETE")
            outputs = self._outputs(template, scope)
            for gone in {o.get("ExportName") for o in self.stack.outputs} - {o.get("ExportName") for o in outputs}:
                if gone is not None and self.importers(gone):
                    raise _Failed(self.stack.name, f"Cannot delete export {gone} as it is in use by "
                                                   f"{', '.join(self.importers(gone))}.")  # fmt: skip
            self.stack.outputs, self.stack.imports = outputs, sorted(exports.used)
        except (_Failed, TemplateError) as exc:
            failed = exc.logical_id if isinstance(exc, _Failed) else self.stack.name
            reason = exc.reason if isinstance(exc, _Failed) else exc.message
            res = self.stack.resources.get(failed)
            if res is not None and res.status.endswith("IN_PROGRESS"):
                await self._resource(res, "UPDATE_FAILED" if res.status.startswith("UPDATE") else "CREATE_FAILED",
                                     reason)  # fmt: skip
            await self.stack_status("UPDATE_ROLLBACK_IN_PROGRESS", f"The following resource(s) failed to update: "
                                                                    f"[{failed}]. ")  # fmt: skip
            self.stack.template_body, self.stack.parameters = previous.body, dict(previous_parameters)
            await self._roll_back(done, failed, attempted)
            return
        # Cleanup: what replacements left and what the template no longer has. A resource that fails
        # to go stays DELETE_FAILED; the update is complete all the same, as on CloudFormation.
        await self.stack_status("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        for logical_id, how, prior in reversed(done):
            if how == "replaced" and prior is not None:
                await self._delete_resource(prior, record=False)
        before = intrinsics.check(previous)
        stale = [n for n in self.stack.resources if n not in keep]
        for logical_id in sorted(stale, key=lambda n: before.index(n) if n in before else -1, reverse=True):
            retain = logical_id in previous.resources and previous.resources[logical_id].deletion_policy in (
                "Retain", "RetainExceptOnCreate")  # fmt: skip
            await self._delete_resource(self.stack.resources[logical_id], retain=retain)
        await self.stack_status("UPDATE_COMPLETE")

    async def _revert(self, res: StackResource, applied: Mapping[str, Any], to: StackResource) -> bool:
        """``res`` updated back from ``applied`` properties to ``to``'s; whether it went."""
        await self._resource(res, "UPDATE_IN_PROGRESS")
        try:
            provider = self._provider(res.type, res.logical_id)
            await self._attempt(res.logical_id, provider.update(self.ctx, res.logical_id, Outcome(
                res.physical_id or "", res.ref or "", res.attributes), applied, to.properties))
        except _Failed as exc:
            await self._resource(res, "UPDATE_FAILED", exc.reason)
            return False
        self.stack.resources[res.logical_id] = to
        await self._resource(to, "UPDATE_COMPLETE")
        return True

    async def _roll_back(self, done: list[tuple[str, str, StackResource | None]], failed: str,
                         attempted: Mapping[str, Any] | None) -> None:  # fmt: skip
        """Undo what an update did, newest first: the failed resource's update (which may have been
        applied in part), updates reverted, created resources and replacements deleted."""
        ok = True
        failed_record = self.stack.resources.get(failed)
        if failed_record is not None and failed_record.physical_id is None:
            del self.stack.resources[failed]
        elif failed_record is not None and attempted is not None:
            ok = await self._revert(failed_record, attempted, StackResource(**failed_record.doc()))
        for logical_id, how, old in reversed(done):
            now = self.stack.resources[logical_id]
            if how == "created":
                ok = await self._delete_resource(now) and ok
                continue
            assert old is not None
            if how == "replaced":
                ok = await self._delete_resource(StackResource(**now.doc()), record=False) and ok
                self.stack.resources[logical_id] = old
                await self._resource(old, "UPDATE_COMPLETE")
                continue
            ok = await self._revert(now, now.properties, old) and ok
        if failed_record is not None and failed_record.status == "UPDATE_FAILED" and attempted is None:
            await self._resource(failed_record, "UPDATE_COMPLETE")  # a replacement that failed: the old one stays
        await self.stack_status("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS" if ok else "UPDATE_ROLLBACK_FAILED")
        if ok:
            await self.stack_status("UPDATE_ROLLBACK_COMPLETE")

    async def _delete_resource(self, res: StackResource, *, record: bool = True, retain: bool = False) -> bool:
        """Delete one resource; whether it went (or was never made). ``record=False``: an old
        physical resource a replacement leaves, whose record is no longer the stack's."""
        if res.physical_id is None:
            if record:
                self.stack.resources.pop(res.logical_id, None)
            return True
        if retain:
            await self._resource(res, "DELETE_SKIPPED")
            self.stack.resources.pop(res.logical_id, None)
            return True
        await self._event(res.logical_id, res.type, "DELETE_IN_PROGRESS", res.physical_id)
        try:
            provider = self._provider(res.type, res.logical_id)
            await self._attempt(res.logical_id, provider.delete(self.ctx, Outcome(
                res.physical_id, res.ref or "", res.attributes), res.properties))
        except _Failed as exc:
            if record:
                await self._resource(res, "DELETE_FAILED", exc.reason)
            else:
                await self._event(res.logical_id, res.type, "DELETE_FAILED", res.physical_id, exc.reason)
            return False
        if record:
            self.stack.resources.pop(res.logical_id, None)
        await self._event(res.logical_id, res.type, "DELETE_COMPLETE", res.physical_id)
        return True

    async def _delete_all(self, template: Template | None, *, retain: bool = False) -> bool:
        """Every resource of the stack deleted in reverse dependency order; whether all went."""
        names = list(self.stack.resources)
        if template is not None:
            ordered = [n for n in intrinsics.check(template) if n in self.stack.resources]
            names = ordered + [n for n in names if n not in ordered]
        ok = True
        failed: list[str] = []
        for logical_id in reversed(names):
            res = self.stack.resources[logical_id]
            keep = retain and template is not None and logical_id in template.resources and \
                template.resources[logical_id].deletion_policy in ("Retain", "RetainExceptOnCreate")
            if not await self._delete_resource(res, retain=keep):
                ok = False
                failed.append(logical_id)
        if failed:
            self.stack.reason = f"The following resource(s) failed to delete: [{', '.join(failed)}]. "
        return ok

    async def delete(self) -> None:
        """DeleteStack's work."""
        in_use = [(o["ExportName"], self.importers(o["ExportName"])) for o in self.stack.outputs if "ExportName" in o]
        in_use = [(name, users) for name, users in in_use if users]
        if in_use:
            name, users = in_use[0]
            await self.stack_status("DELETE_FAILED", f"Export {name} cannot be deleted as it is in use by "
                                                      f"{', '.join(users)}")  # fmt: skip
            return
        await self.stack_status("DELETE_IN_PROGRESS", "User Initiated")
        template = parse(self.stack.template_body, limit=MAX_URL_BODY_BYTES) if self.stack.template_body else None
        if await self._delete_all(template, retain=True):
            self.stack.deleted, self.stack.outputs = time.time(), []
            await self.stack_status("DELETE_COMPLETE")
        else:
            await self.stack_status("DELETE_FAILED", self.stack.reason)
