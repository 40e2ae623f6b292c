"""Invocations Python starts (a queued event's delivery, a trigger, a mapping's batch, an Invoke the
plane does not serve itself) run in the environment lent to the native data plane for their lane
(``DataPlane.run``) instead of taking it back: an environment is lent once, whoever invokes, and
the plane's counts (/lamina/v1/health) show no lend or reclaim per invocation. What goes wrong in
such a run (a timeout, a runtime that exits) is given back and ended as the Python path ends it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from lamina.dataplane import native
from tests.conftest import LaminaProcess, deploy, server_env
from tests.integration.test_async import lines, messages, send
from tests.integration.test_frontdoor import invoke
from tests.integration.test_native_plane import Conn, counts
from tests.functions import wait_until

pytestmark = pytest.mark.skipif(not native.available(), reason="lamina_native is not built (no cargo)")

MODES = """import json, os, sys, time
def handler(event, context):
    print("DELIVERED", context.aws_request_id, json.dumps(event))
    if event.get("mode") == "sleep":
        time.sleep(event["s"])
    elif event.get("mode") == "exit":
        sys.stdout.flush()
        os._exit(3)
    return event
"""
ROUNDS = 8


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:
    started = LaminaProcess(tmp_path_factory.mktemp("native-runs"), server_env()).start()
    deploy(started.client(), "mixed", MODES, Timeout=2)
    yield started
    started.stop()


def delta(after: dict[str, int], before: dict[str, int], *names: str) -> int:
    return sum(after[name] - before[name] for name in names)


def tail(client: Any, payload: object) -> tuple[dict[str, Any], str]:
    answer = client.invoke(FunctionName="mixed", Payload=json.dumps(payload), LogType="Tail")
    return answer, base64.b64decode(answer["LogResult"]).decode()


def test_queued_events_and_invokes_interleaved_run_in_one_lent_environment(server: LaminaProcess) -> None:
    events, invokes = server.client(), server.client()  # each its own connection
    for _ in range(2):  # the first runs in Python and lends its environment; the next finds it lent
        invokes.invoke(FunctionName="mixed", Payload=b'{"warm": true}')
    before = counts(server)
    sent = []
    for n in range(ROUNDS):
        request_id = send(events, "mixed", {"event": n})
        sent.append(request_id)
        wait_until(lambda: any(row[0] == request_id for row in lines(server.endpoint, "mixed", "DELIVERED")))
        answer = invokes.invoke(FunctionName="mixed", Payload=json.dumps({"invoke": n}))
        assert json.loads(answer["Payload"].read()) == {"invoke": n}
    after = counts(server)
    # Lent once and kept: the old policy (lend after a caller's Invoke, take back for each queued
    # event) lent and reclaimed once per round.
    assert delta(after, before, "lent", "reclaimed") <= 2, (before, after)
    assert after["ran"] - before["ran"] >= ROUNDS - 1, (before, after)  # the deliveries, in the plane
    assert delta(after, before, "served", "ran") >= 2 * ROUNDS - 1, (before, after)
    logged = messages(server.endpoint, "mixed")
    for request_id in sent:  # their bookkeeping is Python's, as after an invocation of its own
        assert any(line.startswith(f"REPORT RequestId: {request_id}\t") for line in logged), request_id
        assert any(line.startswith(f"END RequestId: {request_id}") for line in logged), request_id


def test_an_invoke_with_its_log_tail_runs_in_the_plane_and_gets_its_tail(server: LaminaProcess) -> None:
    client = server.client()
    client.invoke(FunctionName="mixed", Payload=b"{}")  # lent, if it was not
    before = counts(server)
    answer, log = tail(client, {"tail": 1})
    assert json.loads(answer["Payload"].read()) == {"tail": 1}
    assert counts(server)["ran"] - before["ran"] == 1
    request_id = answer["ResponseMetadata"]["RequestId"]
    assert f"DELIVERED {request_id}" in log and f"REPORT RequestId: {request_id}" in log


@pytest.mark.parametrize("mode, error_type", [("sleep", "Sandbox.Timedout"), ("exit", "Runtime.ExitError")])
def test_a_run_that_goes_wrong_is_ended_as_python_ends_it(server: LaminaProcess, mode: str, error_type: str) -> None:
    client = server.client()
    client.invoke(FunctionName="mixed", Payload=b"{}")
    before = counts(server)
    answer, log = tail(client, {"mode": mode, "s": 5})
    assert answer.get("FunctionError") == "Unhandled"
    assert json.loads(answer["Payload"].read())["errorType"] == error_type
    after = counts(server)
    assert after["ran"] - before["ran"] == 1 and after["givenBack"] - before["givenBack"] == 1, (before, after)
    request_id = answer["ResponseMetadata"]["RequestId"]
    assert f"REPORT RequestId: {request_id}" in log
    # Another environment serves the next, and is lent in its turn.
    again = client.invoke(FunctionName="mixed", Payload=b'{"after": 1}')
    assert json.loads(again["Payload"].read()) == {"after": 1}


def test_a_connection_sending_only_queued_events_is_not_handed_over_for_each(server: LaminaProcess) -> None:
    """The plane hands a connection to Python for an Event invoke; Python gives it back once idle.
    A producer's connection is kept by Python longer each time it comes back (1, 2, 4, ...
    requests): handed over about log2(n) times for n events, not n."""
    before = counts(server)
    conn = Conn(server)
    try:
        for n in range(40):
            answer = conn.ask(invoke("mixed", json.dumps({"event": n}).encode(), "X-Amz-Invocation-Type: Event"))
            assert answer.startswith(b"HTTP/1.1 202 "), answer[:200]
        # A plain Invoke on it later is still served, and the connection still works.
        answer = conn.ask(invoke("mixed", b'{"after": 1}'))
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b'{"after": 1}'), answer[:300]
    finally:
        conn.close()
    handed_over = counts(server)["handedOver"] - before["handedOver"]
    assert 1 <= handed_over <= 7, (before, counts(server))


def test_idle_lent_environments_do_not_hold_concurrency_an_invocation_needs(tmp_path: Any) -> None:
    """A lent environment keeps its lease (what the plane runs in it stays counted), but one idle
    runs nothing: an invocation the account's concurrency would refuse for it takes it back first."""
    env = {**server_env(), "LAMINA_ACCOUNT_CONCURRENCY": "2"}
    started = LaminaProcess(tmp_path, env).start()
    try:
        client = started.client()
        for name in ("first", "second", "third"):
            deploy(client, name, MODES)
        for name in ("first", "second", "third", "first", "second", "third"):  # each lent once it ran
            answer = client.invoke(FunctionName=name, Payload=b'{"n": 1}')
            assert "FunctionError" not in answer and json.loads(answer["Payload"].read()) == {"n": 1}, name
        assert counts(started)["lent"] >= 2
    finally:
        started.stop()
