"""Asynchronous invocation end to end: the durable queue, retries, maximum event age, destinations,
throttling, fairness, a kill -9 under load, and a graceful shutdown (real server processes, boto3)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lamina.cli.main import main as cli_main
from tests.conftest import LaminaProcess, deploy, make_zip, server_env
from tests.functions import fetch_logs, wait_until
from tests.netns import RemoteHost
from tests import signing

FAST = {"LAMINA_ASYNC_RETRY_DELAYS": "0.3,0.6", "LAMINA_ASYNC_THROTTLE_DELAY": "0.1"}

RECORDER = """
import json
def handler(event, context):
    print("DELIVERED", context.aws_request_id, json.dumps(event))
    return {"ok": True, "echo": event}
"""

FAILING = """
def handler(event, context):
    print("ATTEMPT", context.aws_request_id)
    raise RuntimeError("boom")
"""


@pytest.fixture(scope="module")
def fast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:
    server = LaminaProcess(tmp_path_factory.mktemp("lamina-async"), server_env(**FAST)).start()
    yield server
    server.stop()


def messages(endpoint: str, name: str) -> list[str]:
    with signing.urlopen(f"{endpoint}/lamina/v1/functions/{name}/logs?since=0&limit=10000", timeout=10) as r:
        return [e["message"].removesuffix("\n") for e in json.loads(r.read())["events"]]


def lines(endpoint: str, name: str, prefix: str) -> list[list[str]]:
    """The printed lines starting with ``prefix``, split once after the request id."""
    return [m.split(" ", 2)[1:] for m in messages(endpoint, name) if m.startswith(prefix + " ")]



def queue(endpoint: str) -> dict[str, dict[str, Any]]:
    with signing.urlopen(f"{endpoint}/lamina/v1/queue", timeout=10) as r:
        return {row["function"]: row for row in json.loads(r.read())["functions"]}


def send(client: Any, name: str, payload: object, **kwargs: Any) -> str:
    response = client.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(payload), **kwargs)
    assert response["StatusCode"] == 202
    return str(response["ResponseMetadata"]["RequestId"])


def records(endpoint: str, destination: str, count: int = 1) -> list[dict[str, Any]]:
    found = wait_until(lambda: len(lines(endpoint, destination, "DELIVERED")) >= count and
                       lines(endpoint, destination, "DELIVERED"))  # fmt: skip
    return [json.loads(rest[1]) for rest in found]


def test_event_is_delivered_once_with_its_request_id(fast: LaminaProcess) -> None:
    client = fast.client()
    deploy(client, "async-ok", RECORDER)
    request_id = send(client, "async-ok", {"n": 1})
    delivered = wait_until(lambda: lines(fast.endpoint, "async-ok", "DELIVERED"))
    time.sleep(0.5)
    delivered = lines(fast.endpoint, "async-ok", "DELIVERED")
    assert [d[0] for d in delivered] == [request_id]
    assert json.loads(delivered[0][1]) == {"n": 1}


def test_invoke_async_is_served(fast: LaminaProcess) -> None:
    client = fast.client()
    deploy(client, "async-legacy", RECORDER)
    response = client.invoke_async(FunctionName="async-legacy", InvokeArgs=json.dumps({"legacy": True}))
    assert response["Status"] == 202
    delivered = wait_until(lambda: lines(fast.endpoint, "async-legacy", "DELIVERED"))
    assert delivered[0][0] == response["ResponseMetadata"]["RequestId"]


def test_a_payload_over_1_mb_is_refused(fast: LaminaProcess) -> None:
    client = fast.client()
    deploy(client, "async-big", RECORDER)
    with pytest.raises(ClientError) as exc:
        client.invoke(FunctionName="async-big", InvocationType="Event", Payload=json.dumps({"x": "a" * (1 << 20)}))
    assert exc.value.response["Error"]["Code"] == "RequestTooLargeException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


@pytest.mark.parametrize("retries", [0, 1, 2])
def test_function_errors_are_retried_then_sent_to_the_failure_destination(fast: LaminaProcess, retries: int) -> None:
    client = fast.client()
    name, dest = f"async-fail-{retries}", f"async-fail-dest-{retries}"
    deploy(client, dest, RECORDER)
    deploy(client, name, FAILING)
    client.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=retries,
        DestinationConfig={"OnFailure": {"Destination": fast_arn(dest)}},
    )  # fmt: skip
    request_id = send(client, name, {"fail": True})
    (record,) = records(fast.endpoint, dest)
    attempts = lines(fast.endpoint, name, "ATTEMPT")
    assert [a[0] for a in attempts] == [request_id] * (retries + 1)
    assert record["version"] == "1.0" and record["timestamp"].endswith("Z")
    assert record["requestContext"] == {
        "requestId": request_id, "functionArn": fast_arn(name) + ":$LATEST",
        "condition": "RetriesExhausted", "approximateInvokeCount": retries + 1,
    }  # fmt: skip
    assert record["requestPayload"] == {"fail": True}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "RuntimeError"


def test_retries_are_spaced_by_the_configured_delays(fast: LaminaProcess) -> None:
    client = fast.client()
    deploy(client, "async-spacing", FAILING)
    send(client, "async-spacing", {})
    wait_until(lambda: len(lines(fast.endpoint, "async-spacing", "ATTEMPT")) == 3)
    with signing.urlopen(f"{fast.endpoint}/lamina/v1/functions/async-spacing/logs?since=0", timeout=10) as r:
        stamps = [e["timestamp"] for e in json.loads(r.read())["events"] if e["message"].startswith("ATTEMPT ")]
    assert stamps[1] - stamps[0] >= 250 and stamps[2] - stamps[1] >= 550, stamps
    time.sleep(1)
    assert len(lines(fast.endpoint, "async-spacing", "ATTEMPT")) == 3  # default: 2 retries, then given up


def test_success_goes_to_the_success_destination_of_an_alias(fast: LaminaProcess) -> None:
    client = fast.client()
    deploy(client, "async-good-dest", RECORDER)
    deploy(client, "async-good", RECORDER)
    version = client.publish_version(FunctionName="async-good")["Version"]
    client.create_alias(FunctionName="async-good", Name="live", FunctionVersion=version)
    client.put_function_event_invoke_config(
        FunctionName="async-good", Qualifier="live",
        DestinationConfig={"OnSuccess": {"Destination": fast_arn("async-good-dest")}},
    )  # fmt: skip
    request_id = send(client, "async-good", {"hello": "world"}, Qualifier="live")
    (record,) = records(fast.endpoint, "async-good-dest")
    assert record["requestContext"] == {
        "requestId": request_id, "functionArn": fast_arn("async-good") + ":live",
        "condition": "Success", "approximateInvokeCount": 1,
    }  # fmt: skip
    assert record["requestPayload"] == {"hello": "world"}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": version}
    assert record["responsePayload"] == {"ok": True, "echo": {"hello": "world"}}
    # An unqualified invocation uses $LATEST's configuration: none, so no record.
    send(client, "async-good", {"unqualified": True})
    wait_until(lambda: len(lines(fast.endpoint, "async-good", "DELIVERED")) == 2)
    time.sleep(0.5)
    assert len(lines(fast.endpoint, "async-good-dest", "DELIVERED")) == 1


HOLDER = """
import json, time
def handler(event, context):
    if "hold" in event:
        time.sleep(event["hold"])
        return {}
    print("DELIVERED", context.aws_request_id, json.dumps(event))
"""


def test_throttled_events_wait_and_are_delivered_when_concurrency_allows(fast: LaminaProcess) -> None:
    client = fast.client()
    deploy(client, "async-throttled", HOLDER)
    client.put_function_concurrency(FunctionName="async-throttled", ReservedConcurrentExecutions=1)
    holder = threading.Thread(target=lambda: fast.client().invoke(FunctionName="async-throttled",
                                                                  Payload=json.dumps({"hold": 4})))  # fmt: skip
    holder.start()  # a synchronous call takes the function's only slot for 4 s
    try:
        time.sleep(0.5)
        ids = {send(client, "async-throttled", {"i": i}) for i in range(3)}
        time.sleep(1.5)
        assert lines(fast.endpoint, "async-throttled", "DELIVERED") == []
        row = queue(fast.endpoint)["async-throttled"]
        assert row["depth"] + row["inFlight"] == 3 and row["oldestAgeSeconds"] >= 1
    finally:
        holder.join()
    delivered = wait_until(lambda: len(lines(fast.endpoint, "async-throttled", "DELIVERED")) == 3 and
                           lines(fast.endpoint, "async-throttled", "DELIVERED"))  # fmt: skip
    assert {d[0] for d in delivered} == ids
    wait_until(lambda: "async-throttled" not in queue(fast.endpoint))


def test_a_hot_function_does_not_starve_another(fast: LaminaProcess) -> None:
    client = fast.client()
    slow = 'import time\ndef handler(event, context):\n    time.sleep(0.3)\n    print("DELIVERED", context.aws_request_id, "{}")\n'
    deploy(client, "async-hot", slow)
    deploy(client, "async-cold", RECORDER)
    client.put_function_concurrency(FunctionName="async-hot", ReservedConcurrentExecutions=1)
    for i in range(40):
        send(client, "async-hot", {"i": i})
    send(client, "async-cold", {"cold": True})
    wait_until(lambda: lines(fast.endpoint, "async-cold", "DELIVERED"), timeout=5)
    assert queue(fast.endpoint)["async-hot"]["depth"] > 0  # the hot function's backlog is still there


def test_an_event_older_than_its_maximum_age_goes_to_the_failure_destination(make_server: Any) -> None:
    # Retries come 61 s apart: after the first failure the retry would be past the 60 s maximum age.
    server = make_server(LAMINA_ASYNC_RETRY_DELAYS="61")
    client = server.client()
    deploy(client, "aged-dest", RECORDER)
    deploy(client, "aged", FAILING)
    client.put_function_event_invoke_config(
        FunctionName="aged", MaximumEventAgeInSeconds=60,
        DestinationConfig={"OnFailure": {"Destination": fast_arn("aged-dest")}},
    )  # fmt: skip
    request_id = send(client, "aged", {"old": True})
    (record,) = records(server.endpoint, "aged-dest")
    assert record["requestContext"]["requestId"] == request_id
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert len(lines(server.endpoint, "aged", "ATTEMPT")) == 1


DLQ = "arn:aws:sqs:us-east-1:000000000000:dead-letters"


def outbox(endpoint: str, target: str) -> list[dict[str, Any]]:
    with signing.urlopen(f"{endpoint}/lamina/v1/outbox?target={target}", timeout=10) as r:
        return list(json.loads(r.read())["messages"])


def test_dead_letter_config_is_validated_returned_and_kept_by_versions(fast: LaminaProcess) -> None:
    client = fast.client()
    config = deploy(client, "dlq-config", RECORDER, DeadLetterConfig={"TargetArn": DLQ})
    assert config["DeadLetterConfig"] == {"TargetArn": DLQ}
    version = client.publish_version(FunctionName="dlq-config")["Version"]
    topic = "arn:aws:sns:us-east-1:000000000000:failures"
    updated = client.update_function_configuration(FunctionName="dlq-config", DeadLetterConfig={"TargetArn": topic})
    assert updated["DeadLetterConfig"] == {"TargetArn": topic}
    client.get_waiter("function_updated_v2").wait(FunctionName="dlq-config")
    got = client.get_function_configuration(FunctionName="dlq-config", Qualifier=version)
    assert got["DeadLetterConfig"] == {"TargetArn": DLQ}  # locked in when the version was published
    removed = client.update_function_configuration(FunctionName="dlq-config", DeadLetterConfig={"TargetArn": ""})
    assert "DeadLetterConfig" not in removed
    client.get_waiter("function_updated_v2").wait(FunctionName="dlq-config")  # else the next is a ResourceConflict
    for bad, code in [
        ({"TargetArn": fast_arn("dlq-config")}, "InvalidParameterValueException"),  # not SQS or SNS
        ({"TargetArn": "queue"}, "ValidationException"),
    ]:
        with pytest.raises(ClientError) as exc:
            client.update_function_configuration(FunctionName="dlq-config", DeadLetterConfig=bad)
        assert exc.value.response["Error"]["Code"] == code
    with pytest.raises(ClientError) as exc:
        deploy(client, "dlq-empty", RECORDER, DeadLetterConfig={"TargetArn": ""})
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "ARNs must start with 'arn:'" in exc.value.response["Error"]["Message"]


def test_a_discarded_event_goes_to_the_dead_letter_queue_and_the_failure_destination(
    fast: LaminaProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    client = fast.client()
    target = DLQ + "-both"
    deploy(client, "dlq-dest", RECORDER)
    deploy(client, "dlq-fail", FAILING, DeadLetterConfig={"TargetArn": target})
    client.put_function_event_invoke_config(
        FunctionName="dlq-fail", MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": fast_arn("dlq-dest")}},
    )  # fmt: skip
    request_id = send(client, "dlq-fail", {"order": 7})
    (record,) = records(fast.endpoint, "dlq-dest")
    assert record["requestContext"]["requestId"] == request_id
    (letter,) = wait_until(lambda: outbox(fast.endpoint, target))
    assert letter["kind"] == "dead-letter" and letter["function"] == "dlq-fail" and letter["requestId"] == request_id
    assert json.loads(letter["body"]) == {"order": 7}  # the event as it came, as Lambda sends it
    assert letter["attributes"] == {
        "RequestID": {"DataType": "String", "StringValue": request_id},
        "ErrorCode": {"DataType": "Number", "StringValue": "200"},
        "ErrorMessage": {"DataType": "String", "StringValue": "boom"},
    }  # fmt: skip
    assert len(lines(fast.endpoint, "dlq-fail", "ATTEMPT")) == 2
    # A success leaves no dead letter; the outbox keeps the first until it is removed.
    client.update_function_code(FunctionName="dlq-fail", ZipFile=make_zip({"app.py": RECORDER}))
    client.get_waiter("function_updated_v2").wait(FunctionName="dlq-fail")
    ok_id = send(client, "dlq-fail", {"order": 8})
    wait_until(lambda: [d for d in lines(fast.endpoint, "dlq-fail", "DELIVERED") if d[0] == ok_id])
    time.sleep(0.3)
    assert [m["requestId"] for m in outbox(fast.endpoint, target)] == [request_id]

    assert cli_main(["outbox", "--target", target, "--endpoint", fast.endpoint]) == 0
    shown = capsys.readouterr().out
    assert f"#{letter['id']}  dead-letter for {target}  from dlq-fail ({request_id})" in shown
    assert "error 200: boom" in shown and '{"order": 7}' in shown
    assert cli_main(["outbox", "--delete", str(letter["id"]), "--endpoint", fast.endpoint]) == 0
    assert outbox(fast.endpoint, target) == []
    assert cli_main(["outbox", "--delete", str(letter["id"]), "--endpoint", fast.endpoint]) == 1  # gone already


def test_a_destination_lamina_does_not_serve_yet_keeps_its_record_in_the_outbox(fast: LaminaProcess) -> None:
    client = fast.client()
    queue_arn = "arn:aws:sqs:us-east-1:000000000000:successes"
    deploy(client, "outbox-ok", RECORDER)
    client.put_function_event_invoke_config(
        FunctionName="outbox-ok", DestinationConfig={"OnSuccess": {"Destination": queue_arn}}
    )
    request_id = send(client, "outbox-ok", {"n": 1})
    (message,) = wait_until(lambda: outbox(fast.endpoint, queue_arn))
    assert message["kind"] == "destination" and message["attributes"] == {}
    record = json.loads(message["body"])
    assert record["requestContext"]["requestId"] == request_id and record["requestContext"]["condition"] == "Success"
    assert record["responsePayload"] == {"ok": True, "echo": {"n": 1}}


def test_a_function_with_reserved_concurrency_0_sends_its_events_to_the_dead_letter_queue(fast: LaminaProcess) -> None:
    client = fast.client()
    target = DLQ + "-off"
    deploy(client, "dlq-off", RECORDER, DeadLetterConfig={"TargetArn": target})
    client.put_function_concurrency(FunctionName="dlq-off", ReservedConcurrentExecutions=0)
    request_id = send(client, "dlq-off", {"off": True})
    (letter,) = wait_until(lambda: outbox(fast.endpoint, target))
    assert letter["requestId"] == request_id and json.loads(letter["body"]) == {"off": True}
    assert letter["attributes"]["ErrorCode"]["StringValue"] == "429"
    assert "dlq-off" not in queue(fast.endpoint)
    assert lines(fast.endpoint, "dlq-off", "DELIVERED") == []


def fast_arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:000000000000:function:{name}"


class Listener:
    """A TCP server the handler reports each delivery to (one request id per connection), on a remote
    host of the test's own: functions have networks of their own, and reach it through outbound NAT."""

    def __init__(self) -> None:
        self.remote = RemoteHost()
        self.sock = self.remote.listen()
        self.host, self.port = self.sock.getsockname()[:2]
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while chunk := conn.recv(4096):
                    data += chunk
            with self.lock:
                self.seen[data.decode().strip()] += 1

    def delivered(self) -> set[str]:
        with self.lock:
            return set(self.seen)

    def close(self) -> None:
        self.sock.close()
        self.remote.close()


def _told(server: LaminaProcess, name: str) -> str:
    """What the function's log and the server said, for a failure's message: why events were not delivered."""
    lines = [e["message"].rstrip() for e in fetch_logs(server.endpoint, name)["events"]]
    told = [line for line in lines if not line.startswith(("START ", "END ", "REPORT "))][-20:]
    return "the function's log ends: " + " | ".join(told) + "; the server's output ends: " + "".join(server.output[-20:])


REPORTER = """
import os, socket, time
def handler(event, context):
    time.sleep(float(os.environ.get("DELAY", "0")))
    with socket.create_connection((os.environ["HOST"], int(os.environ["PORT"]))) as conn:
        conn.sendall(context.aws_request_id.encode())
    return None
"""


def test_nothing_accepted_is_lost_when_the_server_is_killed(make_server: Any, tmp_path: Any) -> None:
    listener = Listener()
    try:
        server = make_server(tmp_path / "data", **FAST)
        client = server.client()
        deploy(client, "durable", REPORTER, Environment={"Variables": {"HOST": listener.host, "PORT": str(listener.port), "DELAY": "0.05"}})
        # Delivery (at most 4 at once) is slower than acceptance: a backlog is queued when the kill comes.
        client.put_function_concurrency(FunctionName="durable", ReservedConcurrentExecutions=4)
        accepted: list[str] = []
        lock = threading.Lock()

        def producer() -> None:
            own = server.client()
            for _ in range(60):
                try:
                    request_id = send(own, "durable", {"load": True})
                except Exception:  # the server is gone: this event was never accepted
                    return
                with lock:
                    accepted.append(request_id)

        producers = [threading.Thread(target=producer) for _ in range(4)]
        for thread in producers:
            thread.start()
        wait_until(lambda: len(listener.delivered()) >= 20)
        server.kill()  # kill -9 while events are being accepted and delivered
        for thread in producers:
            thread.join()
        with lock:
            accepted_ids = set(accepted)
        assert len(accepted_ids) >= 20
        assert accepted_ids - listener.delivered(), "the kill came too late to prove anything"

        restarted = make_server(tmp_path / "data", **FAST)
        try:
            wait_until(lambda: accepted_ids <= listener.delivered(), timeout=60)
        except AssertionError:  # say whether the missing ones are late (still stored) or lost
            missing = accepted_ids - listener.delivered()
            stored = queue(restarted.endpoint).get("durable")
            raise AssertionError(f"{len(missing)} of {len(accepted_ids)} accepted events not delivered; "
                                 f"the queue holds {stored}; {_told(restarted, 'durable')}") from None  # fmt: skip
        duplicates = {rid for rid, n in listener.seen.items() if n > 1}
        assert duplicates <= accepted_ids  # a duplicate is a redelivery, recognisable by its request id
    finally:
        listener.close()


def test_graceful_shutdown_finishes_attempts_and_keeps_the_rest(make_server: Any, tmp_path: Any) -> None:
    listener = Listener()
    try:
        server = make_server(tmp_path / "data", **FAST)
        client = server.client()
        deploy(client, "graceful", REPORTER, Environment={"Variables": {"HOST": listener.host, "PORT": str(listener.port), "DELAY": "1"}})
        client.put_function_concurrency(FunctionName="graceful", ReservedConcurrentExecutions=2)
        ids = {send(client, "graceful", {"i": i}) for i in range(10)}
        wait_until(lambda: queue(server.endpoint)["graceful"]["inFlight"] == 2)
        assert server.stop() == 0  # SIGTERM: in-flight attempts finish, queued events stay stored
        before = listener.delivered()
        assert len(before) >= 2 and before < ids
        restarted = make_server(tmp_path / "data", **FAST)
        try:
            wait_until(lambda: ids <= listener.delivered(), timeout=60)
        except AssertionError:
            missing = ids - listener.delivered()
            raise AssertionError(f"{len(missing)} of {len(ids)} events not delivered; {_told(restarted, 'graceful')}") from None
        # The attempts running at the shutdown finished and were recorded: none ran again.
        assert all(listener.seen[rid] == 1 for rid in before)
    finally:
        listener.close()
