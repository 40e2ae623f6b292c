"""The web console (/console/) against a real server: its JSON endpoints and their access rules
without a browser, and the page in Debian's Chromium driven by playwright-core (installed by
scripts/install/chromium.sh and scripts/install/console.sh, which scripts/test runs): the function
list, an invocation from the form, seen in the chart's data and the live log tail. With
LAMINA_CONSOLE_SCREENSHOTS=1 the browser test also saves its screenshots into docs/console/ (as
the docs' were made)."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess, deploy, server_env
from tests.functions import arn, invoke, wait_until
from tests.objects import s3_client

ROOT = Path(__file__).resolve().parents[2]
MODULES = ROOT / "console" / "node_modules"
SHOTS = ROOT / "docs" / "console"
CHROMIUM = shutil.which("chromium")
HELLO = "def handler(event, context):\n    print('hello from', event)\n    return {'hello': event.get('name')}\n"
SOMETIMES_FAILING = """
def handler(event, context):
    print('hello from', event)
    if event.get('fail'):
        raise RuntimeError('asked to fail')
    return {'hello': event.get('name')}
"""
FAILING = "def handler(event, context):\n    raise ValueError('boom')\n"
# What a function reaches of Lamina's API from inside its environment: not the console.
PEEK = """
import os, urllib.request, urllib.error
def handler(event, context):
    try:
        with urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"] + event["path"], timeout=5) as r:
            return {"status": r.status, "body": r.read(2000).decode(errors="replace")}
    except urllib.error.HTTPError as e:
        return {"status": e.code, "body": e.read(2000).decode(errors="replace")}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:
    started = LaminaProcess(tmp_path_factory.mktemp("console"), server_env()).start()
    yield started
    started.stop()


def request(endpoint: str, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    """One request as sent (no client adds or normalizes a header or the path)."""
    address = urlsplit(endpoint)
    conn = http.client.HTTPConnection(address.hostname or "", address.port, timeout=60)
    try:
        conn.putrequest(method, path, skip_host="Host" in (headers or {}), skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def get(endpoint: str, path: str, **headers: str) -> tuple[int, Any]:
    status, _, body = request(endpoint, "GET", path, headers=headers)
    return status, json.loads(body) if body.startswith(b"{") else body


def page_token(endpoint: str, **headers: str) -> str:
    status, _, body = request(endpoint, "GET", "/console/", headers=headers)
    assert status == 200, body
    found = re.search(rb'<meta name="lamina-console-token" content="([^"]+)">', body)
    assert found is not None
    return found.group(1).decode()


def post_invoke(endpoint: str, name: str, doc: object, *, token: str | None, origin: str | None = "",
                content_type: str = "application/json", raw: bytes | None = None) -> tuple[int, Any]:  # fmt: skip
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["X-Lamina-Console-Token"] = token
    if origin is not None:
        headers["Origin"] = origin or endpoint
    body = raw if raw is not None else json.dumps(doc).encode()
    status, _, answer = request(endpoint, "POST", f"/console/api/functions/{name}/invoke", body, headers)
    return status, json.loads(answer)


# -- the JSON endpoints ---------------------------------------------------------------------------


def test_functions_detail_series_and_logs_show_what_was_invoked(server: LaminaProcess, fn_name: str) -> None:
    client = server.client()
    deploy(client, fn_name, HELLO, MemorySize=256)
    client.publish_version(FunctionName=fn_name, Description="first")
    client.create_alias(FunctionName=fn_name, Name="live", FunctionVersion="1")
    _, cursor_doc = get(server.endpoint, f"/console/api/functions/{fn_name}/logs")
    for i in range(3):
        invoke(client, fn_name, {"name": f"n{i}"})
    token = page_token(server.endpoint)
    status, result = post_invoke(server.endpoint, fn_name, {"payload": '{"name": "console"}', "qualifier": "live"},
                                 token=token)  # fmt: skip
    assert status == 200, result
    assert result["status"] == 200 and json.loads(result["payload"]) == {"hello": "console"}
    assert result["executedVersion"] == "1" and result["functionError"] is None
    assert f"REPORT RequestId: {result['requestId']}" in result["logTail"]

    status, listing = get(server.endpoint, "/console/api/functions")
    assert status == 200
    mine = next(f for f in listing["functions"] if f["name"] == fn_name)
    assert mine["state"] == "Active" and mine["runtime"] == "python3.11" and mine["memory"] == 256

    status, detail = get(server.endpoint, f"/console/api/functions/{fn_name}")
    assert status == 200
    assert [v["version"] for v in detail["versions"]] == ["1"] and detail["versions"][0]["description"] == "first"
    assert detail["aliases"] == [{"name": "live", "functionVersion": "1", "weights": {}, "description": ""}]
    assert detail["triggers"] == {"mappings": [], "urls": [], "rules": []}
    assert detail["queue"]["depth"] == 0 and detail["deadLetters"] == []

    def counted() -> dict[str, Any] | None:
        doc = get(server.endpoint, f"/console/api/functions/{fn_name}/series?minutes=5")[1]
        return doc if sum(doc["invocations"]) == 4 else None

    series = wait_until(counted)
    assert len(series["minutes"]) == 5 and sum(series["errors"]) == 0
    assert sum(series["coldStarts"]) >= 1  # the first invocation started an environment
    assert sum(series["cost"]) > 4 * 0.20 / 1_000_000  # the requests, and their GB-seconds
    assert max(p for p in series["p99"] if p is not None) > 0

    # The live tail: from the cursor of the first read, the lines that came after.
    status, tail = get(server.endpoint, f"/console/api/functions/{fn_name}/logs?since={cursor_doc['nextCursor']}&wait=10")
    assert status == 200
    text = "".join(e["message"] for e in tail["events"])
    assert "hello from {'name': 'n0'}" in text
    status, recent = get(server.endpoint, f"/console/api/functions/{fn_name}/logs")
    assert status == 200 and recent["nextCursor"] >= tail["nextCursor"]


def test_errors_are_counted_and_triggers_listed(server: LaminaProcess, fn_name: str) -> None:
    client = server.client()
    deploy(client, fn_name, FAILING)
    client.create_function_url_config(FunctionName=fn_name, AuthType="NONE")
    status, result = post_invoke(server.endpoint, fn_name, {"payload": "{}"}, token=page_token(server.endpoint))
    assert status == 200 and result["functionError"] == "Unhandled" and "boom" in result["payload"]

    def counted() -> dict[str, Any] | None:
        doc = get(server.endpoint, f"/console/api/functions/{fn_name}/series")[1]
        return doc if sum(doc["errors"]) == 1 else None

    series = wait_until(counted)
    assert sum(series["invocations"]) == 1 and len(series["minutes"]) == 60
    client.publish_version(FunctionName=fn_name)
    client.create_alias(FunctionName=fn_name, Name="prod", FunctionVersion="1")
    sqs = boto3.client("sqs", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test",
                       aws_secret_access_key="test")  # fmt: skip
    queue = sqs.create_queue(QueueName=f"{fn_name}-source")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    client.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=queue_arn, BatchSize=5, Enabled=False)
    events = boto3.client("events", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")  # fmt: skip
    events.put_rule(Name=f"{fn_name}-rule", EventPattern='{"source": ["console.test"]}')
    events.put_targets(Rule=f"{fn_name}-rule", Targets=[{"Id": "1", "Arn": f"{arn(fn_name)}:prod"}])
    detail = get(server.endpoint, f"/console/api/functions/{fn_name}")[1]
    [url] = detail["triggers"]["urls"]
    assert url["authType"] == "NONE" and ".lambda-url." in url["url"]
    [mapping] = detail["triggers"]["mappings"]
    assert mapping["kind"] == "sqs" and mapping["source"] == queue_arn and mapping["batchSize"] == 5
    assert detail["triggers"]["rules"] == [{"bus": "default", "rule": f"{fn_name}-rule", "qualifier": "prod"}]


def test_dead_letters_waiting_in_the_outbox_are_shown(server: LaminaProcess, fn_name: str) -> None:
    client = server.client()
    topic = f"arn:aws:sns:us-east-1:000000000000:{fn_name}-dead-letters"  # SNS: kept in the outbox
    deploy(client, fn_name, FAILING, DeadLetterConfig={"TargetArn": topic})
    client.put_function_event_invoke_config(FunctionName=fn_name, MaximumRetryAttempts=0)
    accepted = client.invoke(FunctionName=fn_name, InvocationType="Event", Payload=b'{"order": 7}')
    request_id = accepted["ResponseMetadata"]["RequestId"]

    def letters() -> list[dict[str, Any]] | None:
        found = get(server.endpoint, f"/console/api/functions/{fn_name}")[1]["deadLetters"]
        return found or None

    [letter] = wait_until(letters)
    assert letter["kind"] == "dead-letter" and letter["target"] == topic and letter["requestId"] == request_id
    assert json.loads(letter["body"]) == {"order": 7}
    assert letter["attributes"]["ErrorMessage"]["StringValue"] == "boom"


def test_an_unknown_function_is_404_everywhere(server: LaminaProcess) -> None:
    for path in ["/console/api/functions/nope", "/console/api/functions/nope/series", "/console/api/functions/nope/logs",
                 "/console/api/functions/nope/logs?since=0&wait=0"]:  # fmt: skip
        status, doc = get(server.endpoint, path)
        assert status == 404 and doc["error"] == "ResourceNotFoundException", (path, doc)
    status, doc = post_invoke(server.endpoint, "nope", {"payload": "{}"}, token=page_token(server.endpoint))
    assert status == 404 and doc["error"] == "ResourceNotFoundException"


def test_hostile_parameters_and_bodies_are_refused(server: LaminaProcess, fn_name: str) -> None:
    deploy(server.client(), fn_name, HELLO)
    for query in ["minutes=0", "minutes=1441", "minutes=abc", "minutes=-5", "minutes=1e3", "minutes=%C2%B2"]:
        status, doc = get(server.endpoint, f"/console/api/functions/{fn_name}/series?{query}")
        assert status == 400 and doc["error"] == "InvalidParameterValueException", query
    for query in ["since=-1", "since=x", "since=0&wait=26", f"since={2**63}"]:
        status, doc = get(server.endpoint, f"/console/api/functions/{fn_name}/logs?{query}")
        assert status == 400, query
    token = page_token(server.endpoint)
    for raw in [b"not json", b"\xff\xfe", b"[]", b'{"payload": {"a": 1}}', b'{"payload": "{}", "qualifier": 3}', b""]:
        status, doc = post_invoke(server.endpoint, fn_name, None, token=token, raw=raw)
        assert status == 400 and doc["error"] == "InvalidRequestContentException", raw
    status, doc = post_invoke(server.endpoint, fn_name, {"payload": "{not json"}, token=token)
    assert status == 400 and doc["error"] == "InvalidRequestContentException"
    status, doc = post_invoke(server.endpoint, fn_name, {"payload": "{}", "qualifier": "../../x"}, token=token)
    assert status in (400, 404)
    status, doc = post_invoke(server.endpoint, fn_name, None, token=token, raw=b'{"payload": "' + b"a" * (8 << 20) + b'"}')
    assert status == 413


def test_posts_without_the_pages_token_its_origin_or_json_are_refused(server: LaminaProcess, fn_name: str) -> None:
    client = server.client()
    deploy(client, fn_name, HELLO)
    token = page_token(server.endpoint)
    doc = {"payload": "{}"}
    for kwargs in [dict(token=None), dict(token="wrong"), dict(token=token[:-1]), dict(token=token, origin=None),
                   dict(token=token, origin="http://evil.example"), dict(token=token, origin="null"),
                   dict(token=token, content_type="text/plain"),
                   dict(token=token, content_type="application/x-www-form-urlencoded")]:  # fmt: skip
        status, answer = post_invoke(server.endpoint, fn_name, doc, **kwargs)  # type: ignore[arg-type]
        assert status == 403 and answer["error"] == "Forbidden", kwargs
    # None of them ran the function.
    status, series = get(server.endpoint, f"/console/api/functions/{fn_name}/series")
    assert sum(series["invocations"]) == 0


def test_other_host_names_are_refused_and_nothing_is_signed_for(server: LaminaProcess) -> None:
    for host in ["evil.example", "evil.example:80", "127.0.0.1.nip.example"]:
        for path in ["/console/", "/console/api/functions", "/console/assets/app.js"]:
            status, _, body = request(server.endpoint, "GET", path, headers={"Host": host})
            assert status == 403 and b"loopback host" in body, (host, path)
    status, headers, body = request(server.endpoint, "GET", "/console")
    assert status == 302 and headers["location"] == "/console/"
    status, headers, body = request(server.endpoint, "GET", "/console/")
    assert status == 200 and b"/console/assets/app.js" in body
    policy = headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert headers["x-frame-options"] == "DENY"


def test_asset_path_tricks_serve_nothing_else(server: LaminaProcess) -> None:
    status, headers, body = request(server.endpoint, "GET", "/console/assets/app.js")
    assert status == 200 and headers["content-type"].startswith("text/javascript") and b"preact" in body
    for path in ["/console/assets/../../api/console.py", "/console/assets/%2e%2e/page.py", "/console/assets/page.py",
                 "/console/assets/__init__.py", "/console/assets/vendor/.built", "/console/assets/vendor/%2e%2e/page.py",
                 "/console/assets/vendor/..%2f..%2fpage.py", "/console/assets/..%2f__init__.py",
                 "/console/assets/%2fetc%2fpasswd", "/console/assets/vendor/LICENSE.preact",
                 "/console/assets/" + "a" * 5000 + ".js"]:  # fmt: skip
        status, _, body = request(server.endpoint, "GET", path)
        assert status in (400, 404), (path, status)
        assert b"def " not in body and b"root:" not in body, path


def test_environments_do_not_reach_the_console(server: LaminaProcess, fn_name: str) -> None:
    client = server.client()
    deploy(client, fn_name, PEEK)
    for path in ["/console/", "/console/api/functions", "/console/api/cells", "/console/api/overview",
                 "/console/api/usage?cell=all", "/console/api/stats"]:  # fmt: skip
        _, body, _ = invoke(client, fn_name, {"path": path})
        assert body["status"] in (403, 404) and fn_name not in body["body"] and "lamina-console-token" not in body["body"]
        assert "000000000000" not in body["body"], path  # no cell's name


def test_a_bucket_named_like_an_unsigned_path_is_still_verified(server: LaminaProcess) -> None:
    s3 = s3_client(server.endpoint)
    # Only one bucket can be called "console" (or "metrics") per server: this test owns them.
    s3.create_bucket(Bucket="console")
    s3.put_object(Bucket="console", Key="secret.txt", Body=b"classified")
    forger = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="wrong")  # signed, but not with test's secret  # fmt: skip
    with pytest.raises(ClientError) as refused:
        forger.get_object(Bucket="console", Key="secret.txt")
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert s3.get_object(Bucket="console", Key="secret.txt")["Body"].read() == b"classified"
    # GET /metrics, signed for S3, is the bucket "metrics"'s listing: verified too.
    s3.create_bucket(Bucket="metrics")
    with pytest.raises(ClientError) as refused:
        forger.list_objects(Bucket="metrics")
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_a_token_opens_the_console_and_nothing_else_does(server: LaminaProcess, tmp_path: Path, fn_name: str) -> None:
    other = server
    server = LaminaProcess(tmp_path / "data", server_env(LAMINA_CONSOLE_TOKEN="open-sesame")).start()
    try:
        # Each server makes its page's token when it starts: another server's is refused.
        theirs = page_token(other.endpoint)
        ours = page_token(server.endpoint, Authorization="Bearer open-sesame")
        assert theirs != ours
        deploy(server.client(), fn_name, HELLO)
        status, _, answer = request(server.endpoint, "POST", f"/console/api/functions/{fn_name}/invoke",
                                    b'{"payload": "{}"}', {"Authorization": "Bearer open-sesame",
                                                           "Content-Type": "application/json", "Origin": server.endpoint,
                                                           "X-Lamina-Console-Token": theirs})  # fmt: skip
        assert status == 403, answer
        status, _, answer = request(server.endpoint, "POST", f"/console/api/functions/{fn_name}/invoke",
                                    b'{"payload": "{}"}', {"Authorization": "Bearer open-sesame",
                                                           "Content-Type": "application/json", "Origin": server.endpoint,
                                                           "X-Lamina-Console-Token": ours})  # fmt: skip
        assert status == 200 and json.loads(answer)["status"] == 200
        status, doc = get(server.endpoint, "/console/api/functions")
        assert status == 401 and "LAMINA_CONSOLE_TOKEN" in doc["message"]
        status, doc = get(server.endpoint, "/console/api/functions", Authorization="Bearer open-sesame")
        assert status == 200 and [f["name"] for f in doc["functions"]] == [fn_name]
        status, headers, _ = request(server.endpoint, "GET", "/console/?token=wrong")
        assert status == 302 and "set-cookie" not in headers
        status, headers, _ = request(server.endpoint, "GET", "/console/?token=open-sesame")
        assert status == 302 and headers["location"] == "/console/"
        cookie = headers["set-cookie"]
        assert "lamina_console=open-sesame" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        status, doc = get(server.endpoint, "/console/api/functions", Cookie="lamina_console=open-sesame")
        assert status == 200
        status, _ = get(server.endpoint, "/console/api/functions", Cookie="lamina_console=open-sesam")
        assert status == 401
    finally:
        server.stop()


# -- in a browser ---------------------------------------------------------------------------------


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this host: run scripts/install/chromium.sh")
@pytest.mark.skipif(not (MODULES / "playwright-core").is_dir(), reason="no playwright-core: run scripts/install/console.sh")
def test_in_a_browser_an_invocation_from_the_form_shows_in_the_chart_and_the_logs(
        server: LaminaProcess, tmp_path: Path) -> None:  # fmt: skip
    name = "hello-console"
    client = server.client()
    deploy(client, name, SOMETIMES_FAILING, Description="The console's example", MemorySize=256)
    client.publish_version(FunctionName=name, Description="first release")
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    client.create_function_url_config(FunctionName=name, Qualifier="live", AuthType="AWS_IAM")
    for payload in [{"name": "boto3"}, {"name": "again"}, {"fail": True}]:
        invoke(client, name, payload)
    # The ledger is written in batches: the page's first chart is to count all three.
    wait_until(lambda: sum(get(server.endpoint, f"/console/api/functions/{name}/series")[1]["invocations"]) == 3)
    shots = tmp_path / "shots"
    shots.mkdir()
    env = {**os.environ, "NODE_PATH": str(MODULES), "LAMINA_CHROMIUM": CHROMIUM or ""}
    run = subprocess.run(
        ["node", str(Path(__file__).with_name("console_browser.cjs")), server.endpoint, name, '{"name": "browser"}',
         str(shots), str(tmp_path / "profile")],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["invocationsBefore"] == 3, seen
    assert name in seen["functions"]
    assert {c["id"]: c["canvas"] for c in seen["charts"]} == {"invocations": True, "duration": True,
                                                              "cold-starts": True, "cost": True}  # fmt: skip
    assert json.loads(seen["result"]) == {"hello": "browser"}
    assert seen["invocationsAfter"] == seen["invocationsBefore"] + 1
    assert seen["coldStarts"] >= 1
    assert f"REPORT RequestId: {seen['requestId']}" in seen["logs"] and "hello from {'name': 'browser'}" in seen["logs"]
    assert seen["invalidDisabled"] is True
    assert seen["errors"] == []
    # Everything the page loaded came from Lamina itself.
    assert seen["requests"] and all(url.startswith(server.endpoint + "/console/") for url in seen["requests"])
    assert sorted(shot.name for shot in shots.glob("*.png")) == ["function.png", "functions.png"]
    if os.environ.get("LAMINA_CONSOLE_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        for shot in shots.glob("*.png"):
            shutil.copyfile(shot, SHOTS / shot.name)
