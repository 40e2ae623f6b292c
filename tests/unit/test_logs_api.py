"""The Logs API's subscriptions and records, and what it shares with the Telemetry API, with plain values."""

from __future__ import annotations

import asyncio
import json

import pytest

from lamina.runtime import extensions as rx
from lamina.runtime import logs_api
from lamina.runtime import telemetry as rt
from tests.unit.test_extensions_api import IDENTITY, FakeChannel, register


def subscription(**overrides: object) -> bytes:
    doc: dict[str, object] = {
        "schemaVersion": "2021-03-18", "types": ["platform", "function", "extension"],
        "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 100},
        "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:8080/lambda_logs"},
    }  # fmt: skip
    doc.update(overrides)
    return json.dumps(doc).encode()


def test_subscriptions_parsed_with_the_logs_apis_defaults() -> None:
    sub = logs_api.parse_subscription("ext", subscription())
    assert (sub.extension, sub.types, sub.host, sub.port, sub.path, sub.protocol, sub.api) == (
        "ext", frozenset(rt.TYPES), "sandbox.localdomain", 8080, "/lambda_logs", rt.HTTP, logs_api.API_VERSION,
    )  # fmt: skip
    assert sub.render is logs_api.render_with_runtime_done
    defaults = logs_api.parse_subscription("ext", subscription(buffering=None, schemaVersion=None))
    assert (defaults.max_items, defaults.max_bytes, defaults.timeout_ms) == (10000, 262144, 1000)
    unversioned = json.loads(subscription())
    del unversioned["schemaVersion"]
    assert logs_api.parse_subscription("ext", json.dumps(unversioned).encode()).render is logs_api.render
    for uri in ("sandbox.localdomain:4245", "tcp://sandbox.localdomain:4245"):
        tcp = logs_api.parse_subscription("ext", subscription(destination={"protocol": "TCP", "URI": uri}))
        assert (tcp.protocol, tcp.host, tcp.port) == (rt.TCP, "sandbox.localdomain", 4245)


@pytest.mark.parametrize("body", [
    b"not json", b"[]", b"", b"[" * 100_000 + b"]" * 100_000, subscription(padding="x" * 70_000), subscription(types=[]), subscription(types=["logs"]), subscription(types="platform"),
    subscription(types=[["platform"]]), subscription(schemaVersion="2022-07-01"), subscription(schemaVersion=7),
    subscription(schemaVersion=["2020-08-15"]), subscription(schemaVersion={"a": 1}),
    subscription(destination={"protocol": "UDP", "URI": "http://sandbox.localdomain:1"}),
    subscription(destination={"protocol": "TCP", "URI": "http://sandbox.localdomain:1"}),
    subscription(destination={"protocol": "HTTP", "URI": "https://sandbox.localdomain:1"}),
    subscription(destination={"protocol": "HTTP", "URI": "http://169.254.169.254:80/"}),
    subscription(destination={"protocol": "HTTP", "URI": "http://sandbox.localdomain/"}),
    subscription(destination={"protocol": "HTTP", "URI": "http://sandbox.localdomain:99999/"}),
    subscription(destination={"protocol": "HTTP", "URI": "http://sandbox.localdomain:port/"}),
    subscription(destination={"protocol": "HTTP", "URI": "http://user@evil.com:1@sandbox.localdomain:8/"}),
    subscription(destination={"protocol": "HTTP", "URI": 8080}), subscription(destination="http://sandbox.localdomain:1"),
    subscription(buffering={"maxItems": 999}), subscription(buffering={"maxItems": 10001}),
    subscription(buffering={"maxBytes": 262143}), subscription(buffering={"timeoutMs": 24}),
    subscription(buffering={"timeoutMs": True}), subscription(buffering={"timeoutMs": 100.5}), subscription(buffering=[]),
])  # fmt: skip
def test_subscriptions_refused(body: bytes) -> None:
    with pytest.raises(rt.InvalidSubscription):
        logs_api.parse_subscription("ext", body)


def test_records_in_the_logs_apis_schema() -> None:
    report = {"requestId": "r1", "status": "success", "metrics": {"durationMs": 1.5, "billedDurationMs": 2}}
    assert logs_api.render("platform.report", report) == (
        ("platform.end", {"requestId": "r1"}), ("platform.report", {"requestId": "r1", "metrics": report["metrics"]}),
    )  # fmt: skip
    assert logs_api.render("platform.start", {"requestId": "r1", "version": "$LATEST"}) == (
        ("platform.start", {"requestId": "r1", "version": "$LATEST"}),
    )  # fmt: skip
    assert logs_api.render(rt.FUNCTION, "hello") == ((rt.FUNCTION, "hello\n"),)
    assert logs_api.render(rt.EXTENSION, "[ext] hi") == ((rt.EXTENSION, "[ext] hi\n"),)
    assert logs_api.render(rt.FAULT, "RequestId: r1 Error: Runtime exited") == ((rt.FAULT, "RequestId: r1 Error: Runtime exited"),)
    subscribed = {"name": "ext", "state": "Subscribed", "types": ["platform"]}
    assert logs_api.render(rt.SUBSCRIBED, subscribed) == (("platform.logsSubscription", subscribed),)
    for kind in ("platform.initStart", "platform.initRuntimeDone", "platform.initReport"):
        assert logs_api.render(kind, {}) == ()  # the Telemetry API's alone
    done = {"requestId": "r1", "status": "error", "metrics": {"durationMs": 1.0}}
    assert logs_api.render("platform.runtimeDone", done) == ()  # not in the 2020-08-15 schema
    assert logs_api.render_with_runtime_done("platform.runtimeDone", done) == (
        ("platform.runtimeDone", {"requestId": "r1", "status": "failure"}),
    )  # fmt: skip
    # The Telemetry API keeps its own records, and sends none of the Logs API's.
    assert rt.render("platform.runtimeDone", done) == (("platform.runtimeDone", done),)
    assert rt.render(rt.FAULT, "x") == () and rt.render(rt.SUBSCRIBED, subscribed) == ()


def test_one_environment_feeds_both_apis_each_in_its_schema_and_framing() -> None:
    sent: dict[str, list[bytes]] = {}

    async def send(sub: rt.Subscription, body: bytes) -> None:
        sent.setdefault(sub.extension, []).append(body)

    async def scenario() -> None:
        telemetry = rt.Telemetry(send)
        telemetry.emit("platform.initStart", {"phase": "init"}, 0)
        tcp = {"protocol": "TCP", "URI": "sandbox.localdomain:4245"}
        telemetry.subscribe(logs_api.parse_subscription("logs", subscription(buffering={"timeoutMs": 25})))
        telemetry.subscribe(logs_api.parse_subscription("tcp", subscription(destination=tcp, schemaVersion="2020-08-15")))
        telemetry.subscribe(rt.parse_subscription("tel", subscription(schemaVersion="2022-12-13")))
        assert telemetry.api_of("logs") == logs_api.API_VERSION and telemetry.api_of("tel") == rt.API_VERSION
        assert telemetry.api_of("other") is None
        telemetry.end_init()
        telemetry.emit(rt.EXTENSION, "[ext] line", 1000)
        telemetry.emit("platform.runtimeDone", {"requestId": "r1", "status": "success"}, 1001)
        telemetry.emit("platform.report", {"requestId": "r1", "status": "success", "metrics": {}}, 1002)
        await telemetry.close(1.0)

    asyncio.run(scenario())
    logs = json.loads(b"".join(sent["logs"]))
    assert [r["type"] for r in logs] == ["extension", "platform.runtimeDone", "platform.end", "platform.report"]
    assert logs[0] == {"time": "1970-01-01T00:00:01.000Z", "type": "extension", "record": "[ext] line\n"}
    # TCP: newline-delimited JSON; the 2020-08-15 schema has no runtimeDone.
    lines = b"".join(sent["tcp"]).split(b"\n")
    assert lines[-1] == b"" and [json.loads(line)["type"] for line in lines[:-1]] == [
        "extension", "platform.end", "platform.report",
    ]  # fmt: skip
    tel = json.loads(b"".join(sent["tel"]))
    assert [r["type"] for r in tel] == ["platform.initStart", "extension", "platform.runtimeDone", "platform.report"]
    assert tel[1]["record"] == "[ext] line"


def answer(exts: rx.Extensions, identifier: str, path: str, body: bytes) -> tuple[int, object]:
    conn = FakeChannel()
    exts.handle(conn, "PUT", path, {rx.HEADER_IDENTIFIER.lower(): identifier}, body)
    status, _, doc = conn.last
    return status, doc


def test_an_extension_subscribes_with_one_api_only_and_errors_are_each_apis() -> None:
    async def scenario() -> None:
        async def send(sub: rt.Subscription, body: bytes) -> None:
            pass

        telemetry = rt.Telemetry(send)
        exts = rx.Extensions(IDENTITY, frozenset({"a", "b"}), telemetry)
        _, a, _ = register(exts, "a", ["INVOKE"])
        _, b, _ = register(exts, "b", ["INVOKE"])
        assert answer(exts, a, logs_api.PATH, subscription(types=[])) == (
            400, {"errorType": "Logs.ValidationError", "errorMessage": "types must be a list of platform, function and extension"},
        )  # fmt: skip
        assert answer(exts, a, rt.PATH, subscription(types=[]))[1]["errorType"] == "ValidationError"  # type: ignore[index]
        assert answer(exts, a, logs_api.PATH, subscription()) == (200, "OK")
        assert answer(exts, a, logs_api.PATH, subscription()) == (200, "OK")  # again: it replaces the first
        status, doc = answer(exts, a, rt.PATH, subscription(schemaVersion="2022-12-13"))
        assert status == 400 and doc["errorType"] == "ValidationError" and "Logs API already" in doc["errorMessage"]  # type: ignore[index]
        assert answer(exts, b, rt.PATH, subscription(schemaVersion="2022-12-13")) == (200, "OK")
        status, doc = answer(exts, b, logs_api.PATH, subscription())
        assert status == 400 and doc["errorType"] == "Logs.ValidationError"  # type: ignore[index]
        assert answer(exts, "unknown", logs_api.PATH, subscription())[0] == 403
        await telemetry.close(0.1)

    asyncio.run(scenario())
