"""Every request is signed with a key Lamina knows: boto3, the AWS CLI, raw HTTP, presigned URLs,
each service's refusals as botocore reads them, the development pair's bounds, and from inside a
function."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lamina.identity.signing import Credentials, presign, sign
from tests import signing
from tests.conftest import LaminaProcess, deploy
from tests.roles import make_role

VENV_BIN = Path(sys.executable).parent
ACCOUNT = "123456789012"
ROOT_A = ("AKIAROOTKEYA00000001", "secret-of-root-key-a/0123456789abcdefgh")
ROOT_B = ("AKIAROOTKEYB00000002", "secret-of-root-key-b/0123456789abcdefgh")
KEYS = f"{ROOT_A[0]}:{ROOT_A[1]}:{ACCOUNT},{ROOT_B[0]}:{ROOT_B[1]}:{ACCOUNT}"


def client(service: str, endpoint: str, key: str = "test", secret: str = "test", **config: Any) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=config.pop("region", "us-east-1"),
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        aws_session_token=config.pop("token", None),
                        config=Config(retries={"max_attempts": 0}, **config))  # fmt: skip


def refused(call: Any, *args: Any, **kwargs: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    error = info.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"], error["Error"].get("Message", "")


def raw(endpoint: str, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> (
        tuple[int, dict[str, str], bytes]):  # fmt: skip
    parts = urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A server with two configured root keys (no development pair)."""
    from tests.conftest import server_env

    server = LaminaProcess(tmp_path_factory.mktemp("keyed"), server_env(LAMINA_ACCESS_KEYS=KEYS)).start()
    yield server
    server.stop()


# -- what passes ----------------------------------------------------------------------------------


def test_boto3_and_the_aws_cli_with_the_right_keys_pass(lamina: LaminaProcess, tmp_path: Path) -> None:
    assert "Functions" in client("lambda", lamina.endpoint).list_functions()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
    ok = subprocess.run([str(VENV_BIN / "aws"), "--endpoint-url", lamina.endpoint, "lambda", "list-functions"],
                        capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert ok.returncode == 0 and "Functions" in ok.stdout, ok.stderr
    bad = subprocess.run([str(VENV_BIN / "aws"), "--endpoint-url", lamina.endpoint, "lambda", "list-functions"],
                         capture_output=True, text=True, env={**env, "AWS_SECRET_ACCESS_KEY": "wrong"},
                         timeout=120)  # fmt: skip
    assert bad.returncode != 0 and "InvalidSignatureException" in bad.stderr


def test_configured_root_keys_pass_and_say_who_signed(keyed: LaminaProcess) -> None:
    for key, secret in (ROOT_A, ROOT_B):
        assert "Functions" in client("lambda", keyed.endpoint, key, secret).list_functions()
    sqs = client("sqs", keyed.endpoint, *ROOT_A)
    url = sqs.create_queue(QueueName="signed-by-a")["QueueUrl"]
    assert f"/{ACCOUNT}/signed-by-a" in url  # the account is the key's


# -- what is refused, in each service's words ----------------------------------------------------------


def test_unsigned_requests_are_refused(lamina: LaminaProcess) -> None:
    status, headers, body = raw(lamina.endpoint, "GET", "/2015-03-31/functions/")
    assert (status, headers["x-amzn-errortype"]) == (403, "MissingAuthenticationTokenException")
    assert json.loads(body)["message"] == "Missing Authentication Token"
    status, headers, body = raw(lamina.endpoint, "POST", "/2015-03-31/functions/any/invocations", b"{}")
    assert (status, headers["x-amzn-errortype"]) == (403, "MissingAuthenticationTokenException")  # the front door's
    status, _, body = raw(lamina.endpoint, "POST", "/", b"{}", {"X-Amz-Target": "AmazonSQS.ListQueues",
                                                             "Content-Type": "application/x-amz-json-1.0"})
    assert status == 403 and json.loads(body)["__type"] == "MissingAuthenticationToken"
    status, _, _ = raw(lamina.endpoint, "GET", "/lamina/v1/health")
    assert status == 200  # the health check is not signed


def test_a_wrong_secret_is_a_signature_mismatch_in_each_service(lamina: LaminaProcess) -> None:
    e = lamina.endpoint
    mismatch = ("The request signature we calculated does not match the signature you provided. Check your AWS "
                "Secret Access Key and signing method. Consult the service documentation for details.")  # fmt: skip
    assert refused(client("lambda", e, secret="wrong").list_functions) == ("InvalidSignatureException", 403, mismatch)
    assert refused(client("lambda", e, secret="wrong").invoke, FunctionName="x", Payload=b"{}")[:2] == (
        "InvalidSignatureException", 403)  # the front door's Invoke
    assert refused(client("sqs", e, secret="wrong").list_queues)[:2] == ("SignatureDoesNotMatch", 403)
    assert refused(client("events", e, secret="wrong").list_rules)[:2] == ("InvalidSignatureException", 400)
    assert refused(client("scheduler", e, secret="wrong").list_schedules)[:2] == ("InvalidSignatureException", 403)
    assert refused(client("iot", e, secret="wrong").list_topic_rules)[:2] == ("InvalidSignatureException", 403)
    assert refused(client("apigateway", e, secret="wrong").get_rest_apis)[:2] == ("InvalidSignatureException", 403)
    code, status, _ = refused(client("s3", e, secret="wrong").list_buckets)
    assert (code, status) == ("SignatureDoesNotMatch", 403)


def rescoped(made: Any, service: str) -> Any:
    """``made`` (a boto3 client) signing for ``service`` instead of its own: the scope botocore's
    signer takes from the request's context, as endpoint rules set it."""

    def rescope(request: Any, **_: Any) -> None:
        request.context.setdefault("signing", {})["signing_name"] = service

    made.meta.events.register("before-sign", rescope)
    return made


def scoped(service: str) -> str:
    return f"Credential should be scoped to correct service: '{service}'. "


def test_a_signature_scoped_to_another_service_is_refused_in_each_service(lamina: LaminaProcess) -> None:
    e = lamina.endpoint
    lam = rescoped(client("lambda", e), "execute-api")
    assert refused(lam.list_functions) == ("InvalidSignatureException", 403, scoped("lambda"))
    for wrong in ("execute-api", "s3", "sqs"):  # the front door's Invoke: S3's scope too
        assert refused(rescoped(client("lambda", e), wrong).invoke, FunctionName="x", Payload=b"{}") == (
            "InvalidSignatureException", 403, scoped("lambda"))
    assert refused(rescoped(client("lambda", e), "sqs").invoke, FunctionName="x", InvocationType="Event",
                   Payload=b"{}") == ("InvalidSignatureException", 403, scoped("lambda"))  # fmt: skip
    assert refused(rescoped(client("lambda", e), "lambda-url").get_account_settings) == (
        "InvalidSignatureException", 403, scoped("lambda"))
    assert refused(rescoped(client("sqs", e), "lambda").list_queues) == ("SignatureDoesNotMatch", 403, scoped("sqs"))
    assert refused(rescoped(client("events", e), "lambda").list_rules) == (
        "InvalidSignatureException", 400, scoped("events"))
    assert refused(rescoped(client("logs", e), "events").describe_log_groups) == (
        "InvalidSignatureException", 400, scoped("logs"))
    assert refused(rescoped(client("cloudwatch", e), "logs").list_metrics) == (
        "InvalidSignatureException", 400, scoped("monitoring"))
    assert refused(rescoped(client("scheduler", e), "lambda").list_schedules) == (
        "InvalidSignatureException", 403, scoped("scheduler"))
    assert refused(rescoped(client("iot", e), "lambda").list_topic_rules) == (
        "InvalidSignatureException", 403, scoped("iot"))
    assert refused(rescoped(client("apigateway", e), "execute-api").get_rest_apis) == (
        "InvalidSignatureException", 403, scoped("apigateway"))
    assert refused(rescoped(client("apigatewayv2", e), "lambda").get_apis) == (
        "InvalidSignatureException", 403, scoped("apigateway"))
    assert refused(rescoped(client("sts", e), "lambda").get_caller_identity) == (
        "SignatureDoesNotMatch", 403, scoped("sts"))
    assert refused(rescoped(client("iam", e), "sts").list_users) == ("SignatureDoesNotMatch", 403, scoped("iam"))
    # Each, scoped to its own service, is answered.
    for service, call in (("lambda", "list_functions"), ("sqs", "list_queues"), ("events", "list_rules"),
                          ("logs", "describe_log_groups"), ("cloudwatch", "list_metrics"),
                          ("scheduler", "list_schedules"), ("iot", "list_topic_rules"),
                          ("apigateway", "get_rest_apis"), ("apigatewayv2", "get_apis"),
                          ("sts", "get_caller_identity"), ("iam", "list_users")):  # fmt: skip
        assert getattr(client(service, e), call)()["ResponseMetadata"]["HTTPStatusCode"] == 200, service


def s3_error(body: bytes) -> tuple[str, str]:
    """(Code, Message) of S3's XML error."""
    error = ElementTree.fromstring(body)
    return error.findtext("Code") or "", error.findtext("Message") or ""


def test_s3_refuses_a_signature_scoped_to_another_service(lamina: LaminaProcess) -> None:
    port = urlsplit(lamina.endpoint).port
    url, host = f"http://s3.localhost:{port}/any-bucket", f"s3.localhost:{port}"
    status, _, body = raw(lamina.endpoint, "GET", "/any-bucket", headers={
        "Host": host, **signing.headers("GET", url, service="lambda")})  # fmt: skip
    assert status == 400 and s3_error(body) == ("AuthorizationHeaderMalformed", 'The authorization header is '
                                                'malformed; incorrect service "lambda". This endpoint belongs to "s3".')
    presigned = presign("GET", url, Credentials("test", "test"), region="us-east-1", service="execute-api")
    status, _, body = raw(lamina.endpoint, "GET", presigned.partition(host)[2], headers={"Host": host})
    assert status == 400 and s3_error(body) == ("AuthorizationQueryParametersError", 'Error parsing the '
                                                'X-Amz-Credential parameter; incorrect service "execute-api". This '
                                                'endpoint belongs to "s3".')  # fmt: skip
    # A scope's service is what the client sent: quoted back cut short, escaped in S3's XML.
    hostile = presigned.replace("%2Fexecute-api%2F", "%2F" + "%3C%26x" * 100 + "%2F")
    status, _, body = raw(lamina.endpoint, "GET", hostile.partition(host)[2], headers={"Host": host})
    assert status == 400 and f'service "{("<&x" * 100)[:64]}".' in s3_error(body)[1] and len(body) < 2000, body
    # Scoped to S3, the same request is S3's to answer.
    status, _, body = raw(lamina.endpoint, "GET", "/any-bucket", headers={
        "Host": host, **signing.headers("GET", url, service="s3")})  # fmt: skip
    assert status == 404 and s3_error(body)[0] == "NoSuchBucket", body


def test_an_unknown_key_is_refused_in_each_service(lamina: LaminaProcess) -> None:
    e, who = lamina.endpoint, "AKIANOBODY0000000000"
    invalid = "The security token included in the request is invalid."
    assert refused(client("lambda", e, who).list_functions) == ("UnrecognizedClientException", 403, invalid)
    assert refused(client("sqs", e, who).list_queues) == ("InvalidClientTokenId", 403, invalid)
    assert refused(client("events", e, who).list_rules) == ("UnrecognizedClientException", 400, invalid)
    s3 = client("s3", e, who)
    with pytest.raises(ClientError) as info:
        s3.list_buckets()
    assert info.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    assert info.value.response["Error"]["AWSAccessKeyId"] == who


def test_tampered_body_and_path_are_refused(lamina: LaminaProcess) -> None:
    url = f"{lamina.endpoint}/2015-03-31/functions/a/configuration"
    signed = signing.headers("PUT", url, b'{"Timeout": 3}', {"Content-Type": "application/json"})
    status, headers, _ = raw(lamina.endpoint, "PUT", "/2015-03-31/functions/a/configuration", b'{"Timeout": 9}',
                             {"Content-Type": "application/json", **signed})  # fmt: skip
    assert (status, headers["x-amzn-errortype"]) == (403, "InvalidSignatureException")
    status, headers, _ = raw(lamina.endpoint, "PUT", "/2015-03-31/functions/b/configuration", b'{"Timeout": 3}',
                             {"Content-Type": "application/json", **signed})  # fmt: skip
    assert (status, headers["x-amzn-errortype"]) == (403, "InvalidSignatureException")
    # The same request untampered passes the signature (and then finds no such function).
    status, headers, _ = raw(lamina.endpoint, "PUT", "/2015-03-31/functions/a/configuration", b'{"Timeout": 3}',
                             {"Content-Type": "application/json", **signed})  # fmt: skip
    assert (status, headers["x-amzn-errortype"]) == (404, "ResourceNotFoundException")


def test_a_skewed_clock_is_refused(lamina: LaminaProcess) -> None:
    url = f"{lamina.endpoint}/2015-03-31/functions/"
    past = datetime.now(timezone.utc) - timedelta(minutes=6)
    old = sign("GET", url, {}, b"", Credentials("test", "test"), region="us-east-1", now=past)
    status, headers, body = raw(lamina.endpoint, "GET", "/2015-03-31/functions/", headers=old)
    assert (status, headers["x-amzn-errortype"]) == (403, "InvalidSignatureException")
    message = json.loads(body)["message"]
    assert message.startswith(f"Signature expired: {old['X-Amz-Date']} is now earlier than ") and "- 5 min.)" in message
    # S3 allows 15 minutes, then answers RequestTimeTooSkewed.
    s3_old = signing.headers("GET", f"{lamina.endpoint}/", service="s3")
    assert raw(lamina.endpoint, "GET", "/", headers=s3_old)[0] == 200
    later = datetime.now(timezone.utc) - timedelta(minutes=16)
    skewed = sign("GET", f"{lamina.endpoint}/", {"X-Amz-Content-SHA256": hashlib.sha256(b"").hexdigest()}, b"",
                  Credentials("test", "test"), region="us-east-1", service="s3", now=later)  # fmt: skip
    status, _, body = raw(lamina.endpoint, "GET", "/", headers={
        "X-Amz-Content-SHA256": hashlib.sha256(b"").hexdigest(), **skewed})  # fmt: skip
    assert status == 403 and b"<Code>RequestTimeTooSkewed</Code>" in body and b"<MaxAllowedSkewMilliseconds>900000" in body


def test_a_region_aws_does_not_have_is_refused(lamina: LaminaProcess) -> None:
    # Another of AWS's regions is another cell (tests/integration/test_accounts.py).
    code, status, message = refused(client("lambda", lamina.endpoint, region="xx-nowhere-9").list_functions)
    assert (code, status) == ("InvalidSignatureException", 403) and "Credential should be scoped" in message


def test_presigned_urls_work_until_they_expire(lamina: LaminaProcess) -> None:
    s3 = client("s3", lamina.endpoint, signature_version="s3v4")
    s3.create_bucket(Bucket="presigned-sigs")
    s3.put_object(Bucket="presigned-sigs", Key="a b/c.txt", Body=b"presigned")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "presigned-sigs", "Key": "a b/c.txt"}, ExpiresIn=60)
    with urllib.request.urlopen(url, timeout=30) as answer:
        assert answer.read() == b"presigned"
    lam = client("lambda", lamina.endpoint)
    listed = lam.generate_presigned_url("list_functions", Params={}, ExpiresIn=60)
    with urllib.request.urlopen(listed, timeout=30) as answer:
        assert "Functions" in json.loads(answer.read())
    then = datetime.now(timezone.utc) - timedelta(minutes=2)
    stale = presign("GET", f"{lamina.endpoint}/presigned-sigs/a%20b/c.txt", Credentials("test", "test"),
                    region="us-east-1", service="s3", expires_seconds=60, now=then)  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(stale, timeout=30)
    with info.value:
        body = info.value.read()
    assert info.value.code == 403 and b"<Code>AccessDenied</Code>" in body and b"Request has expired" in body
    stale_lambda = presign("GET", f"{lamina.endpoint}/2015-03-31/functions/", Credentials("test", "test"),
                           region="us-east-1", expires_seconds=60, now=then)  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(stale_lambda, timeout=30)
    info.value.close()
    assert (info.value.code, info.value.headers["X-Amzn-ErrorType"]) == (403, "InvalidSignatureException")


def test_a_token_with_a_long_term_key_is_refused(keyed: LaminaProcess) -> None:
    made_up = client("lambda", keyed.endpoint, *ROOT_A, token="not-a-session-token")
    assert refused(made_up.list_functions)[:2] == ("UnrecognizedClientException", 403)


def test_the_development_pair_is_refused_where_keys_are_configured(keyed: LaminaProcess) -> None:
    assert refused(client("lambda", keyed.endpoint).list_functions)[:2] == ("UnrecognizedClientException", 403)
    assert refused(client("lambda", keyed.endpoint).invoke, FunctionName="x")[:2] == ("UnrecognizedClientException", 403)


def test_start_up_is_refused_off_loopback_without_keys(tmp_path: Path) -> None:
    from tests.conftest import server_env

    started = subprocess.run([sys.executable, "-m", "lamina", "server", "--host", "0.0.0.0", "--port", "0",
                              "--data-dir", str(tmp_path / "data")], capture_output=True, text=True,
                             env=server_env(), timeout=60)  # fmt: skip
    assert started.returncode == 2
    assert "LAMINA_ACCESS_KEYS" in started.stderr and "Traceback" not in started.stderr
    off = subprocess.run([sys.executable, "-m", "lamina", "server", "--host", "0.0.0.0", "--port", "0",
                          "--data-dir", str(tmp_path / "data")], capture_output=True, text=True,
                         env=server_env(LAMINA_ACCESS_KEYS=KEYS, LAMINA_VERIFY_SIGNATURES="off"), timeout=60)  # fmt: skip
    assert off.returncode == 2 and "LAMINA_VERIFY_SIGNATURES" in off.stderr


def test_aws_iam_function_urls_verify_against_the_configured_keys(keyed: LaminaProcess, fn_name: str) -> None:
    lam = client("lambda", keyed.endpoint, *ROOT_A)
    # Outside the development mode a function's role must exist in its account and trust Lambda.
    role = make_role(keyed.endpoint, "url-fn", [], key=ROOT_A[0], secret=ROOT_A[1])
    deploy(lam, fn_name, "def handler(event, context):\n    return event['requestContext']['authorizer']['iam']['userArn']\n",
           role=role)
    url_id = lam.create_function_url_config(FunctionName=fn_name, AuthType="AWS_IAM")["FunctionUrl"].split("//")[1].split(".")[0]
    path = f"/lamina/v1/urls/{url_id}/"
    good = signing.headers("GET", keyed.endpoint + path, key=ROOT_B[0], secret=ROOT_B[1])
    status, _, body = raw(keyed.endpoint, "GET", path, headers=good)
    assert (status, body) == (200, f"arn:aws:iam::{ACCOUNT}:root".encode())
    dev = signing.headers("GET", keyed.endpoint + path)
    assert raw(keyed.endpoint, "GET", path, headers=dev)[0] == 403


def test_code_locations_are_presigned(lamina: LaminaProcess, fn_name: str) -> None:
    lam = client("lambda", lamina.endpoint)
    deploy(lam, fn_name, "def handler(event, context):\n    return 1\n")
    location = lam.get_function(FunctionName=fn_name)["Code"]["Location"]
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=600" in location
    with urllib.request.urlopen(location, timeout=30) as answer:
        assert answer.read()[:2] == b"PK"
    bare = location.partition("?")[0]
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(bare, timeout=30)
    info.value.close()
    assert info.value.code == 403


REPLAY = """
import json, urllib.error, urllib.request
def handler(event, context):
    request = urllib.request.Request(event["url"], headers=event["headers"])
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return {"status": answer.status}
    except urllib.error.HTTPError as error:
        return {"status": error.code, "type": error.headers.get("X-Amzn-ErrorType")}
"""


def test_the_development_pair_is_refused_inside_functions(lamina: LaminaProcess, fn_name: str) -> None:
    """A request signed with test/test for Lamina's address is good outside, refused from inside a
    function (whose namespace reaches the same address)."""
    lam = client("lambda", lamina.endpoint)
    deploy(lam, fn_name, REPLAY, Timeout=30)
    port = urlsplit(lamina.endpoint).port
    url = f"http://127.0.0.1:{port}/2015-03-31/functions/"
    headers = signing.headers("GET", url)
    assert raw(lamina.endpoint, "GET", "/2015-03-31/functions/", headers=headers)[0] == 200
    got = lam.invoke(FunctionName=fn_name, Payload=json.dumps({"url": url, "headers": headers}).encode())
    assert json.loads(got["Payload"].read()) == {"status": 403, "type": "UnrecognizedClientException"}


def test_the_data_directory_is_lamina_s_alone(lamina: LaminaProcess, fn_name: str) -> None:
    deploy(client("lambda", lamina.endpoint), fn_name, "def handler(event, context):\n    return 1\n")
    assert stat.S_IMODE(lamina.data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((lamina.data_dir / "lamina.db").stat().st_mode) == 0o600
    zips = list((lamina.data_dir / "code").rglob("*.zip"))
    assert zips and all(stat.S_IMODE(z.stat().st_mode) & 0o077 == 0 for z in zips)


def test_s3_bodies_must_be_the_ones_signed(lamina: LaminaProcess) -> None:
    client("s3", lamina.endpoint).create_bucket(Bucket="hashed-bodies")
    host = urlsplit(lamina.endpoint).netloc
    tagging = (b'<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>k</Key><Value>v</Value>'
               b"</Tag></TagSet></Tagging>")  # fmt: skip
    other = hashlib.sha256(tagging.replace(b">v<", b">w<")).hexdigest()
    for path, body in (("/hashed-bodies?tagging", tagging), ("/hashed-bodies/object", b"object body")):
        declared = {"X-Amz-Content-SHA256": other}
        signed = sign("PUT", f"http://{host}{path}", declared, b"", Credentials("test", "test"), region="us-east-1",
                      service="s3")  # fmt: skip
        status, _, answer = raw(lamina.endpoint, "PUT", path, body, {**declared, **signed})
        assert status == 400 and b"<Code>XAmzContentSHA256Mismatch</Code>" in answer, answer
    keys = [o["Key"] for o in client("s3", lamina.endpoint).list_objects_v2(Bucket="hashed-bodies").get("Contents", [])]
    assert keys == []


def test_s3_says_what_it_expected_the_signature_to_cover(lamina: LaminaProcess) -> None:
    s3 = client("s3", lamina.endpoint, secret="wrong")
    with pytest.raises(ClientError) as info:
        s3.list_objects_v2(Bucket="any-bucket-name")
    error = info.value.response["Error"]
    assert error["Code"] == "SignatureDoesNotMatch" and error["AWSAccessKeyId"] == "test"
    assert error["CanonicalRequest"].startswith("GET\n/any-bucket-name\nencoding-type=url&list-type=2\nhost:")
    assert error["StringToSign"].startswith("AWS4-HMAC-SHA256\n")
