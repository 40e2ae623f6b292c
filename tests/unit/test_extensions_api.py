"""The Extensions API's state machine and the Telemetry API's subscriptions, with plain values."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from lamina.runtime import extensions as rx
from lamina.runtime import telemetry as rt
from lamina.sandbox.extension_processes import external_extensions, launcher


class FakeChannel:
    """A connection as the handler sees it: it keeps what it was answered."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str], bytes]] = []
        self.open = True

    def respond(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        self.answers.append((status, headers, body))

    def respond_json(self, status: int, doc: object) -> None:
        self.respond(status, {"Content-Type": "application/json"}, json.dumps(doc).encode())

    def close(self) -> None:
        self.open = False

    @property
    def last(self) -> tuple[int, dict[str, str], object]:
        status, headers, body = self.answers[-1]
        return status, headers, json.loads(body) if body.startswith((b"{", b"[")) else body.decode()


IDENTITY = rx.FunctionIdentity("fn", "$LATEST", "app.handler", "000000000000")


def register(exts: rx.Extensions, name: str, events: list[str], accept: str = "") -> tuple[int, str, object]:
    conn = FakeChannel()
    headers = {rx.HEADER_NAME: name, **({rx.HEADER_ACCEPT_FEATURE: accept} if accept else {})}
    exts.handle(conn, "POST", rx.PATH_REGISTER, headers, json.dumps({"events": events}).encode())
    status, answer_headers, body = conn.last
    return status, answer_headers.get(rx.HEADER_IDENTIFIER, ""), body


def next_of(exts: rx.Extensions, identifier: str) -> FakeChannel:
    conn = FakeChannel()
    exts.handle(conn, "GET", rx.PATH_NEXT, {rx.HEADER_IDENTIFIER.lower(): identifier}, None)
    return conn


def test_registration_answers_the_function_and_an_identifier() -> None:
    exts = rx.Extensions(IDENTITY, frozenset({"ext"}))
    status, identifier, body = register(exts, "ext", ["INVOKE", "SHUTDOWN"], accept="accountId")
    assert status == 200 and identifier
    assert body == {"functionName": "fn", "functionVersion": "$LATEST", "handler": "app.handler",
                    "accountId": "000000000000"}  # fmt: skip
    assert register(exts, "ext", [])[0] == 409  # the same name twice
    assert register(exts, "other", ["NOPE"])[0] == 400
    assert register(exts, "", [])[0] == 403


def test_internal_extensions_may_not_take_shutdown_and_registration_closes() -> None:
    exts = rx.Extensions(IDENTITY, frozenset())
    status, _, body = register(exts, "internal", ["SHUTDOWN"])
    assert status == 400 and isinstance(body, dict)
    assert body["errorType"] == "ShutdownEventNotSupportedForInternalExtension"
    exts.close_registration()
    assert register(exts, "late", [])[0] == 403


def test_at_most_ten_extensions() -> None:
    exts = rx.Extensions(IDENTITY, frozenset())
    assert all(register(exts, f"e{n}", [])[0] == 200 for n in range(rx.MAX_EXTENSIONS))
    assert register(exts, "eleventh", [])[0] == 403


def test_settled_once_every_external_registered_and_every_one_waits() -> None:
    exts = rx.Extensions(IDENTITY, frozenset({"a", "b"}))
    _, a, _ = register(exts, "a", ["INVOKE"])
    assert not exts.settled()
    next_of(exts, a)
    assert not exts.settled()  # b has not registered
    _, b, _ = register(exts, "b", ["SHUTDOWN"])
    assert not exts.settled()  # b has not asked for an event
    b_next = next_of(exts, b)
    assert exts.settled() and not b_next.answers


def test_invoke_goes_to_its_subscribers_and_an_invocation_ends_when_they_ask_again() -> None:
    exts = rx.Extensions(IDENTITY, frozenset({"a"}))
    _, a, _ = register(exts, "a", ["INVOKE"])
    _, b, _ = register(exts, "b", [])
    a_next, b_next = next_of(exts, a), next_of(exts, b)
    event = rx.invoke_event("rid", 123, "arn:aws:lambda:us-east-1:000000000000:function:fn", "Root=1-x")
    assert exts.deliver(rx.INVOKE, event) == 1
    status, headers, body = a_next.last
    assert status == 200 and headers[rx.HEADER_IDENTIFIER] == a
    assert body == {"eventType": "INVOKE", "deadlineMs": 123, "requestId": "rid",
                    "invokedFunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:fn",
                    "tracing": {"type": "X-Amzn-Trace-Id", "value": "Root=1-x"}}  # fmt: skip
    assert not b_next.answers and not exts.settled()
    next_of(exts, a)
    assert exts.settled()


def test_an_event_waits_for_an_extension_that_is_busy() -> None:
    exts = rx.Extensions(IDENTITY, frozenset({"a"}))
    _, a, _ = register(exts, "a", ["SHUTDOWN"])
    exts.deliver(rx.SHUTDOWN, rx.shutdown_event(rx.SPINDOWN, 99))
    conn = next_of(exts, a)
    assert conn.last[2] == {"eventType": "SHUTDOWN", "shutdownReason": "spindown", "deadlineMs": 99}


def test_errors_and_unknown_identifiers() -> None:
    exts = rx.Extensions(IDENTITY, frozenset({"a"}))
    assert next_of(exts, "nobody").last[0] == 403
    _, a, _ = register(exts, "a", [])
    conn = FakeChannel()
    exts.handle(conn, "POST", rx.PATH_INIT_ERROR,
                {rx.HEADER_IDENTIFIER.lower(): a, rx.HEADER_ERROR_TYPE: "Extension.ConfigInvalid"}, b"{}")  # fmt: skip
    assert conn.last[0] == 202
    assert exts.failed == rx.ExtensionError("a", "Extension.ConfigInvalid", b"{}", True)
    assert exts.settled()  # a failure ends the wait


def test_shutdown_limits() -> None:
    none = rx.Extensions(IDENTITY, frozenset())
    assert none.shutdown_limit_ms() == 0
    register(none, "internal", ["INVOKE"])
    assert none.shutdown_limit_ms() == rx.SHUTDOWN_INTERNAL_MS
    external = rx.Extensions(IDENTITY, frozenset({"x"}))
    register(external, "x", ["SHUTDOWN"])
    assert external.shutdown_limit_ms() == rx.SHUTDOWN_EXTERNAL_MS


def subscription(**overrides: object) -> bytes:
    doc: dict[str, object] = {
        "schemaVersion": "2022-12-13", "types": ["platform", "function"],
        "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 100},
        "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:8080/lambda_logs"},
    }  # fmt: skip
    doc.update(overrides)
    return json.dumps(doc).encode()


def test_subscriptions_parsed() -> None:
    sub = rt.parse_subscription("ext", subscription())
    assert sub == rt.Subscription("ext", frozenset({"platform", "function"}), "sandbox.localdomain", 8080,
                                  "/lambda_logs", 1000, 262144, 100, rt.HTTP, rt.API_VERSION, rt.render)  # fmt: skip
    assert sub.render is rt.render
    defaults = rt.parse_subscription("ext", subscription(buffering=None))
    assert (defaults.max_items, defaults.max_bytes, defaults.timeout_ms) == (1000, 262144, 1000)


@pytest.mark.parametrize("overrides", [
    {"types": ["logs"]}, {"types": []},
    {"destination": {"protocol": "TCP", "URI": "http://sandbox.localdomain:1"}},
    {"destination": {"protocol": "HTTP", "URI": "http://example.com:8080/"}},
    {"buffering": {"timeoutMs": 10}}, {"buffering": {"maxItems": 20000}}, {"schemaVersion": "1999-01-01"},
])  # fmt: skip
def test_subscriptions_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(rt.InvalidSubscription):
        rt.parse_subscription("ext", subscription(**overrides))


def test_telemetry_batches_by_count_and_replays_init_records() -> None:
    sent: list[tuple[str, list[dict[str, object]]]] = []

    async def send(sub: rt.Subscription, body: bytes) -> None:
        sent.append((sub.extension, json.loads(body)))

    async def scenario() -> None:
        telemetry = rt.Telemetry(send)
        telemetry.emit("platform.initStart", {"phase": "init"}, 0)
        sub = rt.parse_subscription("ext", subscription(types=["platform"], buffering={"maxItems": 1000}))
        telemetry.subscribe(sub)
        telemetry.end_init()
        telemetry.emit("function", "a line", 1)  # not a type it chose
        for n in range(999):
            telemetry.emit("platform.start", {"requestId": str(n)}, 2)
        await asyncio.sleep(0)  # the full batch's delivery runs
        await telemetry.close(1.0)

    asyncio.run(scenario())
    assert len(sent) == 1
    extension, records = sent[0]
    assert extension == "ext" and len(records) == 1000
    assert records[0] == {"time": "1970-01-01T00:00:00.000Z", "type": "platform.initStart", "record": {"phase": "init"}}
    assert {r["type"] for r in records[1:]} == {"platform.start"}


def test_external_extensions_are_the_executable_files(tmp_path: Path) -> None:
    assert external_extensions(None) == frozenset()
    assert external_extensions(tmp_path) == frozenset()
    (tmp_path / "extensions").mkdir()
    for name, mode in (("runs", 0o755), ("data", 0o644)):
        (tmp_path / "extensions" / name).write_text("#!/bin/sh\n")
        os.chmod(tmp_path / "extensions" / name, mode)
    (tmp_path / "extensions" / "folder").mkdir()
    assert external_extensions(tmp_path) == frozenset({"runs"})
    argv = launcher("/opt/extensions", ["/var/runtime/bootstrap"], bash=False)
    assert argv[:2] == ["/bin/sh", "-c"] and argv[3:] == ["/opt/extensions", "/var/runtime/bootstrap"]
    assert "unset" in argv[2] and "_HANDLER" in argv[2] and "/dev/tcp" not in argv[2]
    waits = launcher("/opt/extensions", ["/var/runtime/bootstrap"], bash=True)
    assert waits[:2] == ["/bin/bash", "-c"] and rx.PATH_REGISTERED in waits[2]


def test_the_launcher_waits_until_every_external_extension_registered() -> None:
    exts = rx.Extensions(IDENTITY, frozenset({"a", "b"}))
    gate = FakeChannel()
    exts.handle(gate, "GET", rx.PATH_REGISTERED, {}, None)
    register(exts, "a", [])
    assert not gate.answers
    register(exts, "b", [])
    assert gate.answers[0][0] == 200
    already = FakeChannel()
    exts.handle(already, "GET", rx.PATH_REGISTERED, {}, None)
    assert already.answers[0][0] == 200
