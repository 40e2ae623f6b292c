"""The other rest-json APIs' operations as IAM actions and resources (pure): EventBridge Scheduler,
AWS IoT's topic rules, API Gateway (apigateway and apigatewayv2, whose actions are the HTTP method on
the path: ``apigateway:GET`` on ``arn:aws:apigateway:<region>::/restapis/<id>``), the tags of
Scheduler's and REST APIs' resources (``/tags/<arn>``), and Lamina's own ``/lamina/v1/...``
(``lamina:<Operation>`` on ``*``: a root, or a policy allowing ``lamina:*`` or ``*``, may read
them; the health check asks nothing)."""

from __future__ import annotations

import re
from typing import Mapping
from urllib.parse import unquote

from lamina.iam.actions.operation import Operation, Wire

_SCHEDULER: tuple[tuple[str, re.Pattern[str], str], ...] = tuple((m, re.compile(p), n) for m, p, n in (
    ("POST", r"/schedules/(?P<name>[^/]+)", "CreateSchedule"),
    ("GET", r"/schedules/(?P<name>[^/]+)", "GetSchedule"),
    ("PUT", r"/schedules/(?P<name>[^/]+)", "UpdateSchedule"),
    ("DELETE", r"/schedules/(?P<name>[^/]+)", "DeleteSchedule"),
    ("GET", r"/schedules/?", "ListSchedules"),
    ("POST", r"/schedule-groups/(?P<group>[^/]+)", "CreateScheduleGroup"),
    ("GET", r"/schedule-groups/(?P<group>[^/]+)", "GetScheduleGroup"),
    ("DELETE", r"/schedule-groups/(?P<group>[^/]+)", "DeleteScheduleGroup"),
    ("GET", r"/schedule-groups/?", "ListScheduleGroups"),
))  # fmt: skip
_IOT: tuple[tuple[str, re.Pattern[str], str], ...] = tuple((m, re.compile(p), n) for m, p, n in (
    ("POST", r"/rules/(?P<name>[^/]+)", "CreateTopicRule"),
    ("PATCH", r"/rules/(?P<name>[^/]+)", "ReplaceTopicRule"),
    ("GET", r"/rules/(?P<name>[^/]+)", "GetTopicRule"),
    ("DELETE", r"/rules/(?P<name>[^/]+)", "DeleteTopicRule"),
    ("POST", r"/rules/(?P<name>[^/]+)/enable", "EnableTopicRule"),
    ("POST", r"/rules/(?P<name>[^/]+)/disable", "DisableTopicRule"),
    ("GET", r"/rules/?", "ListTopicRules"),
))  # fmt: skip
_TAG_ACTIONS = {"POST": "TagResource", "DELETE": "UntagResource", "GET": "ListTagsForResource"}
_LAMINA = {"/lamina/v1/queue": "GetQueue", "/lamina/v1/outbox": "GetOutbox", "/lamina/v1/iot": "GetIotStatus",
           "/lamina/v1/event-source-mappings": "GetEventSourceMappings", "/lamina/v1/usage": "GetUsage",
           "/lamina/v1/stats": "GetStats"}  # fmt: skip


def _scheduler(method: str, path: str, query: Mapping[str, str], members: Mapping[str, object], region: str,
               account: str) -> Operation | None:  # fmt: skip
    for verb, pattern, name in _SCHEDULER:
        found = pattern.fullmatch(path) if verb == method else None
        if found is None:
            continue
        groups = found.groupdict()
        base = f"arn:aws:scheduler:{region}:{account}"
        if "name" in groups:
            group = query.get("groupName") or members.get("GroupName") or "default"
            resource = f"{base}:schedule/{group}/{unquote(groups['name'])}"
        elif "group" in groups:
            resource = f"{base}:schedule-group/{unquote(groups['group'])}"
        else:
            resource = "*"
        return Operation(f"scheduler:{name}", (resource,), Wire.REST_JSON)
    return None


def _iot(method: str, path: str, region: str, account: str) -> Operation | None:
    for verb, pattern, name in _IOT:
        found = pattern.fullmatch(path) if verb == method else None
        if found is None:
            continue
        rule = found.groupdict().get("name")
        resource = f"arn:aws:iot:{region}:{account}:rule/{unquote(rule)}" if rule else "*"
        return Operation(f"iot:{name}", (resource,), Wire.REST_JSON)
    return None


def operation(method: str, path: str, query: Mapping[str, str], members: Mapping[str, object], region: str,
              account: str) -> Operation | None:  # fmt: skip
    """The operation a rest-json request of these APIs is, or None (not theirs, or the health check)."""
    if path.startswith("/schedule"):
        return _scheduler(method, path, query, members, region, account)
    if path.startswith("/rules"):
        return _iot(method, path, region, account)
    if path.startswith(("/restapis", "/v2/apis", "/v2/tags", "/v2/domainnames")):
        return Operation(f"apigateway:{method}", (f"arn:aws:apigateway:{region}::{path}",), Wire.REST_JSON)
    if path.startswith("/tags/"):
        arn = unquote(path[len("/tags/"):])
        service = arn.split(":")[2] if arn.count(":") >= 5 else ""
        if service == "apigateway":
            return Operation(f"apigateway:{method}", (f"arn:aws:apigateway:{region}::/tags/{arn}",), Wire.REST_JSON)
        # Any other method is answered with an error; decided as the most a tag change may do.
        return Operation(f"scheduler:{_TAG_ACTIONS.get(method, 'TagResource')}", (arn,), Wire.REST_JSON)
    if path.startswith("/lamina/v1/"):
        if path == "/lamina/v1/health":
            return None
        if path.startswith("/lamina/v1/functions/") and path.endswith("/logs"):
            return Operation("lamina:GetLogs", ("*",), Wire.REST_JSON)
        if path.startswith("/lamina/v1/code/"):
            return Operation("lamina:GetCode", ("*",), Wire.REST_JSON)
        if path.startswith("/lamina/v1/object-events/"):
            return None  # the webhook intake has its own token (LAMINA_OBJECT_EVENTS_TOKEN)
        if path.startswith("/lamina/v1/outbox/") and method == "DELETE":
            return Operation("lamina:DeleteOutboxMessage", ("*",), Wire.REST_JSON)
        return Operation(f"lamina:{_LAMINA.get(path.rstrip('/'), 'Admin')}", ("*",), Wire.REST_JSON)
    return None
