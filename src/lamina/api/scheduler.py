"""EventBridge Scheduler's API (rest-json, paths as botocore's ``scheduler`` model has them):
schedule groups, schedules and group tags, served by ``schedules/service.py``."""

from __future__ import annotations

from typing import Mapping

from aiohttp import web

from lamina.api.context import json_body, json_response, services
from lamina.schedules.model import SchedulerValidation, check_name
from lamina.schedules.service import SchedulerService, page_index, page_token

routes = web.RouteTableDef()


def _scheduler(request: web.Request) -> SchedulerService:
    return services(request).schedules


def _arn_parts(request: web.Request) -> tuple[str, str]:
    s = services(request).settings
    return s.region, s.account_id


def _max_results(request: web.Request) -> int:
    text = request.query.get("MaxResults")
    if text is None:
        return 100
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise SchedulerValidation(
            f"1 validation error detected: Value '{text}' at 'maxResults' failed to satisfy constraint: "
            "Member must have value less than or equal to 100"
        )
    return int(text)


def _page(request: web.Request, items: list[dict[str, object]], key: str) -> web.Response:
    start = page_index(request.query.get("NextToken"))
    limit = _max_results(request)
    doc: dict[str, object] = {key: items[start:start + limit]}
    if start + limit < len(items):
        doc["NextToken"] = page_token(start + limit)
    return json_response(doc)


def _tags(body: Mapping[str, object]) -> dict[str, str]:
    tags = body.get("Tags") or []
    if not isinstance(tags, list):
        raise SchedulerValidation("Invalid value for Tags.")
    out: dict[str, str] = {}
    for tag in tags:
        if not isinstance(tag, dict) or not isinstance(tag.get("Key"), str) or not isinstance(tag.get("Value"), str):
            raise SchedulerValidation("Each tag needs a Key and a Value.")
        out[tag["Key"]] = tag["Value"]
    return out


@routes.post("/schedule-groups/{name}")
async def create_group(request: web.Request) -> web.Response:
    body = await json_body(request)
    token = body.get("ClientToken")
    group = await _scheduler(request).create_group(
        request.match_info["name"], _tags(body), token if isinstance(token, str) else None
    )
    return json_response({"ScheduleGroupArn": group.arn(*_arn_parts(request))})


@routes.get("/schedule-groups/{name}")
async def get_group(request: web.Request) -> web.Response:
    return json_response(_scheduler(request).get_group(request.match_info["name"]).wire(*_arn_parts(request)))


@routes.delete("/schedule-groups/{name}")
async def delete_group(request: web.Request) -> web.Response:
    await _scheduler(request).delete_group(request.match_info["name"])
    return json_response({})


@routes.get("/schedule-groups")
async def list_groups(request: web.Request) -> web.Response:
    groups = _scheduler(request).list_groups(request.query.get("NamePrefix"))
    return _page(request, [g.wire(*_arn_parts(request)) for g in groups], "ScheduleGroups")


@routes.post("/schedules/{name}")
async def create_schedule(request: web.Request) -> web.Response:
    record = await _scheduler(request).create(request.match_info["name"], await json_body(request))
    return json_response({"ScheduleArn": record.arn(*_arn_parts(request))})


@routes.put("/schedules/{name}")
async def update_schedule(request: web.Request) -> web.Response:
    record = await _scheduler(request).update(request.match_info["name"], await json_body(request))
    return json_response({"ScheduleArn": record.arn(*_arn_parts(request))})


@routes.get("/schedules/{name}")
async def get_schedule(request: web.Request) -> web.Response:
    name = check_name(request.match_info["name"])
    record = _scheduler(request).get(name, request.query.get("groupName"))
    return json_response(record.wire(*_arn_parts(request)))


@routes.delete("/schedules/{name}")
async def delete_schedule(request: web.Request) -> web.Response:
    name = check_name(request.match_info["name"])
    await _scheduler(request).delete(name, request.query.get("groupName"))
    return json_response({})


@routes.get("/schedules")
async def list_schedules(request: web.Request) -> web.Response:
    state = request.query.get("State")
    if state is not None and state not in ("ENABLED", "DISABLED"):
        raise SchedulerValidation(
            f"1 validation error detected: Value '{state}' at 'state' failed to satisfy constraint: "
            "Member must satisfy enum value set: [ENABLED, DISABLED]"
        )
    scheduler = _scheduler(request)
    records = scheduler.list(request.query.get("ScheduleGroup"), request.query.get("NamePrefix"), state)
    items = []
    for record in records:
        item = record.summary(*_arn_parts(request))
        # Lamina's own addition (boto3 ignores members it does not know): when it fires next.
        due = scheduler.next_firing(record)
        if due is not None:
            item["NextFiring"] = due.timestamp()
        items.append(item)
    return _page(request, items, "Schedules")


async def tag_resource(request: web.Request) -> web.Response:
    await _scheduler(request).tag(request.match_info["arn"], _tags(await json_body(request)))
    return json_response({})


async def untag_resource(request: web.Request) -> web.Response:
    await _scheduler(request).untag(request.match_info["arn"], request.query.getall("TagKeys", []))
    return json_response({})


async def list_tags(request: web.Request) -> web.Response:
    group = _scheduler(request).group_by_arn(request.match_info["arn"])
    return json_response({"Tags": [{"Key": k, "Value": v} for k, v in sorted(group.tags.items())]})
