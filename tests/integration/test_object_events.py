"""Object events end to end on a real server: the intake for other object stores' webhooks (a real
function receives MinIO's recorded notification), and the relays delivering the notifications a
bucket's changes leave in the outbox (committed through the store as the object store commits
them) to a function, a queue and a rule of the default bus."""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from lamina.objects.change import ObjectChange
from lamina.objects.notifications import Destinations, NotificationConfigs
from lamina.settings import Settings
from lamina.store.sqlite import SqliteStore
from tests.conftest import LaminaProcess, deploy
from tests.functions import wait_for_logs, wait_until
from tests import signing

DATA = Path(__file__).resolve().parents[1] / "data"
TOKEN = "intake-token-0123456789"
ACCOUNT = "000000000000"
PRINTER = "import json\ndef handler(event, context):\n    print('EVENT ' + json.dumps(event))\n"


def received(endpoint: str, name: str, count: int = 1) -> list[dict[str, Any]]:
    """The events a PRINTER function has printed, once it has printed ``count`` (or 30 s passed)."""

    def events(lines: list[str]) -> list[dict[str, Any]]:
        return [json.loads(line.split("EVENT ", 1)[1]) for line in lines if "EVENT " in line]

    return events(wait_for_logs(endpoint, name, lambda lines: len(events(lines)) >= count, timeout=30))


def post(endpoint: str, path: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(endpoint + path, data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def test_the_intake_is_off_without_a_token_and_says_so(lamina: LaminaProcess) -> None:
    status, headers, body = post(lamina.endpoint, "/lamina/v1/object-events/any", b"{}", bearer())
    assert status == 404 and headers["X-Amzn-ErrorType"] == "ResourceNotFoundException"
    assert "LAMINA_OBJECT_EVENTS_TOKEN" in body["Message"]
    with pytest.raises(urllib.error.HTTPError) as off:
        urllib.request.urlopen(urllib.request.Request(lamina.endpoint + "/lamina/v1/object-events/any", method="HEAD"))
    off.value.close()
    assert off.value.code == 404


def test_minios_notification_invokes_the_function_with_each_record(make_server: Any) -> None:
    server = make_server(LAMINA_OBJECT_EVENTS_TOKEN=TOKEN)
    client = server.client()
    deploy(client, "on-upload", PRINTER)
    minio = (DATA / "object_events" / "minio-put.json").read_bytes()
    status, _, answer = post(server.endpoint, "/lamina/v1/object-events/on-upload", minio, bearer())
    assert status == 202 and answer["accepted"] == 1 and len(answer["requestIds"]) == 1
    [event] = received(server.endpoint, "on-upload")
    [record] = json.loads(minio)["Records"]
    assert event == {"Records": [{**record, "eventName": "ObjectCreated:Put"}]}
    # Ceph's (and AWS's) shape: the records alone; each is an invocation of its own. Basic credentials
    # with the token as password do too.
    [aws] = json.loads((DATA / "aws_events" / "s3Event.json").read_text())["Records"]
    removed = {**aws, "eventSource": "ceph:s3", "eventName": "ObjectRemoved:Delete"}
    basic = {"Authorization": "Basic " + base64.b64encode(f"ceph:{TOKEN}".encode()).decode()}
    status, _, answer = post(server.endpoint, "/lamina/v1/object-events/on-upload",
                             json.dumps({"Records": [aws, removed]}).encode(), basic)  # fmt: skip
    assert status == 202 and answer["accepted"] == 2
    events = received(server.endpoint, "on-upload", 3)
    assert {"Records": [aws]} in events and {"Records": [removed]} in events and len(events) == 3


def test_the_intake_refuses_what_is_not_for_it_clearly(make_server: Any) -> None:
    server = make_server(LAMINA_OBJECT_EVENTS_TOKEN=TOKEN)
    deploy(server.client(), "guarded", PRINTER)
    path = "/lamina/v1/object-events/guarded"
    with urllib.request.urlopen(urllib.request.Request(server.endpoint + path, method="HEAD"), timeout=30) as up:
        assert up.status == 204  # how MinIO asks whether its webhook's endpoint is up
    minio = (DATA / "object_events" / "minio-put.json").read_bytes()
    status, headers, body = post(server.endpoint, path, minio)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer") and "token" in body["message"]
    status, headers, body = post(server.endpoint, path, minio, bearer("not-the-token"))
    assert status == 403 and headers["X-Amzn-ErrorType"] == "AccessDeniedException"
    status, headers, body = post(server.endpoint, path, b'{"Records": [{"hello": "world"}]}', bearer())
    assert status == 400 and "Records[0] is not an S3 event record" in body["message"]
    status, headers, body = post(server.endpoint, path, b"not json", bearer())
    assert status == 400 and headers["X-Amzn-ErrorType"] == "InvalidRequestContentException"
    status, headers, body = post(server.endpoint, path, b" " * (1024 * 1024 + 1), bearer())
    assert status == 413 and headers["X-Amzn-ErrorType"] == "RequestTooLargeException"
    status, headers, body = post(server.endpoint, "/lamina/v1/object-events/nobody", minio, bearer())
    assert status == 404 and headers["X-Amzn-ErrorType"] == "ResourceNotFoundException"
    # None of the above was invoked: once a good request's event has run, it is the only one.
    status, _, _ = post(server.endpoint, path, minio, bearer())
    assert status == 202
    assert len(received(server.endpoint, "guarded", 1)) == 1


REACHER = r'''
import json, urllib.error, urllib.request

def handler(event, context):
    request = urllib.request.Request(
        "http://127.0.0.1:%d/lamina/v1/object-events/%s" % (event["port"], event["target"]),
        data=event["body"].encode(), method="POST",
        headers={"Authorization": "Bearer " + event["token"], "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return {"status": r.status, "type": r.headers.get("X-Amzn-ErrorType")}
    except urllib.error.HTTPError as exc:
        return {"status": exc.code, "type": exc.headers.get("X-Amzn-ErrorType")}
'''


def test_functions_cannot_reach_the_intake_even_with_the_token(make_server: Any) -> None:
    server = make_server(LAMINA_OBJECT_EVENTS_TOKEN=TOKEN)
    client = server.client()
    deploy(client, "reacher", REACHER, Timeout=30)
    deploy(client, "target", PRINTER)
    event = {"port": int(server.endpoint.rsplit(":", 1)[1]), "target": "target", "token": TOKEN,
             "body": (DATA / "object_events" / "minio-put.json").read_text()}  # fmt: skip
    answer = json.loads(client.invoke(FunctionName="reacher", Payload=json.dumps(event))["Payload"].read())
    assert answer == {"status": 403, "type": "AccessDeniedException"}


# -- the relays, from the outbox ---------------------------------------------------------------


def clients(endpoint: str) -> tuple[Any, Any]:
    made = [boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                         aws_secret_access_key="test", config=Config(retries={"max_attempts": 0}))
            for service in ("sqs", "events")]  # fmt: skip
    return made[0], made[1]


def commit_changes(data_dir: Path, configuration: bytes, changes: list[ObjectChange]) -> None:
    """What the object store does for each change: the configuration put, then each change's
    messages committed to the outbox (here while the server is stopped, into its database)."""

    async def run() -> None:
        store = SqliteStore(data_dir / "lamina.db")
        await store.open()
        try:
            configs = NotificationConfigs(store, Settings(), Destinations(lambda arn: True, lambda arn: True))
            await configs.load()
            await configs.put("photos", configuration)
            for change in changes:
                await store.add_outbox(configs.messages(change))
        finally:
            await store.close()

    asyncio.run(run())


def change(key: str, event: str = "ObjectCreated:Put", seq: int = 1) -> ObjectChange:
    return ObjectChange("photos", key, event, 0 if "Removed" in event else 11, "" if "Removed" in event else
                        "5eb63bbbe01eeed093cb22bb8f5acdc3", None, f"{seq:018X}", f"REQ{seq:013d}", "127.0.0.1",
                        ACCOUNT, 1_767_225_600_000 + seq)  # fmt: skip


def test_relays_deliver_a_changes_notifications_to_a_function_a_queue_and_the_default_bus(
    make_server: Any, tmp_path: Path
) -> None:
    data = tmp_path / "relays"
    server = make_server(data)
    client = server.client()
    fn = deploy(client, "on-photo", PRINTER)
    deploy(client, "on-bus", PRINTER)
    sqs, events = clients(server.endpoint)
    queue_url = sqs.create_queue(QueueName="photo-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="s3-objects", EventPattern=json.dumps({"source": ["aws.s3"], "detail-type": ["Object Created"]}))
    bus_target = client.get_function(FunctionName="on-bus")["Configuration"]["FunctionArn"]
    events.put_targets(Rule="s3-objects", Targets=[{"Id": "fn", "Arn": bus_target}])
    gone = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:deleted-since"
    server.stop()
    configuration = f"""<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
      <QueueConfiguration><Id>to-queue</Id><Queue>{queue_arn}</Queue><Event>s3:ObjectRemoved:*</Event></QueueConfiguration>
      <CloudFunctionConfiguration><Id>jpgs</Id><CloudFunction>{fn["FunctionArn"]}</CloudFunction>
        <Event>s3:ObjectCreated:*</Event>
        <Filter><S3Key><FilterRule><Name>suffix</Name><Value>.jpg</Value></FilterRule></S3Key></Filter>
      </CloudFunctionConfiguration>
      <CloudFunctionConfiguration><Id>gone</Id><CloudFunction>{gone}</CloudFunction><Event>s3:ObjectCreated:Copy</Event>
        <Filter><S3Key><FilterRule><Name>suffix</Name><Value>.png</Value></FilterRule></S3Key></Filter>
      </CloudFunctionConfiguration>
      <EventBridgeConfiguration/>
    </NotificationConfiguration>""".encode()  # fmt: skip
    commit_changes(data, configuration, [
        change("2026/cat one.jpg", seq=1), change("notes.txt", seq=2), change("old.jpg", "ObjectRemoved:Delete", 3),
        change("copy.png", "ObjectCreated:Copy", 4),
    ])  # fmt: skip

    server = make_server(data)
    [event] = received(server.endpoint, "on-photo")
    [record] = event["Records"]
    assert record["eventName"] == "ObjectCreated:Put" and record["eventSource"] == "aws:s3"
    assert record["s3"]["configurationId"] == "jpgs"
    assert record["s3"]["object"] == {"key": "2026/cat+one.jpg", "size": 11,
                                      "eTag": "5eb63bbbe01eeed093cb22bb8f5acdc3", "sequencer": "000000000000000001"}  # fmt: skip
    assert record["eventTime"] == "2026-01-01T00:00:00.001Z"

    sqs = clients(server.endpoint)[0]
    got = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=20)["Messages"]
    [queued] = json.loads(got[0]["Body"])["Records"]
    assert queued["eventName"] == "ObjectRemoved:Delete" and queued["s3"]["configurationId"] == "to-queue"
    assert queued["s3"]["object"] == {"key": "old.jpg", "sequencer": "000000000000000003"}

    # The bus takes every change; the rule only creations: three of them.
    on_bus = received(server.endpoint, "on-bus", 3)
    assert sorted(e["detail"]["object"]["key"] for e in on_bus) == ["2026/cat one.jpg", "copy.png", "notes.txt"]
    assert all(e["source"] == "aws.s3" and e["detail-type"] == "Object Created" and e["account"] == ACCOUNT
               and e["resources"] == ["arn:aws:s3:::photos"] for e in on_bus)  # fmt: skip

    # The notification for a function that does not exist is dropped, as S3 drops it; nothing is left.
    def outbox() -> list[Any]:
        with signing.urlopen(f"{server.endpoint}/lamina/v1/outbox", timeout=30) as resp:
            return list(json.loads(resp.read())["messages"])

    wait_until(lambda: outbox() == [])
    server.stop()
    assert any(f"for {gone} dropped: the function does not exist" in line for line in server.output)
