"""A backlog of asynchronous events: payloads wait on disk, not in Lamina's memory, and each function's
queue has a quota answered with AWS's throttle error (real server processes, boto3)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from tests.conftest import LaminaProcess, deploy
from tests.netns import RemoteHost
from tests.roles import make_role
from tests.integration.test_async import FAST, fast_arn, lines, queue, wait_until

MB = 1024 * 1024

# Held: a synchronous {"gate_host": address, "gate": port} call takes the function's only slot
# (reserved concurrency 1) until the test opens the gate, so its events wait in the queue,
# throttled. Otherwise it records. The gate is on a remote host of the test's own (tests/netns.py).
GATED = """
import json, socket
def handler(event, context):
    if "gate" in event:
        with socket.create_connection((event["gate_host"], event["gate"])) as conn:
            conn.recv(1)
        return {}
    print("DELIVERED", context.aws_request_id, len(json.dumps(event)))
    return {"ok": True}
"""

# Sends events from inside a function with boto3, as function code does: with its role's
# credentials, to Lamina's API as the environment reaches it (AWS_ENDPOINT_URL).
SENDER = """
import json, boto3, botocore.config
from botocore.exceptions import ClientError
client = boto3.client("lambda", config=botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 1},
                                                                 read_timeout=60))
def handler(event, context):
    body = json.dumps({"pad": "x" * event["size"]}).encode()
    statuses = []
    for _ in range(event["count"]):
        try:
            statuses.append(client.invoke(FunctionName=event["target"], InvocationType="Event", Payload=body)["StatusCode"])
        except ClientError as exc:
            statuses.append(exc.response["ResponseMetadata"]["HTTPStatusCode"])
    return statuses
"""


@contextmanager
def held(server: LaminaProcess, name: str) -> Iterator[None]:
    """``name``'s only slot is taken by a synchronous call until the block ends (or the server does)."""
    remote = RemoteHost()
    gate = remote.listen()
    gate.settimeout(60)
    address, port = gate.getsockname()[:2]

    def hold() -> None:
        try:
            server.client().invoke(FunctionName=name, Payload=json.dumps({"gate_host": address, "gate": port}))
        except (BotoCoreError, ClientError):  # the server was stopped meanwhile
            pass

    holder = threading.Thread(target=hold)
    holder.start()
    conn, _ = gate.accept()  # the handler is running: the slot is taken
    try:
        yield
    finally:
        with suppress(OSError):  # the environment may be gone with its server
            conn.sendall(b"!")
        conn.close()
        gate.close()
        holder.join()
        remote.close()


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def send_from_function(server: LaminaProcess, target: str, count: int, size: int) -> list[int]:
    event = {"target": target, "count": count, "size": size}
    response = server.client().invoke(FunctionName="backlog-sender", Payload=json.dumps(event))
    assert "FunctionError" not in response
    return list(json.loads(response["Payload"].read()))


def test_a_backlog_of_large_events_waits_on_disk_not_in_memory(make_server: Any) -> None:
    """The attack: a function floods another, which cannot keep up, with 200 events of 1 MB."""
    server = make_server(**FAST)
    client = server.client()
    assert server.proc is not None
    invoker = make_role(server.endpoint, "backlog-sender", [{"Effect": "Allow", "Action": "lambda:InvokeFunction",
                                                              "Resource": "*"}])  # fmt: skip
    deploy(client, "backlog-sender", SENDER, Timeout=300, MemorySize=256, role=invoker)
    deploy(client, "backlog-sink", GATED)
    deploy(client, "backlog-held", GATED, Timeout=300)
    client.put_function_concurrency(FunctionName="backlog-held", ReservedConcurrentExecutions=1)
    # Every code path the flood takes, once, so that what is measured is what the backlog holds.
    assert send_from_function(server, "backlog-sink", 10, MB - 64) == [202] * 10
    wait_until(lambda: len(lines(server.endpoint, "backlog-sink", "DELIVERED")) == 10)
    with held(server, "backlog-held"):
        before = rss_kb(server.proc.pid)
        assert send_from_function(server, "backlog-held", 200, MB - 64) == [202] * 200
        grown_mb = (rss_kb(server.proc.pid) - before) / 1024
        assert queued(server, "backlog-held") == 200  # all of them still queued: nothing was run
        assert lines(server.endpoint, "backlog-held", "DELIVERED") == []
        # 200 MB of payloads were accepted; holding them would grow Lamina by as much.
        assert grown_mb < 60, f"Lamina grew by {grown_mb:.0f} MB with 200 MB of events queued"
        server.kill()  # kill -9 with the backlog queued
    restarted = make_server(server.data_dir, **FAST)
    delivered = wait_until(lambda: len({d[0] for d in lines(restarted.endpoint, "backlog-held", "DELIVERED")}) == 200
                           and lines(restarted.endpoint, "backlog-held", "DELIVERED"), timeout=180)  # fmt: skip
    sizes = {int(d[1]) for d in delivered}
    assert sizes == {len(json.dumps({"pad": "x" * (MB - 64)}))}  # every payload whole, read back from disk


def queued(server: LaminaProcess, name: str) -> int:
    """How many of ``name``'s events are stored: waiting or being attempted."""
    row = queue(server.endpoint).get(name, {"depth": 0, "inFlight": 0})
    return int(row["depth"]) + int(row["inFlight"])


def refused(client: Any, name: str, payload: object) -> dict[str, Any]:
    with pytest.raises(ClientError) as exc:
        client.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(payload))
    return dict(exc.value.response)


def test_each_function_queue_has_a_quota_and_nothing_accepted_is_lost(make_server: Any) -> None:
    server = make_server(LAMINA_ASYNC_QUEUE_EVENTS="3", LAMINA_ASYNC_QUEUE_BYTES="4096", **FAST)
    client = server.client()
    deploy(client, "quota-held", GATED, Timeout=300)
    deploy(client, "quota-source", GATED)
    client.put_function_concurrency(FunctionName="quota-held", ReservedConcurrentExecutions=1)
    client.put_function_event_invoke_config(
        FunctionName="quota-source", DestinationConfig={"OnSuccess": {"Destination": fast_arn("quota-held")}}
    )

    def send(name: str, payload: object) -> str:
        response = client.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(payload))
        assert response["StatusCode"] == 202
        return str(response["ResponseMetadata"]["RequestId"])

    with held(server, "quota-held"):
        accepted = {send("quota-held", {"i": 1})}
        too_big = refused(client, "quota-held", {"pad": "x" * 4080})  # past the 4096 bytes with the first
        accepted |= {send("quota-held", {"i": 2}), send("quota-held", {"i": 3})}
        too_many = refused(client, "quota-held", {"i": 4})  # a fourth event
        for answer in (too_big, too_many):
            assert answer["ResponseMetadata"]["HTTPStatusCode"] == 429
            assert answer["Error"]["Code"] == "TooManyRequestsException"
            assert answer["Reason"] == "FunctionInvocationRateLimitExceeded"
            assert "queue of function quota-held is full" in answer["Error"]["Message"]
        assert queued(server, "quota-held") == 3
        # Another function's quota is its own; and the invocation record its success leaves for the
        # full function's queue is stored all the same: it belongs to an event accepted before.
        send("quota-source", {"source": True})
        wait_until(lambda: lines(server.endpoint, "quota-source", "DELIVERED"))
        wait_until(lambda: queued(server, "quota-held") == 4)
    delivered = wait_until(lambda: len(lines(server.endpoint, "quota-held", "DELIVERED")) == 4 and
                           lines(server.endpoint, "quota-held", "DELIVERED"))  # fmt: skip
    assert accepted <= {d[0] for d in delivered}
    wait_until(lambda: "quota-held" not in queue(server.endpoint))
    send("quota-held", {"i": 5})  # delivered events no longer count
    wait_until(lambda: len(lines(server.endpoint, "quota-held", "DELIVERED")) == 5)
