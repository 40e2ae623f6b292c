"""Functions call the embedded S3 from inside their sandbox, at Lamina's own address: they read
and write objects, and may not administer buckets (api/guard.py, objects/operations.py)."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import LaminaProcess, deploy
from tests.objects import bucket_name, s3_client

HANDLER = r'''
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def handler(event, context):
    s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:%d" % event["port"], region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test", config=Config(retries={"max_attempts": 0}))
    bucket = event["bucket"]
    read = s3.get_object(Bucket=bucket, Key="in.txt")["Body"].read().decode()
    s3.put_object(Bucket=bucket, Key="out.txt", Body=read.upper().encode())
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    refused = {}
    for name, call in (("create", lambda: s3.create_bucket(Bucket=bucket + "-mine")),
                       ("delete", lambda: s3.delete_bucket(Bucket=bucket)),
                       ("tagging", lambda: s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": []}))):
        try:
            call()
            refused[name] = None
        except ClientError as exc:
            refused[name] = [exc.response["Error"]["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"]]
    return {"read": read, "listed": listed, "refused": refused}
'''


def test_a_function_reads_and_writes_objects_but_does_not_administer_buckets(
    lamina: LaminaProcess, client: Any, fn_name: str
) -> None:
    s3 = s3_client(lamina.endpoint)
    bucket = bucket_name("fn")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="in.txt", Body=b"from outside")
    deploy(client, fn_name, HANDLER, Timeout=30, MemorySize=256)
    port = int(lamina.endpoint.rsplit(":", 1)[1])
    answer = client.invoke(FunctionName=fn_name, Payload=json.dumps({"port": port, "bucket": bucket}))
    result = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, result
    assert result["read"] == "from outside" and result["listed"] == ["in.txt", "out.txt"]
    assert result["refused"] == {"create": ["AccessDenied", 403], "delete": ["AccessDenied", 403],
                                 "tagging": ["AccessDenied", 403]}  # fmt: skip
    assert s3.get_object(Bucket=bucket, Key="out.txt")["Body"].read() == b"FROM OUTSIDE"
    assert bucket + "-mine" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
