"""Bucket notifications end to end through the embedded object store: boto3's ``s3`` client and
the AWS CLI configure a bucket and change its objects; a real function, a queue (boto3's ``sqs``)
and a rule of the default bus (boto3's ``events``) receive S3's events as AWS sends them."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess, deploy
from tests.functions import wait_for_logs
from tests import signing

VENV_BIN = Path(sys.executable).parent
ACCOUNT = "000000000000"
PRINTER = "import json\ndef handler(event, context):\n    print('EVENT ' + json.dumps(event))\n"
_buckets = itertools.count()


def aws(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 0}, s3={"addressing_style": "path"}))  # fmt: skip


@pytest.fixture
def bucket(lamina: LaminaProcess) -> str:
    name = f"notify-{next(_buckets)}-{uuid.uuid4().hex[:8]}"
    aws("s3", lamina.endpoint).create_bucket(Bucket=name)
    return name


def received(endpoint: str, name: str, count: int = 1) -> list[dict[str, Any]]:
    """The events a PRINTER function has printed, once it has printed ``count`` (or 60 s passed)."""

    def events(lines: list[str]) -> list[dict[str, Any]]:
        return [json.loads(line.split("EVENT ", 1)[1]) for line in lines if "EVENT " in line]

    return events(wait_for_logs(endpoint, name, lambda lines: len(events(lines)) >= count, timeout=60))


def to_function(function_arn: str, events: list[str], **rules: str) -> dict[str, Any]:
    config: dict[str, Any] = {"LambdaFunctionArn": function_arn, "Events": events}
    if rules:
        config["Filter"] = {"Key": {"FilterRules": [{"Name": k, "Value": v} for k, v in rules.items()]}}
    return {"LambdaFunctionConfigurations": [config]}


def test_put_object_invokes_the_function_with_s3s_event(lamina: LaminaProcess, client: Any, fn_name: str,
                                                        bucket: str) -> None:  # fmt: skip
    fn = deploy(client, fn_name, PRINTER)
    s3 = aws("s3", lamina.endpoint)
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration=to_function(fn["FunctionArn"], ["s3:ObjectCreated:*"])
    )
    [stored] = s3.get_bucket_notification_configuration(Bucket=bucket)["LambdaFunctionConfigurations"]
    assert stored["LambdaFunctionArn"] == fn["FunctionArn"] and stored["Events"] == ["s3:ObjectCreated:*"]
    assert stored["Id"]  # made by the store, as S3 makes one
    put = s3.put_object(Bucket=bucket, Key="in/hello world.txt", Body=b"hello")
    [event] = received(lamina.endpoint, fn_name)
    [record] = event["Records"]
    assert list(record) == ["eventVersion", "eventSource", "awsRegion", "eventTime", "eventName", "userIdentity",
                            "requestParameters", "responseElements", "s3"]  # fmt: skip
    assert record["eventVersion"] == "2.1" and record["eventSource"] == "aws:s3" and record["awsRegion"] == "us-east-1"
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["eventTime"].endswith("Z") and len(record["eventTime"]) == len("2019-09-03T19:37:27.192Z")
    assert record["requestParameters"]["sourceIPAddress"] == "127.0.0.1"
    assert record["responseElements"]["x-amz-request-id"] == put["ResponseMetadata"]["RequestId"]
    s3_part = record["s3"]
    assert s3_part["s3SchemaVersion"] == "1.0" and s3_part["configurationId"] == stored["Id"]
    assert list(s3_part["bucket"]) == ["name", "ownerIdentity", "arn"]
    assert s3_part["bucket"]["name"] == bucket and s3_part["bucket"]["arn"] == f"arn:aws:s3:::{bucket}"
    assert s3_part["bucket"]["ownerIdentity"]["principalId"]
    obj = s3_part["object"]
    assert list(obj) == ["key", "size", "eTag", "sequencer"]
    assert obj["key"] == "in/hello+world.txt" and obj["size"] == 5
    assert obj["eTag"] == hashlib.md5(b"hello").hexdigest() == put["ETag"].strip('"')


def test_delete_object_sends_object_removed_and_sequencers_follow_the_changes(
    lamina: LaminaProcess, client: Any, fn_name: str, bucket: str
) -> None:
    fn = deploy(client, fn_name, PRINTER)
    s3 = aws("s3", lamina.endpoint)
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"LambdaFunctionConfigurations": [
            {"Id": "all", "LambdaFunctionArn": fn["FunctionArn"], "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}
        ]},
    )  # fmt: skip
    first = s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"one")["ResponseMetadata"]["RequestId"]
    second = s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"two!")["ResponseMetadata"]["RequestId"]
    removal = s3.delete_object(Bucket=bucket, Key="doc.txt")["ResponseMetadata"]["RequestId"]
    records = {e["Records"][0]["responseElements"]["x-amz-request-id"]: e["Records"][0]
               for e in received(lamina.endpoint, fn_name, 3)}  # fmt: skip
    assert set(records) == {first, second, removal}
    removed = records[removal]
    assert removed["eventName"] == "ObjectRemoved:Delete" and removed["s3"]["configurationId"] == "all"
    assert list(removed["s3"]["object"]) == ["key", "sequencer"] and removed["s3"]["object"]["key"] == "doc.txt"
    assert records[second]["s3"]["object"]["size"] == 4

    def order(request_id: str) -> str:  # S3: compare sequencers of one key padded to the same length
        return str(records[request_id]["s3"]["object"]["sequencer"]).rjust(64, "0")

    assert order(first) < order(second) < order(removal)


def test_prefix_and_suffix_filters_choose_the_keys(lamina: LaminaProcess, client: Any, fn_name: str,
                                                   bucket: str) -> None:  # fmt: skip
    fn = deploy(client, fn_name, PRINTER)
    s3 = aws("s3", lamina.endpoint)
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration=to_function(fn["FunctionArn"], ["s3:ObjectCreated:Put"],
                                                             prefix="photos/", suffix=".jpg"),
    )  # fmt: skip
    for key in ("photos/cat.png", "docs/cat.jpg", "photos.jpg", "photos/2024/dog.jpg"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    s3.copy_object(Bucket=bucket, Key="photos/copy.jpg", CopySource={"Bucket": bucket, "Key": "photos/cat.png"})
    s3.put_object(Bucket=bucket, Key="photos/last.jpg", Body=b"x")
    events = received(lamina.endpoint, fn_name, 2)
    assert sorted(e["Records"][0]["s3"]["object"]["key"] for e in events) == ["photos/2024/dog.jpg", "photos/last.jpg"]


def test_a_queue_receives_the_event(lamina: LaminaProcess, bucket: str) -> None:
    s3, sqs = aws("s3", lamina.endpoint), aws("sqs", lamina.endpoint)
    url = sqs.create_queue(QueueName=f"{bucket}-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"Id": "q", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})  # fmt: skip
    s3.put_object(Bucket=bucket, Key="report.csv", Body=b"a,b\n")
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)["Messages"]
    [record] = json.loads(messages[0]["Body"])["Records"]
    assert record["eventName"] == "ObjectCreated:Put" and record["s3"]["configurationId"] == "q"
    assert record["s3"]["bucket"]["name"] == bucket and record["s3"]["object"]["key"] == "report.csv"


def test_a_rule_of_the_default_bus_gets_eventbridges_object_created(lamina: LaminaProcess, client: Any,
                                                                    fn_name: str, bucket: str) -> None:  # fmt: skip
    fn = deploy(client, fn_name, PRINTER)
    s3, events = aws("s3", lamina.endpoint), aws("events", lamina.endpoint)
    rule = f"objects-{bucket}"
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["aws.s3"], "detail": {"bucket": {"name": [bucket]}}}))
    events.put_targets(Rule=rule, Targets=[{"Id": "fn", "Arn": fn["FunctionArn"]}])
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})
    assert s3.get_bucket_notification_configuration(Bucket=bucket).get("EventBridgeConfiguration") == {}
    put = s3.put_object(Bucket=bucket, Key="a b.txt", Body=b"hello")
    s3.delete_object(Bucket=bucket, Key="a b.txt")
    got = {e["detail-type"]: e for e in received(lamina.endpoint, fn_name, 2)}
    created, deleted = got["Object Created"], got["Object Deleted"]
    assert list(created) == ["version", "id", "detail-type", "source", "account", "time", "region", "resources",
                             "detail"]  # fmt: skip
    assert created["source"] == "aws.s3" and created["account"] == ACCOUNT and created["region"] == "us-east-1"
    assert created["resources"] == [f"arn:aws:s3:::{bucket}"]
    detail = created["detail"]
    assert detail["version"] == "0" and detail["bucket"] == {"name": bucket} and detail["reason"] == "PutObject"
    assert detail["object"]["key"] == "a b.txt" and detail["object"]["size"] == 5
    assert detail["object"]["etag"] == put["ETag"].strip('"')
    assert detail["request-id"] == put["ResponseMetadata"]["RequestId"]
    assert detail["source-ip-address"] == "127.0.0.1"
    assert deleted["detail"]["reason"] == "DeleteObject" and deleted["detail"]["deletion-type"] == "Permanently Deleted"


def test_aws_s3_sync_of_50_files_makes_50_invocations(lamina: LaminaProcess, client: Any, fn_name: str,
                                                      bucket: str, tmp_path: Path) -> None:  # fmt: skip
    fn = deploy(client, fn_name, PRINTER)
    aws("s3", lamina.endpoint).put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration=to_function(fn["FunctionArn"], ["s3:ObjectCreated:*"])
    )
    folder = tmp_path / "site"
    folder.mkdir()
    for i in range(50):
        (folder / f"page {i:02d}.html").write_text(f"<p>{i}</p>")
    config = tmp_path / "aws-config"
    config.write_text("[default]\ns3 =\n    addressing_style = path\n")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
    done = subprocess.run([str(VENV_BIN / "aws"), "--endpoint-url", lamina.endpoint, "s3", "sync", str(folder),
                           f"s3://{bucket}/site/"], capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    events = received(lamina.endpoint, fn_name, 50)
    keys = sorted(e["Records"][0]["s3"]["object"]["key"] for e in events)
    assert keys == [f"site/page+{i:02d}.html" for i in range(50)]


def test_s3s_refusals_through_the_api_change_nothing(lamina: LaminaProcess, client: Any, fn_name: str,
                                                     bucket: str) -> None:  # fmt: skip
    fn = deploy(client, fn_name, PRINTER)
    s3 = aws("s3", lamina.endpoint)
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration=to_function(fn["FunctionArn"], ["s3:ObjectCreated:*"])
    )
    before = s3.get_bucket_notification_configuration(Bucket=bucket)
    del before["ResponseMetadata"]
    missing = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{fn_name}-missing"

    def error(configuration: dict[str, Any]) -> dict[str, Any]:
        with pytest.raises(ClientError) as caught:
            s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=configuration)
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        return dict(caught.value.response["Error"])

    unreachable = error(to_function(missing, ["s3:ObjectCreated:*"]))
    assert unreachable["Code"] == "InvalidArgument"
    assert unreachable["Message"] == "Unable to validate the following destination configurations"
    assert unreachable["ArgumentName1"] == missing
    assert unreachable["ArgumentValue1"] == f"Not authorized to invoke function [{missing}]"
    unknown = error(to_function(fn["FunctionArn"], ["s3:ObjectCreated:Rename"]))
    assert unknown == {**unknown, "Code": "InvalidArgument", "Message": "The event is not supported for notifications"}
    overlapping = error({"LambdaFunctionConfigurations": [
        {"LambdaFunctionArn": fn["FunctionArn"], "Events": ["s3:ObjectCreated:*"]},
        {"LambdaFunctionArn": fn["FunctionArn"], "Events": ["s3:ObjectCreated:Put"]},
    ]})  # fmt: skip
    assert overlapping["Message"] == (
        "Configurations overlap. Configurations on the same bucket cannot share a common event type."
    )
    for body in (b"<NotificationConfiguration><Nonsense/></NotificationConfiguration>", b"not xml",
                 b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
                 b"<NotificationConfiguration><QueueConfiguration><Id>&b;</Id></QueueConfiguration>"
                 b"</NotificationConfiguration>"):  # fmt: skip
        request = urllib.request.Request(f"{lamina.endpoint}/{bucket}?notification", data=body, method="PUT",
                                             headers={"Host": "s3.localhost"})  # S3 by its address
        with pytest.raises(urllib.error.HTTPError) as refused:
            signing.urlopen(request, service="s3", timeout=30)
        with refused.value:
            assert refused.value.code == 400 and b"<Code>MalformedXML</Code>" in refused.value.read()
    after = s3.get_bucket_notification_configuration(Bucket=bucket)
    del after["ResponseMetadata"]
    assert after == before and before["LambdaFunctionConfigurations"]


def test_a_deleted_bucket_forgets_its_configuration(lamina: LaminaProcess, client: Any, fn_name: str,
                                                    bucket: str) -> None:  # fmt: skip
    fn = deploy(client, fn_name, PRINTER)
    s3 = aws("s3", lamina.endpoint)
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration=to_function(fn["FunctionArn"], ["s3:ObjectCreated:*"])
    )
    s3.delete_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=bucket)
    answer = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert "LambdaFunctionConfigurations" not in answer and "EventBridgeConfiguration" not in answer
