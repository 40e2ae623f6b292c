"""AWS IoT's topic-rule operations (rest-json, paths as botocore's ``iot`` model has them), served by
``iot/service.py``; and ``GET /lamina/v1/iot``: the MQTT broker's connection and subscriptions."""

from __future__ import annotations

from aiohttp import web

from lamina.api.context import json_body, json_response, services
from lamina.iot.errors import IotInvalidRequest
from lamina.iot.service import MAX_RESULTS, TopicRules
from lamina.iot.subscriber import BrokerStatus

routes = web.RouteTableDef()


def _rules(request: web.Request) -> TopicRules:
    return services(request).iot


@routes.post("/rules/{ruleName}")
async def create_topic_rule(request: web.Request) -> web.Response:
    # The x-amz-tagging header (tags) is accepted and not kept: Lamina has no IoT tagging yet.
    await _rules(request).create(request.match_info["ruleName"], await json_body(request))
    return json_response({})


@routes.patch("/rules/{ruleName}")
async def replace_topic_rule(request: web.Request) -> web.Response:
    await _rules(request).replace(request.match_info["ruleName"], await json_body(request))
    return json_response({})


@routes.get("/rules/{ruleName}")
async def get_topic_rule(request: web.Request) -> web.Response:
    rules = _rules(request)
    rule = rules.get(request.match_info["ruleName"])
    return json_response({"ruleArn": rules.arn(rule), "rule": rule.wire()})


@routes.delete("/rules/{ruleName}")
async def delete_topic_rule(request: web.Request) -> web.Response:
    await _rules(request).delete(request.match_info["ruleName"])
    return json_response({})


@routes.post("/rules/{ruleName}/enable")
async def enable_topic_rule(request: web.Request) -> web.Response:
    await _rules(request).set_disabled(request.match_info["ruleName"], False)
    return json_response({})


@routes.post("/rules/{ruleName}/disable")
async def disable_topic_rule(request: web.Request) -> web.Response:
    await _rules(request).set_disabled(request.match_info["ruleName"], True)
    return json_response({})


@routes.get("/rules")
async def list_topic_rules(request: web.Request) -> web.Response:
    query = request.query
    raw = query.get("maxResults")
    if raw is not None and (not raw.isdigit() or not 1 <= int(raw) <= MAX_RESULTS):
        raise IotInvalidRequest(f"1 validation error detected: Value '{raw}' at 'maxResults' failed to satisfy "
                                f"constraint: Member must have value between 1 and {MAX_RESULTS}")  # fmt: skip
    disabled_text = query.get("ruleDisabled")
    if disabled_text is not None and disabled_text.lower() not in ("true", "false"):
        raise IotInvalidRequest(f"Invalid value for ruleDisabled: {disabled_text}")
    disabled = None if disabled_text is None else disabled_text.lower() == "true"
    rules = _rules(request)
    page, token = rules.list(query.get("topic"), disabled, int(raw) if raw else MAX_RESULTS, query.get("nextToken"))
    s = services(request).settings
    doc: dict[str, object] = {"rules": [rule.list_item(s.region, s.account_id) for rule in page]}
    if token is not None:
        doc["nextToken"] = token
    return json_response(doc)


@routes.get("/lamina/v1/iot")
async def broker_status(request: web.Request) -> web.Response:
    mqtt = services(request).mqtt
    status = mqtt.status() if mqtt is not None else BrokerStatus(configured=False)
    return json_response(status.wire())
