"""EventBridge's API (json-1.1, ``X-Amz-Target: AWSEvents.<Operation>``): each operation reads its
members, asks the event bus service, and answers in botocore's shapes (timestamps as epoch seconds)."""

from __future__ import annotations

import json
from typing import Mapping

from aiohttp import web

from lamina.api import awsjson
from lamina.api.context import Services
from lamina.errors import ServiceError, ValidationError
from lamina.events import validation as v
from lamina.events.bus import Accepted
from lamina.events.engine import EventBridge
from lamina.events.model import DISABLED, ENABLED, Bus, Rule
from lamina.events.envelope import MAX_REQUEST_BYTES
from lamina.events.pattern import compile_pattern
from lamina.events.service import paginate

Body = Mapping[str, object]
Result = Mapping[str, object]
# The members an event must have for TestEventPattern, as EventBridge checks them.
_TEST_EVENT_MEMBERS = ("id", "account", "source", "time", "region", "detail-type")


def _events(svc: Services) -> EventBridge:
    if svc.events is None:
        raise ServiceError("Event buses are not available.")
    return svc.events


def _bus(eb: EventBridge, bus: Bus) -> dict[str, object]:
    doc: dict[str, object] = {"Name": bus.name, "Arn": eb.control.bus_arn(bus.name)}
    if bus.description is not None:
        doc["Description"] = bus.description
    if bus.created:
        doc["CreationTime"] = bus.created
        doc["LastModifiedTime"] = bus.created
    return doc


def _rule(eb: EventBridge, rule: Rule) -> dict[str, object]:
    doc: dict[str, object] = {"Name": rule.name, "Arn": eb.control.rule_arn(rule), "State": rule.state,
                              "EventBusName": rule.bus}  # fmt: skip
    for key, value in (("EventPattern", rule.event_pattern), ("ScheduleExpression", rule.schedule_expression),
                       ("Description", rule.description), ("RoleArn", rule.role_arn)):  # fmt: skip
        if value is not None:
            doc[key] = value
    return doc


def _page(doc: dict[str, object], token: str | None) -> dict[str, object]:
    if token:
        doc["NextToken"] = token
    return doc


async def create_event_bus(svc: Services, body: Body) -> Result:
    eb = _events(svc)
    name = v.text(body, "Name", required=True)
    assert name is not None
    bus = await eb.control.create_bus(name, v.text(body, "Description"), v.tags(body.get("Tags")))
    return {"EventBusArn": eb.control.bus_arn(bus.name)}


async def describe_event_bus(svc: Services, body: Body) -> Result:
    eb = _events(svc)
    return _bus(eb, eb.control.bus(v.text(body, "Name")))


async def list_event_buses(svc: Services, body: Body) -> Result:
    eb = _events(svc)
    buses, token = eb.control.list_buses(v.text(body, "NamePrefix"), v.text(body, "NextToken"), v.limit(body))
    return _page({"EventBuses": [_bus(eb, b) for b in buses]}, token)


async def delete_event_bus(svc: Services, body: Body) -> Result:
    name = v.text(body, "Name", required=True)
    assert name is not None
    await _events(svc).control.delete_bus(name)
    return {}


async def put_rule(svc: Services, body: Body) -> Result:
    eb = _events(svc)
    name = v.text(body, "Name", required=True)
    assert name is not None
    rule = await eb.control.put_rule(
        name, v.text(body, "EventBusName"), event_pattern=v.event_pattern(body),
        schedule=v.text(body, "ScheduleExpression"), state=v.text(body, "State"),
        description=v.text(body, "Description"), role_arn=v.text(body, "RoleArn"),
        tags=v.tags(body.get("Tags")) if body.get("Tags") is not None else None,
    )  # fmt: skip
    return {"RuleArn": eb.control.rule_arn(rule)}


async def describe_rule(svc: Services, body: Body) -> Result:
    eb = _events(svc)
    name = v.text(body, "Name", required=True)
    assert name is not None
    rule = eb.control.rule(name, v.text(body, "EventBusName"))
    return {**_rule(eb, rule), "CreatedBy": svc.settings.account_id}


async def list_rules(svc: Services, body: Body) -> Result:
    eb = _events(svc)
    rules, token = eb.control.list_rules(v.text(body, "NamePrefix"), v.text(body, "EventBusName"),
                                         v.text(body, "NextToken"), v.limit(body))  # fmt: skip
    return _page({"Rules": [_rule(eb, r) for r in rules]}, token)


async def _set_state(svc: Services, body: Body, state: str) -> Result:
    name = v.text(body, "Name", required=True)
    assert name is not None
    await _events(svc).control.set_state(name, v.text(body, "EventBusName"), state)
    return {}


async def enable_rule(svc: Services, body: Body) -> Result:
    return await _set_state(svc, body, ENABLED)


async def disable_rule(svc: Services, body: Body) -> Result:
    return await _set_state(svc, body, DISABLED)


async def delete_rule(svc: Services, body: Body) -> Result:
    name = v.text(body, "Name", required=True)
    assert name is not None
    await _events(svc).control.delete_rule(name, v.text(body, "EventBusName"), body.get("Force") is True)
    return {}


async def put_targets(svc: Services, body: Body) -> Result:
    name = v.text(body, "Rule", required=True)
    targets = body.get("Targets")
    assert name is not None
    if not isinstance(targets, list) or not all(isinstance(t, dict) for t in targets):
        raise ValidationError("Parameter Targets is not valid.")
    failed = await _events(svc).control.put_targets(name, v.text(body, "EventBusName"), targets)
    return {"FailedEntryCount": len(failed), "FailedEntries": [f.wire() for f in failed]}


async def remove_targets(svc: Services, body: Body) -> Result:
    name = v.text(body, "Rule", required=True)
    ids = body.get("Ids")
    assert name is not None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or not 1 <= len(ids) <= 100:
        raise ValidationError("Parameter Ids is not valid.")
    await _events(svc).control.remove_targets(name, v.text(body, "EventBusName"), ids)
    return {"FailedEntryCount": 0, "FailedEntries": []}


async def list_targets_by_rule(svc: Services, body: Body) -> Result:
    eb = _events(svc)
    name = v.text(body, "Rule", required=True)
    assert name is not None
    rule = eb.control.rule(name, v.text(body, "EventBusName"))
    by_id = {t.id: t for t in eb.control.targets(rule)}
    ids, token = paginate(sorted(by_id), v.text(body, "NextToken"), v.limit(body))
    return _page({"Targets": [dict(by_id[i].wire) for i in ids]}, token)


async def list_rule_names_by_target(svc: Services, body: Body) -> Result:
    arn = v.text(body, "TargetArn", required=True)
    assert arn is not None
    names, token = _events(svc).control.rules_by_target(arn, v.text(body, "EventBusName"),
                                                        v.text(body, "NextToken"), v.limit(body))  # fmt: skip
    return _page({"RuleNames": names}, token)


async def test_event_pattern(svc: Services, body: Body) -> Result:
    pattern = compile_pattern(v.event_pattern(body, required=True) or "")
    text = v.text(body, "Event", required=True) or ""
    if len(text) > MAX_REQUEST_BYTES:  # no event PutEvents accepts is larger
        raise ValidationError("Parameter Event is not valid.")
    try:
        event = json.loads(text)
    except (ValueError, RecursionError):
        raise ValidationError("Parameter Event is not valid.") from None
    if not isinstance(event, dict) or any(m not in event for m in _TEST_EVENT_MEMBERS):
        raise ValidationError("Parameter Event is not valid.")
    return {"Result": pattern.matches(event)}


async def put_events(svc: Services, body: Body) -> Result:
    entries = body.get("Entries")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValidationError("Parameter Entries is not valid.")
    results = await _events(svc).bus.put_events(entries)
    wire = [{"EventId": r.event_id} if isinstance(r, Accepted) else {"ErrorCode": r.code, "ErrorMessage": r.message}
            for r in results]  # fmt: skip
    return {"FailedEntryCount": sum(not isinstance(r, Accepted) for r in results), "Entries": wire}


async def tag_resource(svc: Services, body: Body) -> Result:
    arn = v.text(body, "ResourceARN", required=True)
    assert arn is not None
    await _events(svc).control.set_tags(arn, v.tags(body.get("Tags")))
    return {}


async def untag_resource(svc: Services, body: Body) -> Result:
    arn = v.text(body, "ResourceARN", required=True)
    keys = body.get("TagKeys")
    assert arn is not None
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ValidationError("Parameter TagKeys is not valid.")
    await _events(svc).control.set_tags(arn, {}, keys)
    return {}


async def list_tags_for_resource(svc: Services, body: Body) -> Result:
    arn = v.text(body, "ResourceARN", required=True)
    assert arn is not None
    return {"Tags": v.tag_list(_events(svc).control.tagged(arn).tags)}


OPERATIONS: dict[str, awsjson.Operation] = {
    "CreateEventBus": create_event_bus, "DescribeEventBus": describe_event_bus, "ListEventBuses": list_event_buses,
    "DeleteEventBus": delete_event_bus, "PutRule": put_rule, "DescribeRule": describe_rule, "ListRules": list_rules,
    "EnableRule": enable_rule, "DisableRule": disable_rule, "DeleteRule": delete_rule, "PutTargets": put_targets,
    "RemoveTargets": remove_targets, "ListTargetsByRule": list_targets_by_rule,
    "ListRuleNamesByTarget": list_rule_names_by_target, "TestEventPattern": test_event_pattern,
    "PutEvents": put_events, "TagResource": tag_resource, "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
}  # fmt: skip


def register(app: web.Application) -> None:
    awsjson.register(app, "AWSEvents", OPERATIONS)
