"""What makes functions run, as SAM's events produce it: AWS::Lambda::EventSourceMapping and
EventInvokeConfig, AWS::Scheduler::Schedule and ScheduleGroup, AWS::Events::EventBus; each through
the control plane its API calls (mappings/, control/event_config.py, schedules/, events/).

Refs and attributes are AWS's resource docs': a mapping's Ref is its UUID, a schedule's and a
group's their name, a bus's its name; a mapping's removed property is left as it was (Lambda's
UpdateEventSourceMapping has no "unset")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lamina.errors import ApiError, ResourceNotFound
from lamina.stacks.errors import ResourceFailed
from lamina.stacks.resources.base import Context, Outcome, Properties, Provider, required, tag_list, text
from lamina.stacks.resources.functions import function_name

# Properties UpdateEventSourceMapping takes; the others make a new mapping (CloudFormation's
# createOnlyProperties for AWS::Lambda::EventSourceMapping).
_MAPPING_UPDATABLE = ("FunctionName", "Enabled", "BatchSize", "FilterCriteria", "MaximumBatchingWindowInSeconds",
                      "DestinationConfig", "MaximumRecordAgeInSeconds", "BisectBatchOnFunctionError",
                      "MaximumRetryAttempts", "ParallelizationFactor", "SourceAccessConfigurations",
                      "TumblingWindowInSeconds", "FunctionResponseTypes", "ScalingConfig",
                      "DocumentDBEventSourceConfig", "KMSKeyArn", "MetricsConfig", "ProvisionedPollerConfig")  # fmt: skip


def _gone(exc: ApiError) -> bool:
    return isinstance(exc, ResourceNotFound) or exc.code in ("ResourceNotFoundException", "ResourceNotFound")


class EventSourceMapping(Provider):
    type_name = "AWS::Lambda::EventSourceMapping"
    replaced_by = frozenset({"EventSourceArn", "StartingPosition", "StartingPositionTimestamp", "Topics", "Queues",
                             "SelfManagedEventSource", "SelfManagedKafkaEventSourceConfig",
                             "AmazonManagedKafkaEventSourceConfig"})  # fmt: skip

    @staticmethod
    def _outcome(ctx: Context, doc: dict[str, object]) -> Outcome:
        uuid = str(doc["UUID"])
        arn = f"arn:aws:lambda:{ctx.region}:{ctx.account_id}:event-source-mapping:{uuid}"
        return Outcome(uuid, uuid, {"Id": uuid, "EventSourceMappingArn": arn})

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        name, qualifier = function_name(required(props, "FunctionName"))
        ctx.authorize("lambda:CreateEventSourceMapping", ctx.svc.settings.function_arn(name, qualifier))
        body: dict[str, Any] = {k: v for k, v in props.items() if k != "Tags"}
        if "Tags" in props:
            body["Tags"] = tag_list(props)
        mappings = ctx.svc.mappings
        return self._outcome(ctx, mappings.document(await mappings.create(body)))

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        name, qualifier = function_name(required(new, "FunctionName"))
        ctx.authorize("lambda:UpdateEventSourceMapping", ctx.svc.settings.function_arn(name, qualifier))
        body = {k: new[k] for k in _MAPPING_UPDATABLE if k in new}
        if "Enabled" not in new and "Enabled" in old:
            body["Enabled"] = True  # its default, when the property is removed
        await ctx.svc.mappings.update(current.physical_id, body)
        return current

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        name, qualifier = function_name(required(props, "FunctionName"))
        ctx.authorize("lambda:DeleteEventSourceMapping", ctx.svc.settings.function_arn(name, qualifier))
        try:
            await ctx.svc.mappings.delete(current.physical_id)
        except ApiError as exc:
            if not _gone(exc):
                raise


class EventInvokeConfig(Provider):
    type_name = "AWS::Lambda::EventInvokeConfig"
    replaced_by = frozenset({"FunctionName", "Qualifier"})
    _MEMBERS = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")

    @staticmethod
    def _target(props: Properties) -> tuple[str, str | None]:
        name, _ = function_name(required(props, "FunctionName"))
        qualifier = required(props, "Qualifier")
        return name, None if qualifier == "$LATEST" else qualifier

    async def _put(self, ctx: Context, props: Properties) -> Outcome:
        name, qualifier = self._target(props)
        ctx.authorize("lambda:PutFunctionEventInvokeConfig", ctx.svc.settings.function_arn(name, qualifier))
        await ctx.svc.event_configs.put(name, qualifier, {k: props[k] for k in self._MEMBERS if k in props})
        physical = f"{name}|{required(props, 'Qualifier')}"  # its primary identifier: function and qualifier
        return Outcome(physical, physical)

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        return await self._put(ctx, props)

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        return await self._put(ctx, new)  # Put replaces the whole configuration: a removed member is unset

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        name, qualifier = self._target(props)
        ctx.authorize("lambda:DeleteFunctionEventInvokeConfig", ctx.svc.settings.function_arn(name, qualifier))
        try:
            await ctx.svc.event_configs.delete(name, qualifier)
        except ApiError as exc:
            if not _gone(exc):
                raise


def _timestamp(props: Properties, name: str) -> float | None:
    """A date property (CloudFormation takes ISO 8601 text) as the API's epoch seconds."""
    value = text(props, name)
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise ResourceFailed(f"Property validation failure: [Value of property {{/{name}}} is not an ISO 8601 "
                             f"date-time]") from None  # fmt: skip


class Schedule(Provider):
    type_name = "AWS::Scheduler::Schedule"
    replaced_by = frozenset({"Name", "GroupName"})

    @staticmethod
    def _body(props: Properties) -> dict[str, Any]:
        body: dict[str, Any] = {k: props[k] for k in (
            "GroupName", "ScheduleExpression", "ScheduleExpressionTimezone", "FlexibleTimeWindow", "Target", "State",
            "Description", "KmsKeyArn") if k in props}  # fmt: skip
        for name in ("StartDate", "EndDate"):
            when = _timestamp(props, name)
            if when is not None:
                body[name] = when
        return body

    def _arn(self, ctx: Context, name: str, props: Properties) -> str:
        return f"arn:aws:scheduler:{ctx.region}:{ctx.account_id}:schedule/{text(props, 'GroupName') or 'default'}/{name}"

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        name = text(props, "Name") or ctx.physical_name(logical_id, 64)
        ctx.authorize("scheduler:CreateSchedule", self._arn(ctx, name, props))
        await ctx.svc.schedules.create(name, self._body(props))
        return Outcome(name, name, {"Arn": self._arn(ctx, name, props)})

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        ctx.authorize("scheduler:UpdateSchedule", self._arn(ctx, current.physical_id, new))
        await ctx.svc.schedules.update(current.physical_id, self._body(new))
        return current

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        ctx.authorize("scheduler:DeleteSchedule", self._arn(ctx, current.physical_id, props))
        try:
            await ctx.svc.schedules.delete(current.physical_id, text(props, "GroupName"))
        except ApiError as exc:
            if not _gone(exc):
                raise


class ScheduleGroup(Provider):
    type_name = "AWS::Scheduler::ScheduleGroup"
    replaced_by = frozenset({"Name"})

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        name = text(props, "Name") or ctx.physical_name(logical_id, 64)
        arn = f"arn:aws:scheduler:{ctx.region}:{ctx.account_id}:schedule-group/{name}"
        ctx.authorize("scheduler:CreateScheduleGroup", arn)
        group = await ctx.svc.schedules.create_group(name, tag_list(props), None)
        return Outcome(name, name, {"Arn": arn, "State": "ACTIVE", "CreationDate": group.created.isoformat(),
                                    "LastModificationDate": group.modified.isoformat()})  # fmt: skip

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        arn = str(current.attributes.get("Arn"))
        before, after = tag_list(old), tag_list(new)
        if before != after:
            ctx.authorize("scheduler:TagResource", arn)
            stale = [k for k in before if k not in after]
            if stale:
                await ctx.svc.schedules.untag(arn, stale)
            if after:
                await ctx.svc.schedules.tag(arn, after)
        return current

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        ctx.authorize("scheduler:DeleteScheduleGroup", str(current.attributes.get("Arn", "*")))
        try:
            await ctx.svc.schedules.delete_group(current.physical_id)
        except ApiError as exc:
            if not _gone(exc):
                raise


class EventBus(Provider):
    type_name = "AWS::Events::EventBus"
    replaced_by = frozenset({"Name", "EventSourceName"})

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        name = required(props, "Name")
        control = ctx.svc.events.control
        ctx.authorize("events:CreateEventBus", control.bus_arn(name))
        bus = await control.create_bus(name, text(props, "Description"), tag_list(props))
        arn = control.bus_arn(bus.name)
        return Outcome(bus.name, bus.name, {"Arn": arn, "Name": bus.name})

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        if old.get("Description") != new.get("Description") or old.get("Tags") != new.get("Tags"):
            raise ResourceFailed("Lamina cannot change an event bus's Description or Tags in place: rename it "
                                 "(Name) to replace it.")  # fmt: skip
        return current

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        control = ctx.svc.events.control
        ctx.authorize("events:DeleteEventBus", control.bus_arn(current.physical_id))
        await control.delete_bus(current.physical_id)  # one that is gone already: not an error
