"""Functions call the embedded S3 from inside their sandbox with the SDK their runtime carries,
unconfigured (AWS_ENDPOINT_URL and their role's credentials): they do what their role allows, here
read and write one bucket's objects, and nothing else (administering buckets is AccessDenied)."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import LaminaProcess, make_zip
from tests.objects import bucket_name, s3_client
from tests.roles import make_role

HANDLER = r'''
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def handler(event, context):
    s3 = boto3.client("s3", config=Config(retries={"max_attempts": 0}))
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
    role = make_role(lamina.endpoint, f"objects-{fn_name}"[:64], [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"arn:aws:s3:::{bucket}/*"},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"}])  # fmt: skip
    client.create_function(FunctionName=fn_name, Runtime="python3.11", Role=role, Handler="app.handler",
                           Code={"ZipFile": make_zip({"app.py": HANDLER})}, Timeout=30, MemorySize=256)  # fmt: skip
    client.get_waiter("function_active_v2").wait(FunctionName=fn_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    answer = client.invoke(FunctionName=fn_name, Payload=json.dumps({"bucket": bucket}))
    result = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, result
    assert result["read"] == "from outside" and result["listed"] == ["in.txt", "out.txt"]
    assert result["refused"] == {"create": ["AccessDenied", 403], "delete": ["AccessDenied", 403],
                                 "tagging": ["AccessDenied", 403]}  # fmt: skip
    assert s3.get_object(Bucket=bucket, Key="out.txt")["Body"].read() == b"FROM OUTSIDE"
    assert bucket + "-mine" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
