"""IoT topic rules' pure parts: the broker's URL, a rule payload's validation, what a message does."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from lamina.errors import ApiError, InvalidParameterValue, ResourceNotFound, ServiceError, TooManyRequests
from lamina.iot.broker import BrokerUrl, parse_url
from lamina.iot.errors import IotInvalidRequest, SqlParse
from lamina.iot.evaluate import NOT_JSON
from lamina.iot.model import TopicRule, from_payload
from lamina.iot.subscriber import client_id, parse_payload, transient
from lamina.settings import Settings

ARN = "arn:aws:lambda:us-east-1:000000000000:function:fn"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_broker_urls() -> None:
    assert parse_url("mqtt://broker.lan") == BrokerUrl("broker.lan", 1883)
    url = parse_url("mqtt://user%40x:p%3Ass@127.0.0.1:18830")
    assert url == BrokerUrl("127.0.0.1", 18830, "user@x", "p:ss")
    assert str(url) == "mqtt://user@x@127.0.0.1:18830" and "p:ss" not in repr(url)
    for bad in ("http://h:1", "mqtt://:1883", "mqtt://h:99999", "mqtt://h:1/path", "h:1883"):
        with pytest.raises(ValueError):
            parse_url(bad)
    with pytest.raises(ValueError) as refused:
        parse_url("mqtt://user:s3cret@h:99999")
    assert "s3cret" not in str(refused.value) and "user:***@h" in str(refused.value)
    assert Settings.from_env({"LAMINA_MQTT_URL": "mqtt://h:2"}).mqtt_url == BrokerUrl("h", 2)
    assert Settings.from_env({}).mqtt_url is None


def test_a_valid_payload_round_trips_through_its_document() -> None:
    rule = from_payload("r_1", {"sql": "SELECT a FROM 'x/+'", "description": "d", "ruleDisabled": True,
                                "actions": [{"lambda": {"functionArn": ARN + ":live"}}],
                                "errorAction": {"lambda": {"functionArn": ARN}}}, NOW)  # fmt: skip
    assert rule.topic_filter == "x/+" and rule.function_arn == ARN + ":live" and rule.disabled
    assert TopicRule.from_doc(json.loads(json.dumps(rule.doc()))) == rule
    assert rule.wire()["errorAction"] == {"lambda": {"functionArn": ARN}}
    assert rule.list_item("eu-west-1", "123456789012")["ruleArn"] == "arn:aws:iot:eu-west-1:123456789012:rule/r_1"


@pytest.mark.parametrize(("name", "payload", "error", "fragment"), [
    ("bad name", {"sql": "SELECT * FROM 'x'", "actions": []}, IotInvalidRequest, "regular expression"),
    ("r", {"actions": [{"lambda": {"functionArn": ARN}}]}, IotInvalidRequest, "topicRulePayload.sql"),
    ("r", {"sql": "SELECT * FROM 'x'"}, IotInvalidRequest, "topicRulePayload.actions"),
    ("r", {"sql": "SELECT * FROM 'x'", "actions": []}, IotInvalidRequest, "exactly one action"),
    ("r", {"sql": "SELECT * FROM 'x'", "actions": [{"lambda": {"functionArn": ARN}}] * 11}, IotInvalidRequest, "10"),
    ("r", {"sql": "SELECT * FROM 'x'", "actions": [{"s3": {}}]}, IotInvalidRequest, "only 'lambda' actions"),
    ("r", {"sql": "SELECT * FROM 'x'", "actions": [{"lambda": {}}]}, IotInvalidRequest, "Invalid Lambda"),
    ("r", {"sql": "SELECT * FROM 'x'", "actions": [{"lambda": {"functionArn": ARN}}], "awsIotSqlVersion": "x"},
     IotInvalidRequest, "Invalid SQL version"),
    ("r", {"sql": "SELECT * FROM x", "actions": [{"lambda": {"functionArn": ARN}}]}, SqlParse, "Line 1:14"),
])  # fmt: skip
def test_invalid_payloads(name: str, payload: dict[str, object], error: type[ApiError], fragment: str) -> None:
    with pytest.raises(error) as caught:
        from_payload(name, payload, NOW)
    assert fragment in caught.value.message


def test_payload_parsing_and_client_ids() -> None:
    assert parse_payload(b'{"a": [1, 2.5, "x"]}') == {"a": [1, 2.5, "x"]}
    for bad in (b"\xff\xfe", b"not json", b'{"x": NaN}', b"[" * 100_000 + b"]" * 100_000, b""):
        assert parse_payload(bad) is NOT_JSON
    first, second = client_id(Path("/a/data")), client_id(Path("/b/data"))
    assert first == client_id(Path("/a/data")) and first != second and len(first) == 23


def test_the_cli_table_and_broker_line() -> None:
    from lamina.cli.iot import broker_line, rule_rows

    rules = [{"ruleName": "b", "topicPattern": "x/#", "ruleDisabled": True, "actions": [{"lambda": {"functionArn": ARN}}]},
             {"ruleName": "a", "topicPattern": "y", "actions": []}]  # fmt: skip
    assert rule_rows(rules) == [["a", "y", "-", "ENABLED"], ["b", "x/#", "fn", "DISABLED"]]
    assert "LAMINA_MQTT_URL" in broker_line({"configured": False})
    assert broker_line({"configured": True, "url": "mqtt://h:1", "connected": True, "subscriptions": ["a"]}) == (
        "broker: mqtt://h:1 connected, 1 subscription")  # fmt: skip
    assert broker_line({"configured": True, "url": "mqtt://h:1", "connected": True, "subscriptions": ["a", "b"],
                        "held": 2}) == (
        "broker: mqtt://h:1 connected, 2 subscriptions; 2 held (their functions' queues refused them for now)")  # fmt: skip
    assert broker_line({"configured": True, "url": "mqtt://h:1", "connected": False, "lastError": "refused"}) == (
        "broker: mqtt://h:1 NOT connected (refused)")  # fmt: skip


def test_which_refusals_hold_a_message_and_which_drop_it() -> None:
    # Held (not acknowledged, tried again): the queue at its quota, a fault of the store.
    assert transient(TooManyRequests("queue full", reason="FunctionInvocationRateLimitExceeded"))
    assert transient(ServiceError("disk I/O error"))
    # Acknowledged and logged: redelivering would be refused the same way forever.
    assert not transient(ResourceNotFound("Function not found")) and not transient(InvalidParameterValue("bad"))
