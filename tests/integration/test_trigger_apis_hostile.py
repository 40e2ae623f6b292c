"""Hostile clients of the trigger services' APIs (EventBridge, Scheduler, HTTP and REST APIs) and of
the APIs they serve: malformed, deeply nested and oversized bodies get AWS-shaped 4xx answers, and
the server keeps answering. A real server and raw HTTP."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from tests.conftest import LaminaProcess, deploy
from tests.functions import wait_until
from tests.integration.test_event_bus import PRINTER, events_client, received, rule_to
from tests.integration.test_api_hardening import MB, nested, send

EVENTS = {"X-Amz-Target": "AWSEvents.PutEvents", "Content-Type": "application/x-amz-json-1.1"}
# (method, path, headers) of one write operation per service, each taking a JSON body.
WRITES = {
    "events": ("POST", "/", EVENTS),
    "scheduler": ("POST", "/schedule-groups/hostile", {}),
    "apigatewayv2": ("POST", "/v2/apis", {}),
    "apigateway": ("POST", "/restapis", {}),
}


def healthy(endpoint: str) -> bool:
    with urllib.request.urlopen(f"{endpoint}/lamina/v1/health", timeout=30) as r:
        return bool(json.loads(r.read())["status"] == "ok")


def error_code(headers_code: str, body: bytes) -> str:
    """The error code as botocore reads it: the X-Amzn-ErrorType header, else the body's __type."""
    if headers_code:
        return headers_code.split(":", 1)[0]
    return str(json.loads(body).get("__type", ""))


@pytest.mark.parametrize("service", sorted(WRITES))
@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"a string"', b"\xff\xfe", nested(100_000)],
                         ids=["malformed", "array", "string", "not-utf8", "nested-100k"])  # fmt: skip
def test_bad_bodies_get_aws_shaped_4xx(lamina: LaminaProcess, service: str, body: bytes) -> None:
    method, path, headers = WRITES[service]
    status, code, answer = send(lamina.endpoint, method, path, body, headers)
    assert 400 <= status < 500, (service, status, answer[:200])
    assert error_code(code, answer), (service, answer[:200])  # a code botocore can read, never a traceback
    assert b"Traceback" not in answer
    assert healthy(lamina.endpoint)


@pytest.mark.parametrize("service", sorted(WRITES))
def test_oversized_bodies_are_refused_without_being_kept(lamina: LaminaProcess, service: str) -> None:
    method, path, headers = WRITES[service]
    status, _, answer = send(lamina.endpoint, method, path, b'{"a": "' + b"x" * (80 * MB) + b'"}', headers)
    assert status in (400, 413), (service, status, answer[:200])
    assert healthy(lamina.endpoint)


def test_put_events_with_hostile_details_fails_per_entry(lamina: LaminaProcess) -> None:
    entries: list[dict[str, Any]] = [
        {"Source": "s", "DetailType": "t", "Detail": nested(50_000).decode()},  # not an object, very deep
        {"Source": "s", "DetailType": "t", "Detail": '{"a": ' * 5000 + "1" + "}" * 5000},  # an object, very deep
        {"Source": "s", "DetailType": "t", "Detail": "{broken"},
        {"Source": "s", "DetailType": "t", "Detail": "{}"},
    ]
    status, _, answer = send(lamina.endpoint, "POST", "/", json.dumps({"Entries": entries}).encode(), EVENTS)
    assert status == 200, answer[:300]
    results = json.loads(answer)["Entries"]
    assert [("EventId" in r) for r in results] == [False, False, False, True], results
    assert all(r.get("ErrorCode") for r in results[:3]), results
    assert healthy(lamina.endpoint)


def test_deep_inputs_elsewhere_are_validation_errors(lamina: LaminaProcess) -> None:
    deep = '{"a": ' * 5000 + "1" + "}" * 5000
    calls = [
        ("POST", "/", {"EventPattern": '{"source": ["s"]}', "Event": deep},
         {**EVENTS, "X-Amz-Target": "AWSEvents.TestEventPattern"}),
        ("POST", "/", {"Rule": "absent", "Targets": [{"Id": "t", "Arn": "arn:aws:lambda:us-east-1:000000000000:"
                                                      "function:f", "Input": deep}]},
         {**EVENTS, "X-Amz-Target": "AWSEvents.PutTargets"}),
        ("POST", "/schedules/deep", {"ScheduleExpression": "rate(1 day)", "FlexibleTimeWindow": {"Mode": "OFF"},
                                     "Target": {"Arn": "arn:aws:lambda:us-east-1:000000000000:function:f",
                                                "RoleArn": "arn:aws:iam::000000000000:role/r", "Input": deep}}, {}),
    ]  # fmt: skip
    for method, path, body, headers in calls:
        status, code, answer = send(lamina.endpoint, method, path, json.dumps(body).encode(), headers)
        assert 400 <= status < 500 and error_code(code, answer), (path, headers, status, answer[:300])
    assert healthy(lamina.endpoint)


def test_a_detail_nested_near_the_limit_does_not_stop_delivery(lamina: LaminaProcess, client: Any,
                                                               fn_name: str) -> None:  # fmt: skip
    fn = deploy(client, fn_name, PRINTER)
    events = events_client(lamina.endpoint)
    rule_to(events, "default", f"deep-{fn_name}", {"source": [f"deep.{fn_name}"]}, fn["FunctionArn"])
    for depth in (900, 985, 995):  # some parse as a detail and not in every later place; none may stop delivery
        detail = '{"a": ' * depth + "1" + "}" * depth
        events.put_events(Entries=[{"Source": f"deep.{fn_name}", "DetailType": "d", "Detail": detail}])
    events.put_events(Entries=[{"Source": f"deep.{fn_name}", "DetailType": "after", "Detail": '{"ok": true}'}])

    def after() -> list[Any]:
        return [e for e in received(lamina.endpoint, fn_name, 1) if e.get("detail-type") == "after"]

    assert wait_until(after), "the event put after the deep ones was not delivered"
    assert healthy(lamina.endpoint)


def test_patterns_and_test_events_are_bounded(lamina: LaminaProcess) -> None:
    huge_pattern = json.dumps({"source": ["s" * 5000]})  # past EventPattern's 4,096 characters
    for target, body in (
        ("AWSEvents.PutRule", {"Name": "huge", "EventPattern": huge_pattern}),
        ("AWSEvents.TestEventPattern", {"EventPattern": huge_pattern, "Event": "{}"}),
        ("AWSEvents.TestEventPattern", {"EventPattern": '{"source": ["s"]}',
                                        "Event": json.dumps({"source": "s", "pad": "x" * 300_000})}),
    ):  # fmt: skip
        status, code, answer = send(lamina.endpoint, "POST", "/", json.dumps(body).encode(),
                                    {**EVENTS, "X-Amz-Target": target})  # fmt: skip
        assert status == 400 and error_code(code, answer) == "ValidationException", (target, answer[:300])
    assert healthy(lamina.endpoint)
