"""S3 triggers as functions written for them see them, on a server whose outbox poll is an hour
(``LAMINA_EVENTS_OUTBOX_POLL=3600``): every notification here arrives because the object store wakes
the relays when it commits a change that owes one, not because a relay looked by itself.

A function, a queue and a rule of the default bus get a change's notifications promptly; the AWS
CLI's ``aws s3 sync`` of 1,000 files makes 1,000 invocations; functions written with Powertools'
``S3Event`` and ``S3EventBridgeNotificationEvent`` run unchanged; requests S3 refuses leave no
notification behind."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import LaminaProcess, deploy, server_env
from tests.functions import wait_for_logs
from tests.integration.test_table_streams import powertools_layer
from tests.objects import bucket_name, s3_client
from tests import signing

VENV_BIN = Path(sys.executable).parent
PRINTER = "import json\ndef handler(event, context):\n    print('EVENT ' + json.dumps(event))\n"
KEY_PRINTER = "def handler(event, context):\n    print('KEY', event['Records'][0]['s3']['object']['key'])\n"
WAIT = 60  # seconds: the usual wait for a function's logs; the relays' own poll is an hour away


@pytest.fixture(scope="module")
def woken(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:
    server = LaminaProcess(tmp_path_factory.mktemp("lamina-woken"), server_env(LAMINA_EVENTS_OUTBOX_POLL="3600"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def woken_client(woken: LaminaProcess) -> Any:
    return woken.client()


def aws(service: str, endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 0}))  # fmt: skip


def make_bucket(server: LaminaProcess) -> str:
    name = bucket_name("trig")
    s3_client(server.endpoint).create_bucket(Bucket=name)
    return name


def printed(endpoint: str, name: str, marker: str, count: int) -> list[str]:
    """What follows ``marker`` in each of the function's log lines that has it, once there are ``count``."""

    def found(lines: list[str]) -> list[str]:
        return [line.split(marker, 1)[1].strip() for line in lines if marker in line]

    return found(wait_for_logs(endpoint, name, lambda lines: len(found(lines)) >= count, timeout=WAIT))


def make_queue(endpoint: str, name: str) -> tuple[str, str]:
    sqs = aws("sqs", endpoint)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def test_a_function_a_queue_and_a_rule_get_notifications_without_waiting_for_the_poll(
    woken: LaminaProcess, woken_client: Any, fn_name: str
) -> None:
    fn = deploy(woken_client, fn_name, PRINTER)
    bucket = make_bucket(woken)
    s3, sqs, events = aws("s3", woken.endpoint), aws("sqs", woken.endpoint), aws("events", woken.endpoint)
    removed_url, removed_arn = make_queue(woken.endpoint, f"{bucket}-removed")
    bus_url, bus_arn = make_queue(woken.endpoint, f"{bucket}-bus")
    pattern = {"source": ["aws.s3"], "detail": {"bucket": {"name": [bucket]}}}
    events.put_rule(Name=bucket, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=bucket, Targets=[{"Id": "q", "Arn": bus_arn}])
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": fn["FunctionArn"], "Events": ["s3:ObjectCreated:*"]}],
        "QueueConfigurations": [{"QueueArn": removed_arn, "Events": ["s3:ObjectRemoved:*"]}],
        "EventBridgeConfiguration": {},
    })  # fmt: skip
    put = s3.put_object(Bucket=bucket, Key="in/report.csv", Body=b"a,b\n")
    [event] = [json.loads(e) for e in printed(woken.endpoint, fn_name, "EVENT ", 1)]
    assert event["Records"][0]["responseElements"]["x-amz-request-id"] == put["ResponseMetadata"]["RequestId"]
    on_bus = sqs.receive_message(QueueUrl=bus_url, WaitTimeSeconds=20)["Messages"]
    assert json.loads(on_bus[0]["Body"])["detail-type"] == "Object Created"
    s3.delete_object(Bucket=bucket, Key="in/report.csv")
    removed = sqs.receive_message(QueueUrl=removed_url, WaitTimeSeconds=20)["Messages"]
    [record] = json.loads(removed[0]["Body"])["Records"]
    assert record["eventName"] == "ObjectRemoved:Delete" and record["s3"]["object"]["key"] == "in/report.csv"


def test_aws_s3_sync_of_1000_files_makes_1000_invocations(woken: LaminaProcess, woken_client: Any, fn_name: str,
                                                          tmp_path: Path) -> None:  # fmt: skip
    fn = deploy(woken_client, fn_name, KEY_PRINTER)
    bucket = make_bucket(woken)
    aws("s3", woken.endpoint).put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": fn["FunctionArn"], "Events": ["s3:ObjectCreated:*"]}]})
    folder = tmp_path / "site"
    for i in range(1000):
        page = folder / f"section {i // 100}" / f"page {i:04d}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(f"<p>{i}</p>")
    config = tmp_path / "aws-config"
    config.write_text("[default]\ns3 =\n    addressing_style = path\n    max_concurrent_requests = 20\n")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
    done = subprocess.run([str(VENV_BIN / "aws"), "--endpoint-url", woken.endpoint, "s3", "sync", str(folder),
                           f"s3://{bucket}/site/", "--only-show-errors"], capture_output=True, text=True, env=env,
                          timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    keys = printed(woken.endpoint, fn_name, "KEY", 1000)
    assert len(keys) == 1000  # one invocation a file: none lost, none twice
    assert sorted(keys) == sorted(f"site/section+{i // 100}/page+{i:04d}.html" for i in range(1000))


POWERTOOLS_S3 = """import json
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source


@event_source(data_class=S3Event)
def handler(event: S3Event, context):
    for record in event.records:
        obj = record.s3.get_object
        print("GOT " + json.dumps({
            "bucket": event.bucket_name, "key": event.object_key, "raw_key": obj.key, "size": obj.size,
            "etag": obj.etag, "sequencer": obj.sequencer, "version_id": obj.version_id,
            "event_name": record.event_name, "event_source": record.event_source, "region": record.aws_region,
            "event_time": record.event_time, "source_ip": record.request_parameters.source_ip_address,
            "principal": record.user_identity.principal_id, "request_id": record.response_elements["x-amz-request-id"],
            "configuration_id": record.s3.configuration_id, "bucket_arn": record.s3.bucket.arn,
            "schema": record.s3.s3_schema_version, "version": record.event_version,
        }))
    return {"handled": len(list(event.records))}
"""


def test_a_function_written_with_powertools_s3event_runs_unchanged(woken: LaminaProcess, woken_client: Any,
                                                                    fn_name: str) -> None:  # fmt: skip
    layer = woken_client.publish_layer_version(LayerName=fn_name, Content={"ZipFile": powertools_layer()})
    fn = deploy(woken_client, fn_name, POWERTOOLS_S3, Layers=[layer["LayerVersionArn"]], Timeout=30)
    bucket = make_bucket(woken)
    s3 = aws("s3", woken.endpoint)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"Id": "thumbnails", "LambdaFunctionArn": fn["FunctionArn"],
                                          "Events": ["s3:ObjectCreated:*"]}]})  # fmt: skip
    body = b"a photo, or nearly"
    put = s3.put_object(Bucket=bucket, Key="photos/2026/my cat+dog.jpg", Body=body)
    [got] = [json.loads(line) for line in printed(woken.endpoint, fn_name, "GOT ", 1)]
    assert got["bucket"] == bucket and got["bucket_arn"] == f"arn:aws:s3:::{bucket}"
    assert got["key"] == "photos/2026/my cat+dog.jpg"  # Powertools decodes S3's URL-encoded key
    assert got["raw_key"] == "photos/2026/my+cat%2Bdog.jpg"
    assert got["size"] == len(body) and got["etag"] == hashlib.md5(body).hexdigest() == put["ETag"].strip('"')
    assert got["sequencer"] and got["version_id"] is None  # an unversioned bucket
    assert got["event_name"] == "ObjectCreated:Put" and got["event_source"] == "aws:s3"
    assert got["region"] == "us-east-1" and got["version"] == "2.1" and got["schema"] == "1.0"
    assert got["event_time"].endswith("Z") and got["source_ip"] == "127.0.0.1" and got["principal"]
    assert got["request_id"] == put["ResponseMetadata"]["RequestId"] and got["configuration_id"] == "thumbnails"


POWERTOOLS_EVENTBRIDGE = """import json
from aws_lambda_powertools.utilities.data_classes import S3EventBridgeNotificationEvent, event_source


@event_source(data_class=S3EventBridgeNotificationEvent)
def handler(event: S3EventBridgeNotificationEvent, context):
    detail = event.detail
    print("GOT " + json.dumps({
        "detail_type": event.detail_type, "source": event.source, "bucket": detail.bucket.name,
        "key": detail.object.key, "size": detail.object.size, "etag": detail.object.etag,
        "sequencer": detail.object.sequencer, "reason": detail.reason, "request_id": detail.request_id,
        "source_ip": detail.source_ip_address, "resources": event.resources,
    }))
"""


def test_a_function_written_with_powertools_eventbridge_s3_class_runs_unchanged(
    woken: LaminaProcess, woken_client: Any, fn_name: str
) -> None:
    layer = woken_client.publish_layer_version(LayerName=fn_name, Content={"ZipFile": powertools_layer()})
    fn = deploy(woken_client, fn_name, POWERTOOLS_EVENTBRIDGE, Layers=[layer["LayerVersionArn"]], Timeout=30)
    bucket = make_bucket(woken)
    s3, events = aws("s3", woken.endpoint), aws("events", woken.endpoint)
    pattern = {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": [bucket]}}}
    events.put_rule(Name=bucket, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=bucket, Targets=[{"Id": "fn", "Arn": fn["FunctionArn"]}])
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})
    body = b"quarterly numbers"
    put = s3.put_object(Bucket=bucket, Key="reports/q1 2026.csv", Body=body)
    [got] = [json.loads(line) for line in printed(woken.endpoint, fn_name, "GOT ", 1)]
    assert got["detail_type"] == "Object Created" and got["source"] == "aws.s3"
    assert got["bucket"] == bucket and got["resources"] == [f"arn:aws:s3:::{bucket}"]
    assert got["key"] == "reports/q1 2026.csv"  # EventBridge's key is not URL-encoded
    assert got["size"] == len(body) and got["etag"] == hashlib.md5(body).hexdigest() and got["sequencer"]
    assert got["reason"] == "PutObject" and got["request_id"] == put["ResponseMetadata"]["RequestId"]
    assert got["source_ip"] == "127.0.0.1"


class Raw:
    """Requests to S3 by its address (the Host ``s3.localhost:<port>``), signed (tests/signing.py)."""

    def __init__(self, server: LaminaProcess) -> None:
        port = urlsplit(server.endpoint).port
        assert port is not None
        self.port = port

    def send(self, method: str, path: str, body: bytes = b"",
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:  # fmt: skip
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            host = f"s3.localhost:{self.port}"
            sign = signing.s3_headers(method, f"http://{host}{path}", headers)
            conn.request(method, path, body=body, headers={"Host": host, **(headers or {}), **sign})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()


def md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def test_requests_s3_refuses_leave_no_notification(woken: LaminaProcess) -> None:
    """Each refused request is sent before one good put; the queue's relay delivers in commit order,
    so had a refused one committed a notification, it would be in the queue before the good one's."""
    bucket = make_bucket(woken)
    s3, sqs = aws("s3", woken.endpoint), aws("sqs", woken.endpoint)
    url, arn = make_queue(woken.endpoint, f"{bucket}-all")
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}]})
    s3.put_object(Bucket=bucket, Key="keep", Body=b"x")
    first = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    raw = Raw(woken)
    delete_keep = b"<Delete><Object><Key>keep</Key></Object></Delete>"
    refused = [
        ("PUT", f"/{bucket}/bad-md5", b"payload", {"Content-MD5": md5(b"other")}, b"BadDigest"),
        ("PUT", f"/{bucket}/bad-crc", b"payload", {"x-amz-checksum-crc32": "AAAAAA=="}, b"BadDigest"),
        ("PUT", f"/{bucket}/{'k' * 1025}", b"payload", {}, b"KeyTooLongError"),
        ("PUT", f"/{bucket}/{'k' * 1025}", b"", {"x-amz-copy-source": f"/{bucket}/keep"}, b"KeyTooLongError"),
        ("POST", f"/{bucket}/{'k' * 1025}?uploads", b"", {}, b"KeyTooLongError"),
        ("POST", f"/{bucket}?delete", delete_keep[:-9], {"Content-MD5": md5(delete_keep[:-9])}, b"MalformedXML"),
        ("POST", f"/{bucket}?delete", delete_keep, {"Content-MD5": md5(b"other")}, b"BadDigest"),
        ("PUT", f"/{bucket}?notification", b"<NotificationConfiguration><QueueConfiguration><Queue>" + arn.encode()
         + b"</Queue><Event>s3:ObjectCreated:Rename</Event></QueueConfiguration></NotificationConfiguration>", {},
         b"InvalidArgument"),
        ("PUT", f"/{bucket}?notification", b"<NotificationConfiguration><QueueConfiguration><Queue>" + arn.encode()
         + b"</Queue><Event>s3:ObjectCreated:*</Event><Filter><S3Key><FilterRule><Name>prefix</Name><Value>"
         + b"p" * 1025 + b"</Value></FilterRule></S3Key></Filter></QueueConfiguration></NotificationConfiguration>",
         {}, b"InvalidArgument"),
    ]  # fmt: skip
    configured = s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"]
    for method, path, body, headers, code in refused:
        status, answer = raw.send(method, path, body, headers)
        assert status == 400 and b"<Code>" + code + b"</Code>" in answer, (path[:80], answer)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="parts")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="parts", UploadId=uid, PartNumber=1, Body=b"p")
    status, answer = raw.send("POST", f"/{bucket}/parts?uploadId={uid}", b"<CompleteMultipartUpload><Part>")
    assert status == 400 and b"<Code>MalformedXML</Code>" in answer
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["keep"]
    assert s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"] == configured
    assert [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == ["parts"]  # still open
    good = s3.put_object(Bucket=bucket, Key="good", Body=b"y")["ResponseMetadata"]["RequestId"]
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["Records"][0]["responseElements"]["x-amz-request-id"] for m in got] == [good]
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert counts["ApproximateNumberOfMessages"] == "0"

    waiting = f"{woken.endpoint}/lamina/v1/outbox?target={urllib.parse.quote(arn)}"
    with signing.urlopen(waiting, timeout=30) as resp:  # the good one's was taken with its delivery
        assert json.loads(resp.read())["messages"] == []
