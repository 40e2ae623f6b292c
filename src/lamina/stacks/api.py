"""CloudFormation's API over the query protocol (api/query.py; Version 2010-05-15): stacks, their
events, resources, templates and exports, and change sets as ``aws cloudformation deploy`` uses
them. Stacks are the caller's cell's. Lists are answered whole (no NextToken)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote, urlsplit

from lamina.api.query import Call, Operation, QueryService, XmlStruct, XmlValue
from lamina.stacks import transform
from lamina.stacks.errors import StackValidationError
from lamina.stacks.model import ChangeSet, Stack, StackEvent, StackResource
from lamina.stacks.service import Request, StackService, parsed, required_capabilities
from lamina.stacks.template import MAX_URL_BODY_BYTES, Template, load

NAMESPACE = "http://cloudformation.amazonaws.com/doc/2010-05-15/"


def _stacks(call: Call) -> StackService:
    if call.svc.stacks is None:
        raise StackValidationError("CloudFormation is not served by this Lamina.")
    return call.svc.stacks


def _time(seconds: float | None) -> str | None:
    """A time as CloudFormation writes it, to the millisecond (``2026-12-07T16:00:57.138Z``): SAM CLI
    shows a stack's events newer than the last one before its change set, compared as written; in
    whole seconds, a stack made within the second of its change set would never show its end."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


async def _template_body(call: Call, *, optional: bool = False) -> str | None:
    """TemplateBody, or the object TemplateURL names in Lamina's object store."""
    body, url = call.params.get("TemplateBody"), call.params.get("TemplateURL")
    if body is not None:
        return body
    if url is None:
        if optional:
            return None
        raise StackValidationError("Either Template URL or Template Body must be specified.")
    objects = call.svc.objects
    parts = urlsplit(url)
    host, path = parts.hostname or "", unquote(parts.path.lstrip("/"))
    if ".s3." in host or ".s3-" in host:  # virtual-hosted: https://<bucket>.s3.<region>.amazonaws.com/<key>
        bucket = host.split(".s3", 1)[0]
    else:  # path-style: https://s3.amazonaws.com/<bucket>/<key>, http://localhost:9000/<bucket>/<key>
        bucket, _, path = path.partition("/")
    if objects is None or parts.scheme not in ("http", "https") or not bucket or not path:
        raise StackValidationError("TemplateURL must be a supported URL.")
    try:
        stored = objects.get(bucket, path)
    except Exception:
        raise StackValidationError(f"S3 error: Unable to get the template at {url}") from None
    if stored.size > MAX_URL_BODY_BYTES:
        raise StackValidationError(f"Template may not exceed {MAX_URL_BODY_BYTES} bytes in size.")
    data = await asyncio.to_thread(objects.bodies.path(stored.file).read_bytes)
    return data.decode("utf-8", "replace")


def _request(call: Call, body: str | None) -> Request:
    p = call.params
    given: dict[str, str] = {}
    keep: list[str] = []
    for member in p.members("Parameters"):
        key = member.get("ParameterKey", "")
        if member.get("UsePreviousValue", "").lower() == "true":
            keep.append(key)
        else:
            given[key] = member.get("ParameterValue", "")
    return Request(body, given, keep, p.strings("Capabilities"), dict(p.tags()))


def _parameters(stack: Stack | ChangeSet, no_echo: list[str]) -> list[XmlValue]:
    return [{"ParameterKey": k, "ParameterValue": "****" if k in no_echo else v} for k, v in stack.parameters.items()]


def _tags(tags: dict[str, str]) -> list[XmlValue]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def stack_shape(stack: Stack) -> XmlStruct:
    return {
        "StackId": stack.stack_id, "StackName": stack.name, "ChangeSetId": stack.change_set_id,
        "Description": stack.description, "Parameters": _parameters(stack, stack.no_echo),
        "CreationTime": _time(stack.created), "DeletionTime": _time(stack.deleted),
        "LastUpdatedTime": _time(stack.updated), "RollbackConfiguration": {}, "StackStatus": stack.status,
        "StackStatusReason": stack.reason, "DisableRollback": stack.disable_rollback, "NotificationARNs": [],
        "Capabilities": list(stack.capabilities), "Outputs": list(stack.outputs), "Tags": _tags(stack.tags),
        "EnableTerminationProtection": False, "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
    }  # fmt: skip


def _event_shape(event: StackEvent) -> XmlStruct:
    return {"StackId": event.stack_id, "EventId": event.event_id, "StackName": event.stack_name,
            "LogicalResourceId": event.logical_id, "PhysicalResourceId": event.physical_id or "",
            "ResourceType": event.resource_type, "Timestamp": _time(event.timestamp),
            "ResourceStatus": event.status, "ResourceStatusReason": event.reason,
            "ResourceProperties": event.properties}  # fmt: skip


def _resource_shape(stack: Stack, res: StackResource, *, detail: bool = False, summary: bool = False) -> XmlStruct:
    shape: dict[str, XmlValue] = {
        "LogicalResourceId": res.logical_id, "PhysicalResourceId": res.physical_id, "ResourceType": res.type,
        "ResourceStatus": res.status, "ResourceStatusReason": res.reason,
        "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"},
    }  # fmt: skip
    if summary:
        shape["LastUpdatedTimestamp"] = _time(res.updated)
        return shape
    shape.update({"StackName": stack.name, "StackId": stack.stack_id})
    shape["LastUpdatedTimestamp" if detail else "Timestamp"] = _time(res.updated)
    if detail:
        shape["Metadata"] = "{}"
    return shape


# -- stacks ---------------------------------------------------------------------------------------


async def create_stack(call: Call) -> XmlStruct:
    p = call.params
    on_failure = p.get("OnFailure") or ("DO_NOTHING" if (p.get("DisableRollback") or "").lower() == "true"
                                        else "ROLLBACK")  # fmt: skip
    if on_failure not in ("ROLLBACK", "DELETE", "DO_NOTHING"):
        raise StackValidationError(f"1 validation error detected: Value '{on_failure}' at 'onFailure' failed to "
                                   f"satisfy constraint: Member must satisfy enum value set: "
                                   f"[DO_NOTHING, ROLLBACK, DELETE]")  # fmt: skip
    request = _request(call, await _template_body(call))
    stack = await _stacks(call).create_stack(call.caller, p.required("StackName"), request, on_failure)
    return {"StackId": stack.stack_id}


async def update_stack(call: Call) -> XmlStruct:
    p = call.params
    previous = (p.get("UsePreviousTemplate") or "").lower() == "true"
    body = None if previous else await _template_body(call)
    stack = await _stacks(call).update_stack(call.caller, p.required("StackName"), _request(call, body))
    return {"StackId": stack.stack_id}


async def delete_stack(call: Call) -> None:
    await _stacks(call).delete_stack(call.caller, call.params.required("StackName"))


async def describe_stacks(call: Call) -> XmlStruct:
    name = call.params.get("StackName")
    stacks = [_stacks(call).stack(name)] if name else _stacks(call).stacks()
    return {"Stacks": [stack_shape(s) for s in stacks]}


async def list_stacks(call: Call) -> XmlStruct:
    wanted = call.params.strings("StackStatusFilter")
    summaries: list[XmlValue] = []
    for s in _stacks(call).stacks(deleted=True):
        if wanted and s.status not in wanted:
            continue
        summaries.append({"StackId": s.stack_id, "StackName": s.name, "TemplateDescription": s.description,
                          "CreationTime": _time(s.created), "LastUpdatedTime": _time(s.updated),
                          "DeletionTime": _time(s.deleted), "StackStatus": s.status,
                          "StackStatusReason": s.reason,
                          "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"}})  # fmt: skip
    return {"StackSummaries": summaries}


async def describe_stack_events(call: Call) -> XmlStruct:
    return {"StackEvents": [_event_shape(e) for e in _stacks(call).events(call.params.required("StackName"))]}


async def describe_stack_resources(call: Call) -> XmlStruct:
    p = call.params
    name = p.get("StackName")
    if name is None:
        raise StackValidationError("Either StackName or PhysicalResourceId must be specified.")
    stack = _stacks(call).stack(name)
    logical = p.get("LogicalResourceId")
    chosen = [r for r in stack.resources.values() if logical is None or r.logical_id == logical]
    return {"StackResources": [_resource_shape(stack, r) for r in chosen]}


async def describe_stack_resource(call: Call) -> XmlStruct:
    p = call.params
    stack = _stacks(call).stack(p.required("StackName"))
    logical = p.required("LogicalResourceId")
    res = stack.resources.get(logical)
    if res is None:
        raise StackValidationError(f"Resource {logical} does not exist for stack {stack.name}")
    return {"StackResourceDetail": _resource_shape(stack, res, detail=True)}


async def list_stack_resources(call: Call) -> XmlStruct:
    stack = _stacks(call).stack(call.params.required("StackName"))
    return {"StackResourceSummaries": [_resource_shape(stack, r, summary=True) for r in stack.resources.values()]}


async def get_template(call: Call) -> XmlStruct:
    """TemplateStage Original (the default): the template as given; Processed: what its transforms
    made of it (the same text when it has none)."""
    p = call.params
    stage = p.get("TemplateStage") or "Original"
    if stage not in ("Original", "Processed"):
        raise StackValidationError(f"1 validation error detected: Value '{stage}' at 'templateStage' failed to "
                                   f"satisfy constraint: Member must satisfy enum value set: [Original, Processed]")
    change_set = p.get("ChangeSetName")
    found: Stack | ChangeSet
    if change_set is not None:
        found = _stacks(call).change_set(change_set, p.get("StackName"))
    else:
        found = _stacks(call).stack(p.required("StackName"))
    body = found.original_body if stage == "Original" and found.original_body is not None else found.template_body
    return {"TemplateBody": body, "StagesAvailable": ["Original", "Processed"]}


def _summary(template: Template) -> tuple[XmlStruct, list[str]]:
    parameters: list[XmlValue] = [
        {"ParameterKey": name, "DefaultValue": spec.default, "NoEcho": spec.no_echo, "Description": spec.description,
         "ParameterType": spec.type, "ParameterConstraints": {"AllowedValues": list(spec.allowed_values or [])}}
        for name, spec in template.parameters.items()
    ]  # fmt: skip
    return {"Parameters": parameters, "Description": template.description}, sorted(
        {r.type for r in template.resources.values()})  # fmt: skip


def _transforms(template: Template) -> list[XmlValue]:
    return list(transform.declared(load(template.original))) if template.original is not None else []


async def validate_template(call: Call) -> XmlStruct:
    body = await _template_body(call)
    assert body is not None
    template = await parsed(body, call.svc.settings)
    needed = required_capabilities(template)
    parameters: list[XmlValue] = [
        {"ParameterKey": name, "DefaultValue": spec.default, "NoEcho": spec.no_echo, "Description": spec.description}
        for name, spec in template.parameters.items()
    ]  # fmt: skip
    shape: dict[str, XmlValue] = {"Parameters": parameters, "Description": template.description,
                                  "Capabilities": list(needed), "DeclaredTransforms": _transforms(template)}  # fmt: skip
    if needed:
        shape["CapabilitiesReason"] = "The following resource(s) require capabilities: [AWS::IAM::Role]"
    return shape


async def get_template_summary(call: Call) -> XmlStruct:
    body = await _template_body(call, optional=True)
    if body is None:
        stack = _stacks(call).stack(call.params.required("StackName"))
        body = stack.original_body or stack.template_body
    template = await parsed(body, call.svc.settings)
    summary, types = _summary(template)
    needed = required_capabilities(template)
    return {**summary, "ResourceTypes": list(types), "Capabilities": list(needed),
            "DeclaredTransforms": _transforms(template),
            "Version": "2010-09-09"}  # fmt: skip


async def list_exports(call: Call) -> XmlStruct:
    return {"Exports": [{"ExportingStackId": sid, "Name": name, "Value": value}
                        for sid, name, value in _stacks(call).exports_of()]}  # fmt: skip


async def list_imports(call: Call) -> XmlStruct:
    name = call.params.required("ExportName")
    return {"Imports": list(_stacks(call).importers(name))}


# -- change sets ----------------------------------------------------------------------------------


def _execution_status(service: StackService, change_set: ChangeSet) -> str:
    """AVAILABLE until executed; then as the stack's operation ends."""
    if change_set.execution_status != "EXECUTE_IN_PROGRESS":
        return change_set.execution_status
    try:
        stack = service.stack(change_set.stack_id)
    except StackValidationError:
        return "OBSOLETE"
    if stack.in_progress:
        return "EXECUTE_IN_PROGRESS"
    return "EXECUTE_COMPLETE" if stack.status in ("CREATE_COMPLETE", "UPDATE_COMPLETE") else "EXECUTE_FAILED"


async def create_change_set(call: Call) -> XmlStruct:
    p = call.params
    kind = p.get("ChangeSetType") or "UPDATE"
    if kind not in ("CREATE", "UPDATE"):
        raise StackValidationError(f"ChangeSetType {kind} is not supported by Lamina (CREATE and UPDATE are).")
    previous = (p.get("UsePreviousTemplate") or "").lower() == "true"
    body = None if previous else await _template_body(call)
    change_set = await _stacks(call).create_change_set(call.caller, p.required("StackName"),
                                                       p.required("ChangeSetName"), kind, _request(call, body),
                                                       p.get("Description"))  # fmt: skip
    return {"Id": change_set.change_set_id, "StackId": change_set.stack_id}


async def describe_change_set(call: Call) -> XmlStruct:
    p = call.params
    service = _stacks(call)
    change_set = service.change_set(p.required("ChangeSetName"), p.get("StackName"))
    stack = service.stack(change_set.stack_id)
    return {
        "ChangeSetName": change_set.name, "ChangeSetId": change_set.change_set_id, "StackId": change_set.stack_id,
        "StackName": change_set.stack_name, "Description": change_set.description,
        "Parameters": _parameters(change_set, stack.no_echo), "CreationTime": _time(change_set.created),
        "ExecutionStatus": _execution_status(service, change_set), "Status": change_set.status,
        "StatusReason": change_set.reason, "NotificationARNs": [], "RollbackConfiguration": {},
        "Capabilities": list(change_set.capabilities), "Tags": _tags(change_set.tags),
        "Changes": list(change_set.changes), "IncludeNestedStacks": False,
    }  # fmt: skip


async def execute_change_set(call: Call) -> XmlStruct:
    p = call.params
    await _stacks(call).execute_change_set(call.caller, p.required("ChangeSetName"), p.get("StackName"))
    return {}


async def delete_change_set(call: Call) -> XmlStruct:
    p = call.params
    await _stacks(call).delete_change_set(p.required("ChangeSetName"), p.get("StackName"))
    return {}


async def list_change_sets(call: Call) -> XmlStruct:
    service = _stacks(call)
    summaries: list[Any] = [
        {"StackId": c.stack_id, "StackName": c.stack_name, "ChangeSetId": c.change_set_id, "ChangeSetName": c.name,
         "ExecutionStatus": _execution_status(service, c), "Status": c.status, "StatusReason": c.reason,
         "CreationTime": _time(c.created), "Description": c.description, "IncludeNestedStacks": False}
        for c in service.change_sets(call.params.required("StackName"))
    ]  # fmt: skip
    return {"Summaries": summaries}


OPERATIONS: dict[str, Operation] = {
    "CreateStack": create_stack, "UpdateStack": update_stack, "DeleteStack": delete_stack,
    "DescribeStacks": describe_stacks, "ListStacks": list_stacks, "DescribeStackEvents": describe_stack_events,
    "DescribeStackResources": describe_stack_resources, "DescribeStackResource": describe_stack_resource,
    "ListStackResources": list_stack_resources, "GetTemplate": get_template, "ValidateTemplate": validate_template,
    "GetTemplateSummary": get_template_summary, "ListExports": list_exports, "ListImports": list_imports,
    "CreateChangeSet": create_change_set, "DescribeChangeSet": describe_change_set,
    "ExecuteChangeSet": execute_change_set, "DeleteChangeSet": delete_change_set, "ListChangeSets": list_change_sets,
}  # fmt: skip
SERVICE = QueryService("cloudformation", "2010-05-15", NAMESPACE, OPERATIONS)
