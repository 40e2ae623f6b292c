"""Bucket policies, managed and evaluated: two accounts (two root keys) on one server, real boto3 s3
clients and the AWS CLI. Another account reaches a bucket where its policy and its own identity
policies both allow; a Deny in the policy binds the owner's own users (its root too, but never out
of managing the policy); malformed and hostile documents are refused with S3's MalformedPolicy."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Iterator
from xml.etree import ElementTree

import urllib.error
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess, server_env
from tests.integration.test_accounts import ACCOUNT_A, ACCOUNT_B, KEY_A, KEY_B, KEYS, SECRET_A, SECRET_B, client
from tests import signing
from tests.objects import bucket_name

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"
R = "us-east-1"


def refused(call: Any, **kwargs: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"].get("Message", "")


def raw(method: str, url: str, body: bytes, key: str, secret: str) -> tuple[int, Any, bytes]:
    """A request signed for S3 by hand (what no SDK would send), and its status, headers and body."""
    sent = signing.headers(method, url, body, service="s3", key=key, secret=secret)
    request = urllib.request.Request(url, data=body or None, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as failed:
        return failed.code, failed.headers, failed.read()


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:
    env = server_env(LAMINA_ACCESS_KEYS=KEYS, LAMINA_ACCOUNT_ID=ACCOUNT_A)
    process = LaminaProcess(tmp_path_factory.mktemp("bucket-policies"), env).start()
    yield process
    process.stop()


def user_s3(endpoint: str, account: str, name: str, statements: list[dict[str, Any]]) -> tuple[Any, str]:
    """An S3 client of a new user of ``account`` whose one inline policy holds ``statements``, and its ARN."""
    iam = client("iam", endpoint, account)
    arn = str(iam.create_user(UserName=name)["User"]["Arn"])
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=document(*statements))
    made = iam.create_access_key(UserName=name)["AccessKey"]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=R, aws_access_key_id=made["AccessKeyId"],
                      aws_secret_access_key=made["SecretAccessKey"], config=Config(retries={"max_attempts": 0}))  # fmt: skip
    return s3, arn


def a_bucket(server: LaminaProcess, policy: str | None = None) -> str:
    name = bucket_name("bp")
    a = client("s3", server.endpoint, ACCOUNT_A)
    a.create_bucket(Bucket=name)
    a.put_object(Bucket=name, Key="shared/report", Body=b"a's report")
    if policy is not None:
        a.put_bucket_policy(Bucket=name, Policy=policy)
    return name


def test_the_owner_puts_gets_and_deletes_a_policy_and_its_status(server: LaminaProcess) -> None:
    name = a_bucket(server)
    a = client("s3", server.endpoint, ACCOUNT_A)
    assert refused(a.get_bucket_policy, Bucket=name)[:2] == ("NoSuchBucketPolicy", 404)
    assert refused(a.get_bucket_policy_status, Bucket=name)[:2] == ("NoSuchBucketPolicy", 404)
    text = document({"Sid": "read", "Effect": "Allow", "Principal": {"AWS": ACCOUNT_B}, "Action": "s3:GetObject",
                     "Resource": f"arn:aws:s3:::{name}/*"})  # fmt: skip
    put = a.put_bucket_policy(Bucket=name, Policy=text, ConfirmRemoveSelfBucketAccess=False)
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert a.get_bucket_policy(Bucket=name)["Policy"] == text
    assert a.get_bucket_policy_status(Bucket=name)["PolicyStatus"] == {"IsPublic": False}
    public = document({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"})
    a.put_bucket_policy(Bucket=name, Policy=public)
    assert a.get_bucket_policy_status(Bucket=name)["PolicyStatus"] == {"IsPublic": True}
    assert a.delete_bucket_policy(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert refused(a.get_bucket_policy, Bucket=name)[:2] == ("NoSuchBucketPolicy", 404)
    assert refused(a.get_bucket_policy, Bucket="nobodys-bucket-here")[:2] == ("NoSuchBucket", 404)


def test_another_account_is_refused_without_a_policy_in_s3s_xml(server: LaminaProcess) -> None:
    name = a_bucket(server)
    b = client("s3", server.endpoint, ACCOUNT_B)
    assert refused(b.get_object, Bucket=name, Key="shared/report")[:2] == ("AccessDenied", 403)
    assert refused(b.put_object, Bucket=name, Key="k", Body=b"b's")[:2] == ("AccessDenied", 403)
    assert refused(b.put_bucket_policy, Bucket=name, Policy=document(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": f"arn:aws:s3:::{name}/*"}))[:2] == (
        "AccessDenied", 403)  # fmt: skip
    # The answer's shape, as S3 gives it: <Error> with Code, Message, RequestId, HostId.
    url = f"{server.endpoint}/{name}/shared/report"
    status, headers, body = raw("GET", url, b"", KEY_B, SECRET_B)
    assert status == 403 and headers["Content-Type"] == "application/xml"
    error = ElementTree.fromstring(body)
    assert error.tag == "Error"
    assert (error.findtext("Code"), error.findtext("Message")) == ("AccessDenied", "Access Denied")
    assert error.findtext("RequestId") == headers["x-amz-request-id"] and error.findtext("HostId")


def test_another_account_reads_and_writes_where_the_policy_allows(server: LaminaProcess) -> None:
    name = a_bucket(server)
    a = client("s3", server.endpoint, ACCOUNT_A)
    a.put_bucket_policy(Bucket=name, Policy=document(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_B}:root"}, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{name}/shared/*"},
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT_B}, "Action": ["s3:PutObject"],
         "Resource": f"arn:aws:s3:::{name}/incoming/*"},
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT_B}, "Action": "s3:ListBucket",
         "Resource": f"arn:aws:s3:::{name}", "Condition": {"StringEquals": {"s3:prefix": "shared/"}}},
    ))  # fmt: skip
    b = client("s3", server.endpoint, ACCOUNT_B)
    assert b.get_object(Bucket=name, Key="shared/report")["Body"].read() == b"a's report"
    b.put_object(Bucket=name, Key="incoming/from-b", Body=b"b's")
    assert a.get_object(Bucket=name, Key="incoming/from-b")["Body"].read() == b"b's"
    assert refused(b.put_object, Bucket=name, Key="shared/report", Body=b"overwritten")[:2] == ("AccessDenied", 403)
    # A copy reads its source: allowed where B may read it, never a way round the policy.
    a.put_object(Bucket=name, Key="private", Body=b"a's alone")
    assert refused(b.copy_object, Bucket=name, Key="incoming/stolen",
                   CopySource={"Bucket": name, "Key": "private"})[:2] == ("AccessDenied", 403)  # fmt: skip
    b.copy_object(Bucket=name, Key="incoming/copied", CopySource={"Bucket": name, "Key": "shared/report"})
    assert a.get_object(Bucket=name, Key="incoming/copied")["Body"].read() == b"a's report"
    assert refused(b.delete_object, Bucket=name, Key="shared/report")[:2] == ("AccessDenied", 403)
    listed = b.list_objects_v2(Bucket=name, Prefix="shared/")
    assert [o["Key"] for o in listed["Contents"]] == ["shared/report"]
    assert refused(b.list_objects_v2, Bucket=name)[:2] == ("AccessDenied", 403)  # no prefix: the condition fails
    assert refused(b.list_objects_v2, Bucket=name, Prefix="incoming/")[:2] == ("AccessDenied", 403)
    # B's buckets are still B's alone: A's bucket is not listed as B's.
    assert name not in [x["Name"] for x in b.list_buckets()["Buckets"]]
    # Only the owner's account manages the policy, even one that allows another account to.
    a.put_bucket_policy(Bucket=name, Policy=document(
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT_B}, "Action": ["s3:GetBucketPolicy", "s3:GetObject"],
         "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]}))  # fmt: skip
    assert refused(b.get_bucket_policy, Bucket=name)[:2] == ("MethodNotAllowed", 405)


def test_another_accounts_user_needs_its_own_policies_too(server: LaminaProcess) -> None:
    name = a_bucket(server)
    a = client("s3", server.endpoint, ACCOUNT_A)
    a.put_bucket_policy(Bucket=name, Policy=document(
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT_B}, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{name}/*"}))  # fmt: skip
    bare, _ = user_s3(server.endpoint, ACCOUNT_B, f"bare-{name}", [])
    reader, reader_arn = user_s3(server.endpoint, ACCOUNT_B, f"reader-{name}",
                                 [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}])  # fmt: skip
    assert refused(bare.get_object, Bucket=name, Key="shared/report")[:2] == ("AccessDenied", 403)
    assert reader.get_object(Bucket=name, Key="shared/report")["Body"].read() == b"a's report"
    # A policy naming one user of B's grants that user only (still with its own policies' consent).
    a.put_bucket_policy(Bucket=name, Policy=document(
        {"Effect": "Allow", "Principal": {"AWS": reader_arn}, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{name}/*"}))  # fmt: skip
    assert reader.get_object(Bucket=name, Key="shared/report")["Body"].read() == b"a's report"
    b = client("s3", server.endpoint, ACCOUNT_B)
    assert refused(b.get_object, Bucket=name, Key="shared/report")[:2] == ("AccessDenied", 403)


def test_an_explicit_deny_binds_the_owners_own_users_and_root(server: LaminaProcess) -> None:
    name = a_bucket(server)
    a = client("s3", server.endpoint, ACCOUNT_A)
    admin, admin_arn = user_s3(server.endpoint, ACCOUNT_A, f"admin-{name}",
                               [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])  # fmt: skip
    admin.put_object(Bucket=name, Key="k", Body=b"v")
    a.put_bucket_policy(Bucket=name, Policy=document(
        {"Effect": "Deny", "Principal": {"AWS": admin_arn}, "Action": ["s3:DeleteObject", "s3:PutObject"],
         "Resource": f"arn:aws:s3:::{name}/*"}))  # fmt: skip
    assert refused(admin.delete_object, Bucket=name, Key="k")[:2] == ("AccessDenied", 403)
    assert refused(admin.put_object, Bucket=name, Key="k", Body=b"w")[:2] == ("AccessDenied", 403)
    assert admin.get_object(Bucket=name, Key="k")["Body"].read() == b"v"
    a.delete_object(Bucket=name, Key="k")  # the root is not named

    # Denied to everyone: the root too, but never out of managing the policy.
    everyone = document({"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                         "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]})  # fmt: skip
    a.put_bucket_policy(Bucket=name, Policy=everyone)
    assert refused(a.get_object, Bucket=name, Key="shared/report")[:2] == ("AccessDenied", 403)
    assert refused(a.list_objects_v2, Bucket=name)[:2] == ("AccessDenied", 403)
    assert refused(admin.get_bucket_policy, Bucket=name)[:2] == ("AccessDenied", 403)
    assert a.get_bucket_policy(Bucket=name)["Policy"] == everyone
    a.delete_bucket_policy(Bucket=name)
    assert a.get_object(Bucket=name, Key="shared/report")["Body"].read() == b"a's report"


def test_conditions_on_the_transport_and_the_callers_account(server: LaminaProcess) -> None:
    name = a_bucket(server)
    a = client("s3", server.endpoint, ACCOUNT_A)
    a.put_bucket_policy(Bucket=name, Policy=document(
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{name}/*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*",
         "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT_B}}},
    ))  # fmt: skip
    assert refused(a.put_object, Bucket=name, Key="plain-http", Body=b"x")[:2] == ("AccessDenied", 403)
    b = client("s3", server.endpoint, ACCOUNT_B)
    assert b.get_object(Bucket=name, Key="shared/report")["Body"].read() == b"a's report"
    assert a.get_bucket_policy_status(Bucket=name)["PolicyStatus"] == {"IsPublic": False}


def test_the_aws_cli_puts_a_policy_another_account_reads_by(server: LaminaProcess, tmp_path: Path) -> None:
    name = a_bucket(server)
    (tmp_path / "policy.json").write_text(document(
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT_B}, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{name}/*"}))  # fmt: skip
    env = {**os.environ, "AWS_DEFAULT_REGION": R, "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip

    def cli(key: str, secret: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(VENV_BIN / "aws"), "--endpoint-url", server.endpoint, "s3api", *args],
                              capture_output=True, text=True, cwd=tmp_path, timeout=120,
                              env={**env, "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret})  # fmt: skip

    put = cli(KEY_A, SECRET_A, "put-bucket-policy", "--bucket", name, "--policy", "file://policy.json")
    assert put.returncode == 0, put.stderr
    got = cli(KEY_B, SECRET_B, "get-object", "--bucket", name, "--key", "shared/report", "out")
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "out").read_bytes() == b"a's report"
    bad = cli(KEY_A, SECRET_A, "put-bucket-policy", "--bucket", name, "--policy", '{"Statement": "nope"')
    assert bad.returncode != 0 and "MalformedPolicy" in bad.stderr and "invalid Json" in bad.stderr


def _statement(bucket: str, **changes: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": ACCOUNT_B}, "Action": "s3:GetObject",
                                 "Resource": f"arn:aws:s3:::{bucket}/*"}  # fmt: skip
    statement.update(changes)
    return {k: v for k, v in statement.items() if v is not None}


MALFORMED: list[tuple[str, Any, str]] = [
    ("not json", "{not json", "This policy contains invalid Json"),
    ("not an object", '["Statement"]', "Policies must be valid JSON and the first byte must be '{'"),
    ("no statement", {"Version": "2012-10-17"}, "Missing required field Statement"),
    ("empty statement", {"Version": "2012-10-17", "Statement": []}, "Could not parse the policy: Statement is empty!"),
    ("bad version", {"Version": "2020-01-01", "Statement": [{}]}, "The policy must contain a valid version string"),
    ("unknown principal", {"Statement": [{"Principal": {"AWS": "someone"}}]}, "Invalid principal in policy"),
    ("principal type", {"Statement": [{"Principal": {"Robot": "x"}}]}, "Invalid principal in policy"),
    ("principal number", {"Statement": [{"Principal": {"AWS": 222222222222}}]}, "Invalid principal in policy"),
    ("not s3's action", {"Statement": [{"Action": "sqs:SendMessage"}]}, "Policy has invalid action"),
    ("no such action", {"Statement": [{"Action": "s3:Teleport*"}]}, "Policy has invalid action"),
    ("another bucket", {"Statement": [{"Resource": "arn:aws:s3:::someone-elses/*"}]}, "Policy has invalid resource"),
    ("star resource", {"Statement": [{"Resource": "*"}]}, "Policy has invalid resource"),
    ("not s3's resource", {"Statement": [{"Resource": "arn:aws:sqs:us-east-1:111111111111:q"}]},
     "Policy has invalid resource"),
    ("object action on the bucket", {"Statement": [{"Resource": "arn:aws:s3:::{bucket}"}]},
     "Action does not apply to any resource(s) in statement"),
    ("condition key", {"Statement": [{"Condition": {"StringEquals": {"x:y": "z"}}}]},
     "Policy has an invalid condition key"),
    ("no principal", {"Statement": [{"Principal": None}]}, "Missing required field Principal"),
    ("wrong effect", {"Statement": [{"Effect": "Perhaps"}]}, "Syntax errors in policy."),
    ("wrong types", {"Statement": [{"Action": {"s3": "GetObject"}}]},
     "Syntax errors in policy. Action must be a string or a list of strings."),
]  # fmt: skip


@pytest.mark.parametrize("case", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_policies_are_refused_with_s3s_messages(server: LaminaProcess, case: tuple[str, Any, str]) -> None:
    _, given, message = case
    name = a_bucket(server)
    if isinstance(given, dict):  # each statement: what it changes in a good one
        statements = [_statement(name, **changes) for changes in given.get("Statement", [])]
        text = json.dumps({**given, "Statement": statements} if statements else given).replace("{bucket}", name)
    else:
        text = given
    a = client("s3", server.endpoint, ACCOUNT_A)
    assert refused(a.put_bucket_policy, Bucket=name, Policy=text) == ("MalformedPolicy", 400, message)
    assert refused(a.get_bucket_policy, Bucket=name)[0] == "NoSuchBucketPolicy"


def test_hostile_policy_documents_are_refused_and_the_server_stays_up(server: LaminaProcess) -> None:
    name = a_bucket(server)
    a = client("s3", server.endpoint, ACCOUNT_A)
    resource = f"arn:aws:s3:::{name}/*"
    many = document(*[_statement(name, Sid=f"s{i}", Resource=f"{resource[:-1]}k{i}") for i in range(400)])
    assert refused(a.put_bucket_policy, Bucket=name, Policy=many) == (
        "MalformedPolicy", 400, "Policy exceeds the maximum allowed document size.")  # fmt: skip
    huge = '{"Statement": [' + " " * (2 * 1024 * 1024) + "]}"
    assert refused(a.put_bucket_policy, Bucket=name, Policy=huge)[:2] == ("MalformedPolicy", 400)
    nested = '{"Statement": ' + "[" * 5000 + "]" * 5000 + "}"
    assert refused(a.put_bucket_policy, Bucket=name, Policy=nested)[:2] == ("MalformedPolicy", 400)
    deep_condition = document(_statement(name, Condition={"StringEquals": {"aws:userid": [[["x"]]]}}))
    assert refused(a.put_bucket_policy, Bucket=name, Policy=deep_condition)[:2] == ("MalformedPolicy", 400)
    # Not UTF-8 at all: sent raw, as boto3 would not.
    status, _, answer = raw("PUT", f"{server.endpoint}/{name}?policy", b'{"Statement": "\xff\xfe"}', KEY_A, SECRET_A)
    assert status == 400 and b"<Code>MalformedPolicy</Code>" in answer
    assert refused(a.get_bucket_policy, Bucket=name)[0] == "NoSuchBucketPolicy"
    assert a.get_object(Bucket=name, Key="shared/report")["Body"].read() == b"a's report"
    # Wildcards made to backtrack (``*a*a*...*b`` against ``aaa...``), in actions (checked against
    # S3's when put) and in resources (against each request's): matched run by run, they answer at once.
    assert refused(a.put_bucket_policy, Bucket=name, Policy=document(_statement(name, Action="s3:" + "*e" * 2000 + "*z"))) \
        == ("MalformedPolicy", 400, "Policy has invalid action")  # fmt: skip
    backtracking = "*a" * 500 + "*b"
    a.put_bucket_policy(Bucket=name, Policy=document(_statement(name, Resource=f"arn:aws:s3:::{name}/{backtracking}")))
    b = client("s3", server.endpoint, ACCOUNT_B)
    assert refused(b.get_object, Bucket=name, Key="a" * 1000)[:2] == ("AccessDenied", 403)
    a.put_object(Bucket=name, Key="a" * 1000 + "b", Body=b"found")
    assert b.get_object(Bucket=name, Key="a" * 1000 + "b")["Body"].read() == b"found"


def test_a_policy_goes_with_its_bucket_and_lasts_across_a_restart(make_server: Any, tmp_path: Path) -> None:
    server = make_server(tmp_path / "data", LAMINA_ACCESS_KEYS=KEYS, LAMINA_ACCOUNT_ID=ACCOUNT_A)
    a, b = client("s3", server.endpoint, ACCOUNT_A), client("s3", server.endpoint, ACCOUNT_B)
    a.create_bucket(Bucket="kept")
    a.put_object(Bucket="kept", Key="k", Body=b"v")
    kept = document(_statement("kept"))
    a.put_bucket_policy(Bucket="kept", Policy=kept)
    a.create_bucket(Bucket="gone")
    a.put_bucket_policy(Bucket="gone", Policy=document(_statement("gone")))
    a.delete_bucket(Bucket="gone")
    assert server.stop() == 0

    server = make_server(tmp_path / "data", LAMINA_ACCESS_KEYS=KEYS, LAMINA_ACCOUNT_ID=ACCOUNT_A)
    a, b = client("s3", server.endpoint, ACCOUNT_A), client("s3", server.endpoint, ACCOUNT_B)
    assert a.get_bucket_policy(Bucket="kept")["Policy"] == kept
    assert b.get_object(Bucket="kept", Key="k")["Body"].read() == b"v"
    a.create_bucket(Bucket="gone")
    assert refused(a.get_bucket_policy, Bucket="gone")[:2] == ("NoSuchBucketPolicy", 404)
    b.create_bucket(Bucket="b-own")  # B's cell, started after A's: its bucket reached from A by the policy
    b.put_object(Bucket="b-own", Key="k", Body=b"b's")
    b.put_bucket_policy(Bucket="b-own", Policy=document(
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT_A}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b-own/*"}))
    assert server.stop() == 0
    server = make_server(tmp_path / "data", LAMINA_ACCESS_KEYS=KEYS, LAMINA_ACCOUNT_ID=ACCOUNT_A)
    a = client("s3", server.endpoint, ACCOUNT_A)
    assert a.get_object(Bucket="b-own", Key="k")["Body"].read() == b"b's"  # B's cell opened for it


def unsigned(server: LaminaProcess, method: str, host: str, path: str, body: bytes = b"",
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:  # fmt: skip
    """A request no one signed, to Lamina's port by S3's address (``host``: ``s3.localhost`` or
    ``<bucket>.s3.localhost``, sent as the Host header: the name need not resolve)."""
    port = server.endpoint.rsplit(":", 1)[1]
    request = urllib.request.Request(f"{server.endpoint}{path}", data=body or None, method=method,
                                     headers={"Host": f"{host}:{port}", **(headers or {})})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as failed:
        return failed.code, failed.read()


def code_of(body: bytes) -> str | None:
    return ElementTree.fromstring(body).findtext("Code")


def test_anonymous_requests_reach_what_a_policy_opens_to_everyone(server: LaminaProcess) -> None:
    name = a_bucket(server)
    a = client("s3", server.endpoint, ACCOUNT_A)
    a.put_object(Bucket=name, Key="public/page.html", Body=b"<p>hello</p>")
    a.put_object(Bucket=name, Key="public/secret", Body=b"kept")
    status, body = unsigned(server, "GET", "s3.localhost", f"/{name}/public/page.html")
    assert (status, code_of(body)) == (403, "AccessDenied")  # no policy yet
    a.put_bucket_policy(Bucket=name, Policy=document(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/public/*"},
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["s3:PutObject", "s3:GetBucketPolicy"],
         "Resource": [f"arn:aws:s3:::{name}/drop/*", f"arn:aws:s3:::{name}"]},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/public/secret"},
    ))  # fmt: skip
    assert unsigned(server, "GET", "s3.localhost", f"/{name}/public/page.html") == (200, b"<p>hello</p>")
    assert unsigned(server, "GET", f"{name}.s3.localhost", "/public/page.html") == (200, b"<p>hello</p>")
    for method, path in (("GET", "/public/secret"), ("GET", "/shared/report"), ("PUT", "/public/x"),
                         ("DELETE", "/public/page.html"), ("GET", "/"), ("GET", "/?policyStatus")):  # fmt: skip
        status, body = unsigned(server, method, "s3.localhost", f"/{name}{path}", b"x" if method == "PUT" else b"")
        assert (status, code_of(body)) == (403, "AccessDenied"), (method, path)
    # Everyone may write under drop/ ({"AWS": "*"} names the anonymous too), as the owner's object,
    # and the notification names who wrote it.
    sqs = client("sqs", server.endpoint, ACCOUNT_A)
    url = sqs.create_queue(QueueName=f"{name}-events")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:{R}:{ACCOUNT_A}:{name}-events"
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": document(
        {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sqs:SendMessage",
         "Resource": queue_arn})})  # fmt: skip
    a.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"],
                                 "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "drop/"}]}}}]})  # fmt: skip
    status, _ = unsigned(server, "PUT", "s3.localhost", f"/{name}/drop/note", b"from nobody")
    assert status == 200
    assert a.get_object(Bucket=name, Key="drop/note")["Body"].read() == b"from nobody"
    client("s3", server.endpoint, ACCOUNT_B).put_object(Bucket=name, Key="drop/from-b", Body=b"b's")
    writers: dict[str, str] = {}
    for _ in range(12):  # long polls, until both have come (bounded: a lost one fails the test)
        if len(writers) == 2:
            break
        for message in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10, MaxNumberOfMessages=10).get("Messages", []):
            for record in json.loads(message["Body"]).get("Records", []):
                writers[record["s3"]["object"]["key"]] = record["userIdentity"]["principalId"]
    assert writers == {"drop/note": "Anonymous", "drop/from-b": ACCOUNT_B}
    # Copying needs the source's reading too: public/secret is denied, private never opened.
    for source in ("public/secret", "shared/report"):
        status, body = unsigned(server, "PUT", "s3.localhost", f"/{name}/drop/copy", headers={
            "x-amz-copy-source": f"/{name}/{source}"})  # fmt: skip
        assert (status, code_of(body)) == (403, "AccessDenied"), source
    status, _ = unsigned(server, "PUT", "s3.localhost", f"/{name}/drop/copy",
                         headers={"x-amz-copy-source": f"/{name}/public/page.html"})  # fmt: skip
    assert status == 200 and a.get_object(Bucket=name, Key="drop/copy")["Body"].read() == b"<p>hello</p>"
    # The policy is the owner's account's to read, whatever it says.
    status, body = unsigned(server, "GET", "s3.localhost", f"/{name}?policy")
    assert (status, code_of(body)) == (405, "MethodNotAllowed")
    # A body whose chunks claim signatures has no seed to check them against: refused.
    status, body = unsigned(server, "PUT", "s3.localhost", f"/{name}/drop/chunked", b"0;chunk-signature=00\r\n\r\n",
                           {"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                            "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": "0"})  # fmt: skip
    assert (status, code_of(body)) == (403, "AccessDenied")
    # Names that are not the bucket's, however spelled, reach nothing; nor does the service.
    for path in (f"/{name}%2Fpublic/page.html", f"/{name.upper()}/public/page.html", "/nobodys-bucket/x", "/"):
        status, body = unsigned(server, "GET", "s3.localhost", path)
        assert (status, code_of(body)) == (403, "AccessDenied"), path
    # Another account's signed requests are not the anonymous': B reads public/ by the same statement.
    b = client("s3", server.endpoint, ACCOUNT_B)
    assert b.get_object(Bucket=name, Key="public/page.html")["Body"].read() == b"<p>hello</p>"
    assert refused(b.get_object, Bucket=name, Key="public/secret")[:2] == ("AccessDenied", 403)
