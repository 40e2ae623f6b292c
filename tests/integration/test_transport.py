"""How a request arrived reaches what decides it and what the function is told, on a real server
with an HTTPS listener (LAMINA_TLS_PORT) beside its HTTP one: ``aws:SecureTransport`` (true over
TLS alone) and ``aws:SourceIp`` (the client's address) in the decisions of AWS_IAM function URLs
(whether the front door or aiohttp serves the request), of execute-api's AWS_IAM methods and routes
(identity policies, a REST API's resource policy) and of a role's trust policy (AssumeRole); and
``x-forwarded-proto: https`` with the TLS listener's port in ``x-forwarded-port`` in the events of
function URLs, HTTP APIs (payload 2.0 and 1.0) and REST APIs over TLS, ``http`` over plain HTTP.
Users and policies are made with boto3's iam client, requests signed with botocore's SigV4Auth."""

from __future__ import annotations

import http.client
import json
import ssl
from typing import Any, Iterator
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests import signing
from tests.conftest import LaminaProcess, deploy, server_env
from tests.integration.test_gateway_iam import APP, ROOT, ROOT_SECRET, STAGE, client, http_api, rest_api, user
from tests.integration.test_tls import ca_of, https_of
from tests.roles import make_role

ACCT = "111111111111"
HERE = "127.0.0.1/32"  # where the tests' requests come from: aws:SourceIp
ELSEWHERE = "10.0.0.0/8"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:
    env = server_env(LAMINA_ACCESS_KEYS=f"{ROOT}:{ROOT_SECRET}:{ACCT}", LAMINA_ACCOUNT_ID=ACCT, LAMINA_TLS_PORT="0")
    process = LaminaProcess(tmp_path_factory.mktemp("transport"), env).start()
    yield process
    process.stop()
    assert "Traceback" not in "".join(process.output), "".join(process.output)


@pytest.fixture(scope="module")
def function(server: LaminaProcess) -> str:
    """A function answering with the event it got (``event`` in its JSON body); its ARN. APIs of
    its account may invoke it."""
    lam = client(server.endpoint, "lambda")
    arn = str(deploy(lam, "shared", APP, role=make_role(server.endpoint, "transport-fn", [], key=ROOT,
                                                           secret=ROOT_SECRET))["FunctionArn"])  # fmt: skip
    lam.add_permission(FunctionName="shared", StatementId="apis", Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com", SourceArn=f"arn:aws:execute-api:us-east-1:{ACCT}:*")  # fmt: skip
    return arn


def base(server: LaminaProcess, secure: bool) -> str:
    return https_of(server) if secure else server.endpoint


def send(server: LaminaProcess, secure: bool, method: str, target: str, *, body: bytes = b"",
         signer: tuple[str, str] | None = None, service: str | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any]:  # fmt: skip
    """(status, JSON body or text) of ``method target`` over TLS (``secure``) or plain HTTP, signed
    by ``signer`` (key, secret) for ``service`` (None: as Lamina tells it from the request)."""
    url = base(server, secure) + target
    parts = urlsplit(url)
    sent = {"Host": parts.netloc, **(headers or {})}
    service = service or ("execute-api" if target.startswith("/_aws/execute-api/") else None)
    if signer is not None:
        sent.update(signing.headers(method, url, body, sent, service=service, key=signer[0], secret=signer[1]))
    conn: http.client.HTTPConnection
    if secure:
        context = ssl.create_default_context(cafile=str(ca_of(server)))
        conn = http.client.HTTPSConnection("127.0.0.1", parts.port, timeout=60, context=context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=60)
    try:
        conn.request(method, target, body=body or None, headers=sent)
        answer = conn.getresponse()
        raw = answer.read()
        try:
            return answer.status, json.loads(raw)
        except ValueError:
            return answer.status, raw.decode()
    finally:
        conn.close()


# Lent to aiohttp by the front door (a header it never serves), answered by aiohttp's middlewares.
THROUGH_AIOHTTP = {"Content-Encoding": "identity"}


def url_path(url: str) -> str:
    """A function URL's path form on Lamina's own address."""
    return f"/lamina/v1/urls/{url.split('//', 1)[1].split('.', 1)[0]}/"


def port(server: LaminaProcess, secure: bool) -> str:
    return str(urlsplit(base(server, secure)).port)


def test_an_aws_iam_urls_decision_knows_secure_transport_and_source_ip(server: LaminaProcess, function: str) -> None:
    lam, iam = client(server.endpoint, "lambda"), client(server.endpoint, "iam")
    guarded = url_path(lam.create_function_url_config(FunctionName="shared", AuthType="AWS_IAM")["FunctionUrl"])

    def invoke_url(condition: dict[str, Any] | None = None, effect: str = "Allow") -> dict[str, Any]:
        return {"Effect": effect, "Action": "lambda:InvokeFunctionUrl", "Resource": function,
                **({"Condition": condition} if condition else {})}  # fmt: skip

    # user -> (answer over TLS, answer over plain HTTP)
    expected = {
        user(iam, "url-tls-here", [invoke_url({"Bool": {"aws:SecureTransport": "true"},
                                               "IpAddress": {"aws:SourceIp": HERE}})]): (200, 403),  # fmt: skip
        user(iam, "url-elsewhere", [invoke_url({"IpAddress": {"aws:SourceIp": ELSEWHERE}})]): (403, 403),
        user(iam, "url-not-here", [invoke_url(), invoke_url({"IpAddress": {"aws:SourceIp": HERE}}, "Deny")]): (403, 403),
        user(iam, "url-not-plain", [invoke_url(), invoke_url({"Bool": {"aws:SecureTransport": "false"}}, "Deny")]):
            (200, 403),
        user(iam, "url-anyhow", [invoke_url({"NotIpAddress": {"aws:SourceIp": ELSEWHERE}})]): (200, 200),
    }  # fmt: skip
    for (arn, key, secret), (over_tls, over_http) in expected.items():
        for headers in ({}, THROUGH_AIOHTTP):  # the front door's, then aiohttp's
            for secure, status in ((True, over_tls), (False, over_http)):
                answer = send(server, secure, "POST", guarded, body=b"{}", signer=(key, secret), headers=headers)
                assert answer[0] == status, (arn, secure, headers, answer)
                if status == 403:
                    assert answer[1] == {"Message": "Forbidden"}


def test_an_aws_iam_methods_and_routes_decisions_know_secure_transport_and_source_ip(
        server: LaminaProcess, function: str) -> None:  # fmt: skip
    gw, v2, iam = client(server.endpoint, "apigateway"), client(server.endpoint, "apigatewayv2"), client(server.endpoint, "iam")
    rest, routed = rest_api(gw, function, auth="AWS_IAM"), http_api(v2, function, auth="AWS_IAM")
    invoke = {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}
    _, tls_only, tls_secret = user(iam, "api-tls-only", [{**invoke, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}])
    _, far, far_secret = user(iam, "api-elsewhere", [{**invoke, "Condition": {"IpAddress": {"aws:SourceIp": ELSEWHERE}}}])
    for target in (f"/_aws/execute-api/{rest}/{STAGE}/orders", f"/_aws/execute-api/{routed}/orders"):
        for headers in ({}, THROUGH_AIOHTTP):
            assert send(server, True, "GET", target, signer=(tls_only, tls_secret), headers=headers)[0] == 200
            refused = send(server, False, "GET", target, signer=(tls_only, tls_secret), headers=headers)
            assert refused[0] == 403 and "execute-api:Invoke" in json.dumps(refused[1]), refused
            for secure in (True, False):
                assert send(server, secure, "GET", target, signer=(far, far_secret), headers=headers)[0] == 403

    # A REST API's resource policy: the API's own root is let in from here, and over TLS alone.
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": HERE}}},
        {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}  # fmt: skip
    gw.update_rest_api(restApiId=rest, patchOperations=[{"op": "replace", "path": "/policy", "value": json.dumps(policy)}])
    target = f"/_aws/execute-api/{rest}/{STAGE}/orders"
    assert send(server, True, "GET", target, signer=(ROOT, ROOT_SECRET))[0] == 200
    denied = send(server, False, "GET", target, signer=(ROOT, ROOT_SECRET))
    assert denied[0] == 403 and denied[1]["Message"].endswith("with an explicit deny"), denied
    policy["Statement"][0]["Condition"] = {"NotIpAddress": {"aws:SourceIp": ELSEWHERE}}  # here is not there
    gw.update_rest_api(restApiId=rest, patchOperations=[{"op": "replace", "path": "/policy", "value": json.dumps(policy)}])
    assert send(server, True, "GET", target, signer=(ROOT, ROOT_SECRET))[0] == 403


def test_a_trust_policy_knows_secure_transport_and_source_ip(server: LaminaProcess) -> None:
    iam = client(server.endpoint, "iam")
    arn, key, secret = user(iam, "assumer", [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}])
    trusted = {"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "sts:AssumeRole"}
    roles = {
        "from-here-over-tls": ({"Bool": {"aws:SecureTransport": "true"}, "IpAddress": {"aws:SourceIp": HERE}},
                               (True, False)),
        "from-elsewhere": ({"IpAddress": {"aws:SourceIp": ELSEWHERE}}, (False, False)),
    }  # fmt: skip
    for name, (condition, (over_tls, over_http)) in roles.items():
        document = {"Version": "2012-10-17", "Statement": [{**trusted, "Condition": condition}]}
        role_arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(document))["Role"]["Arn"]
        for secure, allowed in ((True, over_tls), (False, over_http)):
            sts = boto3.client("sts", endpoint_url=base(server, secure), region_name="us-east-1",
                               aws_access_key_id=key, aws_secret_access_key=secret,
                               verify=str(ca_of(server)) if secure else None,
                               config=Config(retries={"max_attempts": 0}))  # fmt: skip
            if allowed:
                assert sts.assume_role(RoleArn=role_arn, RoleSessionName="session")["Credentials"]["AccessKeyId"]
            else:
                with pytest.raises(ClientError) as refused:
                    sts.assume_role(RoleArn=role_arn, RoleSessionName="session")
                assert refused.value.response["Error"]["Code"] == "AccessDenied", (name, secure)


def test_events_say_https_over_tls_and_http_over_http(server: LaminaProcess, function: str) -> None:
    lam, gw, v2 = client(server.endpoint, "lambda"), client(server.endpoint, "apigateway"), client(server.endpoint, "apigatewayv2")
    lam.create_alias(FunctionName="shared", Name="open", FunctionVersion="$LATEST")
    opened = url_path(lam.create_function_url_config(FunctionName="shared", Qualifier="open",
                                                     AuthType="NONE")["FunctionUrl"])  # fmt: skip
    rest, v2_api, v1_api = rest_api(gw, function), http_api(v2, function), http_api(v2, function, version="1.0")

    def headers_of(event: dict[str, Any]) -> dict[str, str]:
        if "multiValueHeaders" in event:  # payload 1.0 and REST APIs: names as AWS writes them
            return {k.lower(): v[-1] for k, v in event["multiValueHeaders"].items()}
        return dict(event["headers"])

    targets = {"function URL": opened, "REST API": f"/_aws/execute-api/{rest}/{STAGE}/x",
               "HTTP API 2.0": f"/_aws/execute-api/{v2_api}/x", "HTTP API 1.0": f"/_aws/execute-api/{v1_api}/x"}  # fmt: skip
    for kind, target in targets.items():
        for headers in ({}, THROUGH_AIOHTTP):
            for secure in (True, False):
                # A client's own claims are replaced, never passed on.
                sent = {**headers, "X-Forwarded-Proto": "gopher", "X-Forwarded-Port": "1"}
                status, answer = send(server, secure, "GET", target, headers=sent)
                assert status == 200, (kind, secure, answer)
                said = headers_of(answer["event"])
                proto = "https" if secure else "http"
                assert (said["x-forwarded-proto"], said["x-forwarded-port"]) == (proto, port(server, secure)), (
                    kind, headers, said)
