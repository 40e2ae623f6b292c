"""The stacks' control plane: stacks, their events and change sets, in memory and written through
the store's resources (model.py's kinds) before anything is answered; loaded at start.

Requests are decided at once (a template checked, parameters resolved, capabilities asked for) and
answered; the operation itself (engine.Run) goes on as an owned background task, one at a time per
stack, as CloudFormation answers CreateStack with the stack's id and works on. An operation a
stopped server interrupted is not resumed: the stack is left FAILED with that reason, as a
CloudFormation operation that timed out would be.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from lamina.api.context import Services
from lamina.identity.principals import Principal
from lamina.settings import Settings
from lamina.stacks import intrinsics, plan, transform
from lamina.stacks.engine import Run
from lamina.stacks.errors import (AlreadyExists, ChangeSetNotFound, InsufficientCapabilities, InvalidChangeSetStatus,
                                  StackValidationError)  # fmt: skip
from lamina.stacks.model import (CHANGE_SET, EVENT, STACK, UPDATABLE, ChangeSet, Stack, StackEvent, change_set_arn,
                                 stack_arn)  # fmt: skip
from lamina.stacks.resources import PROVIDERS
from lamina.stacks.resources.base import Context
from lamina.stacks.template import Template, resolve_parameters
from lamina.store.base import Resource
from lamina.store.aggregates import ResourceStore
from lamina.tasks import cancel_and_wait

log = logging.getLogger(__name__)
_STACK_NAME = re.compile(r"[a-zA-Z][-a-zA-Z0-9]{0,127}")
_CHANGE_SET_NAME = re.compile(r"[a-zA-Z][-a-zA-Z0-9]{0,127}")
_INTERRUPTED = {"CREATE_IN_PROGRESS": "CREATE_FAILED", "ROLLBACK_IN_PROGRESS": "ROLLBACK_FAILED",
                "DELETE_IN_PROGRESS": "DELETE_FAILED", "UPDATE_IN_PROGRESS": "UPDATE_ROLLBACK_FAILED",
                "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS": "UPDATE_COMPLETE",
                "UPDATE_ROLLBACK_IN_PROGRESS": "UPDATE_ROLLBACK_FAILED",
                "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS": "UPDATE_ROLLBACK_COMPLETE"}  # fmt: skip


@dataclass(frozen=True)
class Request:
    """What CreateStack, UpdateStack and CreateChangeSet share."""

    body: str | None  # None: UsePreviousTemplate
    parameters: Mapping[str, str]
    keep_previous: Sequence[str]  # parameters given with UsePreviousValue
    capabilities: Sequence[str]
    tags: Mapping[str, str]


async def parsed(body: str, settings: Settings, parameters: Mapping[str, str] = {}) -> Template:
    """A template read, its transforms applied (in ``settings``' region and account, with the
    ``parameters`` given) and its references checked, off the event loop (a large YAML template
    takes PyYAML tens of milliseconds, the SAM transform more)."""

    def read() -> Template:
        template = transform.read(body, parameters, settings.region, settings.account_id)
        intrinsics.check(template)
        return template

    return await asyncio.to_thread(read)


def required_capabilities(template: Template) -> list[str]:
    """The capabilities a template's resources need acknowledged (pure)."""
    needed = [r for r in template.resources.values()
              if (p := PROVIDERS.get(r.type)) is not None and p.needs_iam_capability]  # fmt: skip
    if any("RoleName" in r.properties or "ManagedPolicyName" in r.properties for r in needed):
        return ["CAPABILITY_NAMED_IAM"]
    return ["CAPABILITY_IAM"] if needed else []


def check_capabilities(template: Template, given: Sequence[str], *, direct: bool = False) -> None:
    """``direct``: CreateStack or UpdateStack, which expand a template's transforms only with
    CAPABILITY_AUTO_EXPAND (a change set shows what they made before it is executed)."""
    if direct and template.original is not None and "CAPABILITY_AUTO_EXPAND" not in given:
        raise InsufficientCapabilities("Requires capabilities : [CAPABILITY_AUTO_EXPAND]")
    needed = required_capabilities(template)
    if needed == ["CAPABILITY_IAM"] and ("CAPABILITY_IAM" in given or "CAPABILITY_NAMED_IAM" in given):
        return
    if needed and needed[0] not in given:
        raise InsufficientCapabilities(f"Requires capabilities : [{needed[0]}]")


def check_stack_name(name: str) -> None:
    if not _STACK_NAME.fullmatch(name):
        raise StackValidationError(f"1 validation error detected: Value '{name}' at 'stackName' failed to satisfy "
                                   f"constraint: Member must satisfy regular expression pattern: "
                                   f"[a-zA-Z][-a-zA-Z0-9]*|arn:[-a-zA-Z0-9:/._+]*")  # fmt: skip


class StackService:
    def __init__(self, store: ResourceStore, settings: Settings, port: int) -> None:
        self._store = store
        self._port = port
        self._settings = settings
        self._svc: Services | None = None
        self._stacks: dict[str, Stack] = {}  # stack id -> stack
        self._events: dict[str, list[StackEvent]] = {}  # stack id -> events, oldest first
        self._change_sets: dict[str, ChangeSet] = {}  # change set id -> change set
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._deciding = asyncio.Lock()

    def serve(self, svc: Services) -> None:
        """The services providers work through (the cell's, assembled after this service)."""
        self._svc = svc

    async def load(self) -> None:
        for r in await self._store.list_resources(STACK):
            stack = Stack.load(r.doc)
            self._stacks[stack.stack_id] = stack
        for r in await self._store.list_resources(EVENT):
            event = StackEvent.load(r.doc)
            self._events.setdefault(event.stack_id, []).append(event)
        for events in self._events.values():
            events.sort(key=lambda e: e.timestamp)
        for r in await self._store.list_resources(CHANGE_SET):
            change_set = ChangeSet.load(r.doc)
            self._change_sets[change_set.change_set_id] = change_set
        for stack in self._stacks.values():
            if stack.status in _INTERRUPTED:
                stack.status = _INTERRUPTED[stack.status]
                stack.reason = "Lamina stopped while this stack's operation was in progress."
                await self._record(stack, None)

    async def close(self) -> None:
        for task in list(self._tasks.values()):
            await cancel_and_wait(task)

    # -- records -------------------------------------------------------------------------------

    async def _record(self, stack: Stack, event: StackEvent | None) -> None:
        puts = [Resource(STACK, stack.stack_id, stack.doc())]
        if event is not None:
            puts.append(Resource(EVENT, f"{stack.stack_id}|{event.timestamp:017.6f}|{event.event_id}", event.doc()))
        await self._store.change_resources(puts)
        self._stacks[stack.stack_id] = stack
        if event is not None:
            self._events.setdefault(stack.stack_id, []).append(event)

    async def _save_change_set(self, change_set: ChangeSet) -> None:
        await self._store.change_resources([Resource(CHANGE_SET, change_set.change_set_id, change_set.doc())])
        self._change_sets[change_set.change_set_id] = change_set

    # -- reading -------------------------------------------------------------------------------

    def stack(self, name_or_id: str) -> Stack:
        """A live stack by name, or any stack (a deleted one too) by its id."""
        found = self._stacks.get(name_or_id)
        if found is None:
            found = next((s for s in self._stacks.values() if s.name == name_or_id and s.deleted is None), None)
        if found is None:
            raise StackValidationError(f"Stack with id {name_or_id} does not exist")
        return found

    def stacks(self, *, deleted: bool = False) -> list[Stack]:
        return sorted((s for s in self._stacks.values() if deleted or s.deleted is None),
                      key=lambda s: s.created, reverse=True)  # fmt: skip

    def events(self, name_or_id: str) -> list[StackEvent]:
        """The stack's events, newest first."""
        return list(reversed(self._events.get(self.stack(name_or_id).stack_id, [])))

    def exports(self, but: str | None = None) -> dict[str, str]:
        return {o["ExportName"]: o["OutputValue"] for s in self.stacks() if s.stack_id != but
                for o in s.outputs if "ExportName" in o}  # fmt: skip

    def exports_of(self) -> list[tuple[str, str, str]]:
        """(exporting stack id, name, value) of every export."""
        return [(s.stack_id, o["ExportName"], o["OutputValue"]) for s in self.stacks() for o in s.outputs
                if "ExportName" in o]  # fmt: skip

    def _exporter(self, name: str) -> str | None:
        return next((sid for sid, export, _ in self.exports_of() if export == name), None)

    def importers(self, name: str) -> list[str]:
        return [s.name for s in self.stacks() if name in s.imports]

    def change_set(self, name_or_id: str, stack_name: str | None) -> ChangeSet:
        found = self._change_sets.get(name_or_id)
        if found is None and stack_name is not None:
            try:
                stack_id = self.stack(stack_name).stack_id
            except StackValidationError:
                stack_id = None
            found = next((c for c in self._change_sets.values() if c.name == name_or_id and c.stack_id == stack_id),
                         None)  # fmt: skip
        if found is None:
            raise ChangeSetNotFound(f"ChangeSet [{name_or_id}] does not exist")
        return found

    def change_sets(self, stack_name: str) -> list[ChangeSet]:
        stack_id = self.stack(stack_name).stack_id
        return [c for c in self._change_sets.values() if c.stack_id == stack_id]

    # -- deciding ------------------------------------------------------------------------------

    def _run(self, stack: Stack, caller: Principal) -> Run:
        assert self._svc is not None, "StackService.serve was not called"
        ctx = Context(self._svc, caller, stack.name, stack.stack_id, self._port)
        return Run(ctx, stack, self._record, self.exports, self._exporter, self.importers)

    def _start(self, stack: Stack, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work, name=f"stack {stack.name}")
        self._tasks[stack.stack_id] = task
        task.add_done_callback(lambda done: self._finished(stack.stack_id, done))

    def _finished(self, stack_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(stack_id) is task:
            del self._tasks[stack_id]
        if not task.cancelled() and task.exception() is not None:
            log.error("stack %s's operation failed", stack_id, exc_info=task.exception())

    async def _prepare(self, request: Request, previous: Stack | None, *,
                       direct: bool = False) -> tuple[Template, dict[str, str]]:  # fmt: skip
        if request.body is None:
            if previous is None:
                raise StackValidationError("UsePreviousTemplate can only be used with an existing stack")
            body = previous.original_body or previous.template_body  # transformed again, with the new values
        else:
            body = request.body
        kept = {k: previous.parameters[k] for k in request.keep_previous if previous and k in previous.parameters}
        template = await parsed(body, self._settings, {**kept, **request.parameters})
        values = resolve_parameters(template, request.parameters, previous.parameters if previous else {},
                                    request.keep_previous)  # fmt: skip
        check_capabilities(template, request.capabilities, direct=direct)
        return template, values

    def _new_stack(self, name: str, template: Template, values: dict[str, str], request: Request,
                   status: str) -> Stack:  # fmt: skip
        check_stack_name(name)
        if any(s.name == name and s.deleted is None for s in self._stacks.values()):
            raise AlreadyExists(f"Stack [{name}] already exists")
        return Stack(stack_arn(self._settings.region, self._settings.account_id, name), name, status, time.time(),
                     template.body, values, [n for n, p in template.parameters.items() if p.no_echo],
                     list(request.capabilities), dict(request.tags), template.description,
                     original_body=template.original)  # fmt: skip

    async def create_stack(self, caller: Principal, name: str, request: Request, on_failure: str) -> Stack:
        async with self._deciding:
            template, values = await self._prepare(request, None, direct=True)
            stack = self._new_stack(name, template, values, request, "CREATE_IN_PROGRESS")
            stack.disable_rollback = on_failure == "DO_NOTHING"
            await self._record(stack, None)
            self._start(stack, self._run(stack, caller).create(template, on_failure))
            return stack

    def _updatable(self, name: str) -> Stack:
        stack = self.stack(name)
        if stack.status not in UPDATABLE or stack.stack_id in self._tasks:
            raise StackValidationError(f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")
        return stack

    async def update_stack(self, caller: Principal, name: str, request: Request) -> Stack:
        async with self._deciding:
            stack = self._updatable(name)
            template, values = await self._prepare(request, stack, direct=True)
            previous = await parsed(stack.template_body, self._settings)
            scope, _ = self._run(stack, caller).scope(template, values)
            if values == stack.parameters and not plan.changes(template, scope, stack.resources, PROVIDERS) \
                    and template.outputs == previous.outputs and dict(request.tags or stack.tags) == stack.tags:
                raise StackValidationError("No updates are to be performed.")
            self._begin_update(caller, stack, previous, template, values, request)
            return stack

    def _begin_update(self, caller: Principal, stack: Stack, previous: Template, template: Template,
                      values: dict[str, str], request: Request) -> None:  # fmt: skip
        old_values = dict(stack.parameters)
        stack.status = "UPDATE_IN_PROGRESS"
        stack.template_body, stack.original_body, stack.parameters = template.body, template.original, values
        stack.no_echo = [n for n, p in template.parameters.items() if p.no_echo]
        stack.capabilities, stack.tags = list(request.capabilities), dict(request.tags or stack.tags)
        stack.description = template.description
        self._start(stack, self._run(stack, caller).update(previous, template, old_values))

    async def delete_stack(self, caller: Principal, name: str) -> None:
        async with self._deciding:
            try:
                stack = self.stack(name)
            except StackValidationError:
                return  # DeleteStack of a stack that does not exist succeeds, as on AWS
            if stack.deleted is not None or stack.status == "DELETE_IN_PROGRESS":
                return
            if stack.in_progress or stack.stack_id in self._tasks:
                raise StackValidationError(f"Stack [{stack.name}] cannot be deleted while in status {stack.status}")
            stack.status = "DELETE_IN_PROGRESS"  # at once: a second DeleteStack is answered as the first
            self._start(stack, self._run(stack, caller).delete())

    # -- change sets ---------------------------------------------------------------------------

    async def create_change_set(self, caller: Principal, stack_name: str, name: str, kind: str, request: Request,
                                description: str | None) -> ChangeSet:  # fmt: skip
        if not _CHANGE_SET_NAME.fullmatch(name):
            raise StackValidationError(f"1 validation error detected: Value '{name}' at 'changeSetName' failed to "
                                       f"satisfy constraint: Member must satisfy regular expression pattern: "
                                       f"[a-zA-Z][-a-zA-Z0-9]*")  # fmt: skip
        async with self._deciding:
            if kind == "CREATE":
                existing = next((s for s in self.stacks() if s.name == stack_name), None)
                if existing is not None and existing.status != "REVIEW_IN_PROGRESS":
                    raise AlreadyExists(f"Stack [{stack_name}] already exists and cannot be created again with the "
                                        f"changeSet [{name}].")  # fmt: skip
                template, values = await self._prepare(request, None)
                stack = existing or self._new_stack(stack_name, template, values, request, "REVIEW_IN_PROGRESS")
                if existing is None:
                    await self._record(stack, None)
                    await self._run(stack, caller).stack_status("REVIEW_IN_PROGRESS", "User Initiated")
                scope, _ = self._run(stack, caller).scope(template, values)
                changes = plan.changes(template, scope, {}, PROVIDERS)
            else:
                stack = self._updatable(stack_name)
                template, values = await self._prepare(request, stack)
                scope, _ = self._run(stack, caller).scope(template, values)
                changes = plan.changes(template, scope, stack.resources, PROVIDERS)
            if any(c.name == name and c.stack_id == stack.stack_id for c in self._change_sets.values()):
                raise AlreadyExists(f"ChangeSet [{name}] already exists")
            change_set = ChangeSet(change_set_arn(self._settings.region, self._settings.account_id, name), name,
                                   stack.stack_id, stack.name, kind, time.time(), template.body, values,
                                   list(request.capabilities), dict(request.tags), description=description,
                                   changes=[c.shape() for c in changes],
                                   original_body=template.original)  # fmt: skip
            if not changes and kind == "UPDATE" and values == stack.parameters:
                change_set.status, change_set.execution_status = "FAILED", "UNAVAILABLE"
                change_set.reason = ("The submitted information didn't contain changes. Submit different information "
                                     "to create a change set.")  # fmt: skip
            await self._save_change_set(change_set)
            return change_set

    async def execute_change_set(self, caller: Principal, name: str, stack_name: str | None) -> None:
        async with self._deciding:
            change_set = self.change_set(name, stack_name)
            if change_set.execution_status != "AVAILABLE":
                raise InvalidChangeSetStatus(f"ChangeSet [{change_set.change_set_id}] cannot be executed in its "
                                             f"current status of [{change_set.status}]")  # fmt: skip
            stack = self._stacks[change_set.stack_id]
            request = Request(change_set.template_body, change_set.parameters, (), change_set.capabilities,
                              change_set.tags)  # fmt: skip
            template = dataclasses.replace(await parsed(change_set.template_body, self._settings),
                                           original=change_set.original_body)  # fmt: skip
            if change_set.kind == "CREATE":
                if stack.status != "REVIEW_IN_PROGRESS":
                    raise InvalidChangeSetStatus(f"ChangeSet [{change_set.change_set_id}] cannot be executed in its "
                                                 f"current status of [{change_set.status}]")  # fmt: skip
                stack.status, stack.change_set_id = "CREATE_IN_PROGRESS", change_set.change_set_id
                # The change set executed may not be the one that made the stack (REVIEW_IN_PROGRESS).
                stack.template_body, stack.original_body = template.body, template.original
                stack.parameters = dict(change_set.parameters)
                work = self._run(stack, caller).create(template, "ROLLBACK")
                self._start(stack, work)
            else:
                self._updatable(stack.stack_id)
                stack.change_set_id = change_set.change_set_id
                previous = await parsed(stack.template_body, self._settings)
                self._begin_update(caller, stack, previous, template, dict(change_set.parameters), request)
            change_set.execution_status = "EXECUTE_IN_PROGRESS"
            # The stack's other change sets go once one is executed, as on CloudFormation.
            others = [c.change_set_id for c in self._change_sets.values()
                      if c.stack_id == stack.stack_id and c is not change_set]  # fmt: skip
            await self._store.change_resources([Resource(CHANGE_SET, change_set.change_set_id, change_set.doc())],
                                               [(CHANGE_SET, i) for i in others])  # fmt: skip
            for other in others:
                del self._change_sets[other]

    async def delete_change_set(self, name: str, stack_name: str | None) -> None:
        async with self._deciding:
            change_set = self.change_set(name, stack_name)
            if change_set.execution_status == "EXECUTE_IN_PROGRESS":
                raise InvalidChangeSetStatus(f"ChangeSet [{change_set.change_set_id}] cannot be deleted in its "
                                             f"current status of [{change_set.execution_status}]")  # fmt: skip
            await self._store.change_resources(deletes=[(CHANGE_SET, change_set.change_set_id)])
            del self._change_sets[change_set.change_set_id]
