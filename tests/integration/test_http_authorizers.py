"""HTTP APIs' authorizers against a real server: created with boto3 and the AWS CLI, enforced over
real HTTP by real Lambda authorizer functions and by JWTs minted here, whose issuer's key set a
loopback HTTP server (started by these tests) serves to Lamina (``LAMINA_JWKS_URLS``).

The authorizer function counts its calls in its environment's /tmp and names its environment: an
answer it gives carries both in its context, so two requests that see the same (environment, count)
were answered by one call, kept; a call that was not made leaves the count where it was."""

from __future__ import annotations

import http.server
import json
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import jwt
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.brokers import free_port
from tests.conftest import ROOT, LaminaProcess, deploy, server_env
from tests.functions import run_authorizers_example
from tests.integration.test_http_apis import Reply, aws_cli, call, gateway

AWS_EVENTS = Path(__file__).resolve().parent.parent / "data" / "aws_events"
ISSUER, DOWN_ISSUER, GONE_ISSUER = "https://issuer.lamina.test", "https://down.lamina.test", "https://gone.lamina.test"
AUDIENCE = "lamina-app"

AUTHORIZER = """
import json, os, uuid

ENVIRONMENT = uuid.uuid4().hex

def handler(event, context):
    count = int(open("/tmp/calls").read()) + 1 if os.path.exists("/tmp/calls") else 1
    with open("/tmp/calls", "w") as f:
        f.write(str(count))
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    token = headers.get("authorization", "")
    if token == "crash":
        raise RuntimeError("boom")
    if token == "nonsense":
        return "yes"
    arn = event.get("routeArn") or event["methodArn"]
    if token.endswith("any"):
        arn = arn.split("/")[0] + "/*"
    allowed = token.startswith("allow")
    policy = {"Version": "2012-10-17", "Statement": [
        {"Action": "execute-api:Invoke", "Effect": "Allow" if allowed else "Deny", "Resource": arn}]}
    # Both answers at once: a simple one (read when simple responses are on) and a policy
    # ("simple-only" tokens are allowed by the first and denied by the second).
    if token.endswith("simple-only"):
        allowed, policy["Statement"][0]["Effect"] = True, "Deny"
    return {"isAuthorized": allowed, "principalId": "user-" + token[:20], "policyDocument": policy,
            "context": {"calls": count, "environment": ENVIRONMENT, "admin": True, "event": json.dumps(event)}}
"""

ECHO = """
import json

def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}
"""


# -- an issuer's keys, served on loopback ----------------------------------------------------------


class Issuer:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # a key the set lacks
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()
        self.fetches = 0  # how many times the key set was read

    def token(self, *, key: Any = None, kid: str = "k1", **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-7", "exp": now + 600, "iat": now, "scope": "read write",
                "groups": ["a", "b"], **claims}  # fmt: skip
        return jwt.encode({k: v for k, v in body.items() if v is not None}, key or self.key, algorithm="RS256",
                          headers={"kid": kid})  # fmt: skip


@pytest.fixture(scope="module")
def issuer() -> Iterator[tuple[Issuer, str]]:
    """The issuer and the base URL of its loopback key server (``/jwks``; ``/down`` answers 503)."""
    made = Issuer()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            status, body = (200, made.jwks) if self.path == "/jwks" else (503, b"down")
            made.fetches += self.path == "/jwks"
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="jwks-server", daemon=True)
    thread.start()
    yield made, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def server(issuer: tuple[Issuer, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:
    base = issuer[1]
    urls = f"{ISSUER}={base}/jwks,{DOWN_ISSUER}={base}/down {GONE_ISSUER}=http://127.0.0.1:{free_port()}/jwks"
    started = LaminaProcess(tmp_path_factory.mktemp("http-authorizers"), server_env(LAMINA_JWKS_URLS=urls)).start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def gw(server: LaminaProcess) -> Any:
    return gateway(server.endpoint)


@pytest.fixture(scope="module")
def functions(server: LaminaProcess) -> tuple[str, str]:
    """(the authorizer's ARN, the integration's ARN)."""
    client = server.client()
    authorizer = deploy(client, "http-authorizer", AUTHORIZER, Timeout=10)["FunctionArn"]
    echo = deploy(client, "http-authorized-echo", ECHO, Timeout=10)["FunctionArn"]
    return str(authorizer), str(echo)


def uri(function_arn: str) -> str:
    return f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}/invocations"


def guarded(gw: Any, functions: tuple[str, str], *, payload: str = "2.0", scopes: list[str] | None = None,
            **authorizer: Any) -> tuple[str, str, str]:  # fmt: skip
    """An API whose ``ANY /{proxy+}`` is behind a new authorizer (``authorizer``: CreateAuthorizer's
    members; a Lambda one by default), served by ``$default`` with a stage variable: (endpoint,
    api id, authorizer id)."""
    api = gw.create_api(Name="guarded", ProtocolType="HTTP")
    api_id = api["ApiId"]
    if authorizer.get("AuthorizerType", "REQUEST") == "REQUEST":
        authorizer = {"AuthorizerType": "REQUEST", "AuthorizerUri": uri(functions[0]),
                      "AuthorizerPayloadFormatVersion": "2.0", "IdentitySource": ["$request.header.Authorization"],
                      **authorizer}  # fmt: skip
    made = gw.create_authorizer(ApiId=api_id, Name="auth", **authorizer)
    integration = gw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=functions[1],
                                        PayloadFormatVersion=payload)["IntegrationId"]  # fmt: skip
    kind = "JWT" if made["AuthorizerType"] == "JWT" else "CUSTOM"
    gw.create_route(ApiId=api_id, RouteKey="ANY /{proxy+}", Target=f"integrations/{integration}",
                    AuthorizationType=kind, AuthorizerId=made["AuthorizerId"],
                    **({"AuthorizationScopes": scopes} if scopes else {}))  # fmt: skip
    gw.create_route(ApiId=api_id, RouteKey="GET /open", Target=f"integrations/{integration}")
    gw.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True, StageVariables={"color": "blue"})
    return str(api["ApiEndpoint"]), api_id, str(made["AuthorizerId"])


def get(endpoint: str, path: str, **headers: str) -> Reply:
    return call(endpoint, "GET", path, headers=headers)


def event(reply: Reply) -> dict[str, Any]:
    assert reply.status == 200, (reply.status, reply.body[:300])
    doc: dict[str, Any] = reply.json()
    return doc


def calls(reply: Reply) -> tuple[str, int]:
    """(environment, count) of the Lambda authorizer's answer the integration's 2.0 event carries."""
    context = event(reply)["requestContext"]["authorizer"]["lambda"]
    return context["environment"], context["calls"]


def error(call_: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call_()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


FORBIDDEN = b'{"message":"Forbidden"}'
UNAUTHORIZED = b'{"message":"Unauthorized"}'
INTERNAL = b'{"message":"Internal Server Error"}'


# -- control plane ---------------------------------------------------------------------------------


def test_authorizers_control_plane(gw: Any, functions: tuple[str, str]) -> None:
    api_id = gw.create_api(Name="authorizers", ProtocolType="HTTP")["ApiId"]
    made = gw.create_authorizer(ApiId=api_id, Name="lam", AuthorizerType="REQUEST", AuthorizerUri=uri(functions[0]),
                                AuthorizerPayloadFormatVersion="2.0", EnableSimpleResponses=True,
                                IdentitySource=["$request.header.Authorization", "$context.stage"],
                                AuthorizerResultTtlInSeconds=60)  # fmt: skip
    assert (made["AuthorizerType"], made["AuthorizerResultTtlInSeconds"], made["EnableSimpleResponses"]) == (
        "REQUEST", 60, True)  # fmt: skip
    assert len(made["AuthorizerId"]) == 6
    got = gw.get_authorizer(ApiId=api_id, AuthorizerId=made["AuthorizerId"])
    assert {k: v for k, v in got.items() if k != "ResponseMetadata"} == {
        k: v for k, v in made.items() if k != "ResponseMetadata"}  # fmt: skip
    jwt_made = gw.create_authorizer(ApiId=api_id, Name="jwt", AuthorizerType="JWT",
                                    IdentitySource=["$request.header.Authorization"],
                                    JwtConfiguration={"Issuer": ISSUER, "Audience": [AUDIENCE]})  # fmt: skip
    assert jwt_made["JwtConfiguration"] == {"Issuer": ISSUER, "Audience": [AUDIENCE]}
    assert sorted(a["Name"] for a in gw.get_authorizers(ApiId=api_id)["Items"]) == ["jwt", "lam"]
    updated = gw.update_authorizer(ApiId=api_id, AuthorizerId=made["AuthorizerId"], AuthorizerResultTtlInSeconds=0,
                                   Name="lambda")  # fmt: skip
    assert (updated["AuthorizerResultTtlInSeconds"], updated["Name"], updated["AuthorizerUri"]) == (
        0, "lambda", uri(functions[0]))  # fmt: skip
    refused: list[dict[str, Any]] = [
        dict(AuthorizerType="REQUEST", AuthorizerUri="arn:aws:s3:::bucket", AuthorizerPayloadFormatVersion="2.0",
             IdentitySource=[]),
        dict(AuthorizerType="REQUEST", AuthorizerUri=uri(functions[0]), IdentitySource=[]),
        dict(AuthorizerType="REQUEST", AuthorizerUri=uri(functions[0]), AuthorizerPayloadFormatVersion="1.0",
             EnableSimpleResponses=True, IdentitySource=[]),
        dict(AuthorizerType="REQUEST", AuthorizerUri=uri(functions[0]), AuthorizerPayloadFormatVersion="2.0",
             IdentitySource=[], AuthorizerResultTtlInSeconds=300),
        dict(AuthorizerType="REQUEST", AuthorizerUri=uri(functions[0]), AuthorizerPayloadFormatVersion="2.0",
             IdentitySource=["method.request.header.Authorization"]),
        dict(AuthorizerType="JWT", IdentitySource=["$request.header.Authorization"], JwtConfiguration={"Issuer": ISSUER}),
    ]  # fmt: skip
    for fields in refused:
        assert error(lambda: gw.create_authorizer(ApiId=api_id, Name="bad", **fields))[0] == "BadRequestException", fields
    assert len(gw.get_authorizers(ApiId=api_id)["Items"]) == 2
    route_id = gw.create_route(ApiId=api_id, RouteKey="GET /x")["RouteId"]
    for given, message in (
        ({"AuthorizationType": "CUSTOM"}, "Invalid authorizer ID specified. Setting the authorization type to CUSTOM "
                                          "or COGNITO_USER_POOLS requires a valid authorizer."),
        ({"AuthorizationType": "CUSTOM", "AuthorizerId": jwt_made["AuthorizerId"]}, None),
        ({"AuthorizationType": "JWT", "AuthorizerId": made["AuthorizerId"]},
         "Invalid authorizer ID specified. Setting the authorization type to JWT requires a valid JWT authorizer."),
        ({"AuthorizationType": "CUSTOM", "AuthorizerId": made["AuthorizerId"], "AuthorizationScopes": ["read"]},
         "Invalid Route authorization type specified. Authorization Scopes are only valid for COGNITO_USER_POOLS "
         "and JWT authorization types"),
        ({"AuthorizationType": "AWS_IAM", "AuthorizationScopes": ["read"]}, None),
    ):  # fmt: skip
        code, said = error(lambda: gw.update_route(ApiId=api_id, RouteId=route_id, **given))
        assert code == "BadRequestException" and (message is None or said == message), (given, said)
        code, said = error(lambda: gw.create_route(ApiId=api_id, RouteKey="GET /y", **given))
        assert code == "BadRequestException", given
    # AWS_IAM takes no authorizer (one given is dropped): a signature and IAM decide (test_gateway_iam.py).
    iam_route = gw.update_route(ApiId=api_id, RouteId=route_id, AuthorizationType="AWS_IAM",
                                AuthorizerId=made["AuthorizerId"])  # fmt: skip
    assert iam_route["AuthorizationType"] == "AWS_IAM" and "AuthorizerId" not in iam_route
    route = gw.update_route(ApiId=api_id, RouteId=route_id, AuthorizationType="JWT",
                            AuthorizerId=jwt_made["AuthorizerId"], AuthorizationScopes=["read"])  # fmt: skip
    assert (route["AuthorizationType"], route["AuthorizerId"], route["AuthorizationScopes"]) == (
        "JWT", jwt_made["AuthorizerId"], ["read"])  # fmt: skip
    code, message = error(lambda: gw.delete_authorizer(ApiId=api_id, AuthorizerId=jwt_made["AuthorizerId"]))
    assert (code, message) == ("ConflictException", "Cannot delete authorizer 'jwt', is referenced in route: GET /x")
    # Changed in place to the type its route does not ask for: refused.
    assert error(lambda: gw.update_authorizer(
        ApiId=api_id, AuthorizerId=jwt_made["AuthorizerId"], AuthorizerType="REQUEST", AuthorizerUri=uri(functions[0]),
        AuthorizerPayloadFormatVersion="2.0"))[0] == "BadRequestException"  # fmt: skip
    none = gw.update_route(ApiId=api_id, RouteId=route_id, AuthorizationType="NONE")
    assert none["AuthorizationType"] == "NONE" and "AuthorizerId" not in none and "AuthorizationScopes" not in none
    gw.delete_authorizer(ApiId=api_id, AuthorizerId=jwt_made["AuthorizerId"])
    code, message = error(lambda: gw.get_authorizer(ApiId=api_id, AuthorizerId=jwt_made["AuthorizerId"]))
    assert code == "NotFoundException" and jwt_made["AuthorizerId"] in message
    gw.delete_api(ApiId=api_id)


def test_aws_cli(server: LaminaProcess, gw: Any) -> None:
    api_id = gw.create_api(Name="cli-authorizers", ProtocolType="HTTP")["ApiId"]
    made = aws_cli(server.endpoint, "create-authorizer", "--api-id", api_id, "--name", "jwt", "--authorizer-type", "JWT",
                   "--identity-source", "$request.header.Authorization",
                   "--jwt-configuration", f"Audience={AUDIENCE},Issuer={ISSUER}")  # fmt: skip
    assert made["JwtConfiguration"] == {"Audience": [AUDIENCE], "Issuer": ISSUER}
    assert made["IdentitySource"] == ["$request.header.Authorization"]
    listed = aws_cli(server.endpoint, "get-authorizers", "--api-id", api_id)
    assert [a["AuthorizerId"] for a in listed["Items"]] == [made["AuthorizerId"]]
    gw.delete_api(ApiId=api_id)


def test_authorizers_survive_a_restart(make_server: Any, tmp_path: Path) -> None:
    first = make_server(tmp_path / "data")
    gw = gateway(first.endpoint)
    api = gw.create_api(Name="kept", ProtocolType="HTTP", Target="arn:aws:lambda:us-east-1:000000000000:function:gone")
    made = gw.create_authorizer(ApiId=api["ApiId"], Name="lam", AuthorizerType="REQUEST",
                                AuthorizerUri="arn:aws:lambda:us-east-1:000000000000:function:gone-auth",
                                AuthorizerPayloadFormatVersion="2.0", AuthorizerResultTtlInSeconds=30,
                                IdentitySource=["$request.header.Authorization"])  # fmt: skip
    [route] = gw.get_routes(ApiId=api["ApiId"])["Items"]
    gw.update_route(ApiId=api["ApiId"], RouteId=route["RouteId"], AuthorizationType="CUSTOM",
                    AuthorizerId=made["AuthorizerId"])  # fmt: skip
    first.stop()
    again = make_server(tmp_path / "data")
    gw = gateway(again.endpoint)
    assert gw.get_authorizer(ApiId=api["ApiId"], AuthorizerId=made["AuthorizerId"])["AuthorizerResultTtlInSeconds"] == 30
    endpoint = str(gw.get_api(ApiId=api["ApiId"])["ApiEndpoint"])
    reply = get(endpoint, "/anything")
    assert (reply.status, reply.body) == (401, UNAUTHORIZED)  # the deployment's authorizer still guards it
    reply = get(endpoint, "/anything", Authorization="x")
    assert (reply.status, reply.body) == (500, INTERNAL)  # its function does not exist: closed, not open


# -- Lambda authorizers ------------------------------------------------------------------------------


def test_simple_responses_allow_and_deny(gw: Any, functions: tuple[str, str]) -> None:
    endpoint, api_id, _ = guarded(gw, functions, EnableSimpleResponses=True)
    reply = call(endpoint, "GET", "/pets/7?kind=cat&kind=dog", headers={"Authorization": "allow", "Cookie": "a=1; b=2"})
    got = event(reply)
    context = got["requestContext"]["authorizer"]["lambda"]
    assert context["admin"] is True and isinstance(context["calls"], int)  # the context as the authorizer gave it
    assert list(got["requestContext"]["authorizer"]) == ["lambda"]
    asked = json.loads(context["event"])
    for sample in ("apigw-v2-custom-authorizer-v2-request.json", "apiGatewayAuthorizerV2Event.json"):
        assert list(asked) == list(json.loads((AWS_EVENTS / sample).read_text())), sample
    assert asked["routeArn"] == f"arn:aws:execute-api:us-east-1:000000000000:{api_id}/$default/GET/pets/7"
    assert asked["identitySource"] == ["allow"] and asked["cookies"] == ["a=1", "b=2"]
    assert asked["queryStringParameters"] == {"kind": "cat,dog"} and asked["pathParameters"] == {"proxy": "pets/7"}
    assert asked["stageVariables"] == {"color": "blue"} and asked["routeKey"] == "ANY /{proxy+}"
    assert event(get(endpoint, "/x", Authorization="deny-simple-only"))  # allowed by the simple answer
    reply = get(endpoint, "/pets/7", Authorization="deny")
    assert (reply.status, reply.body) == (403, FORBIDDEN)
    reply = get(endpoint, "/pets/7", Authorization="nonsense")  # neither answer
    assert (reply.status, reply.body) == (500, INTERNAL)
    assert "authorizer" not in event(get(endpoint, "/open"))["requestContext"]  # a route without one
    gw.delete_api(ApiId=api_id)


def test_policy_responses_and_payload_1_0(gw: Any, functions: tuple[str, str]) -> None:
    endpoint, api_id, _ = guarded(gw, functions, payload="1.0", AuthorizerPayloadFormatVersion="1.0")
    got = event(call(endpoint, "POST", "/orders/1?key=k1", b"{}", {"Authorization": "allow"}))
    authorizer = got["requestContext"]["authorizer"]  # payload 1.0: REST's shape
    assert authorizer["principalId"] == "user-allow" and authorizer["admin"] is True
    assert isinstance(authorizer["integrationLatency"], int) and "lambda" not in authorizer
    asked = json.loads(authorizer["event"])
    sample = json.loads((AWS_EVENTS / "apigw-v2-custom-authorizer-v1-request.json").read_text())
    assert list(asked) == list(sample)
    assert set(asked["requestContext"]) >= set(sample["requestContext"])
    assert asked["methodArn"] == f"arn:aws:execute-api:us-east-1:000000000000:{api_id}/$default/POST/orders/1"
    assert (asked["identitySource"], asked["authorizationToken"]) == ("allow", "allow")
    assert asked["resource"] == "/{proxy+}" and asked["httpMethod"] == "POST"
    # A policy is read, never the simple answer (simple responses are 2.0's).
    reply = get(endpoint, "/x", Authorization="deny-simple-only")
    assert (reply.status, reply.body) == (403, FORBIDDEN)
    reply = get(endpoint, "/x", Authorization="deny")
    assert (reply.status, reply.body) == (403, FORBIDDEN)
    gw.delete_api(ApiId=api_id)


def test_answers_are_kept_for_their_ttl(gw: Any, functions: tuple[str, str]) -> None:
    endpoint, api_id, authorizer_id = guarded(gw, functions, AuthorizerResultTtlInSeconds=300)
    first = calls(get(endpoint, "/a", Authorization="allow-any"))
    assert calls(get(endpoint, "/b", Authorization="allow-any")) == first  # answered by the kept policy
    assert calls(get(endpoint, "/a", Authorization="allow-other-any")) != first  # another identity, another answer
    # A kept policy is evaluated again for each request: allowed for /a only, /b is refused without a call.
    exact = calls(get(endpoint, "/a", Authorization="allow-exact"))
    reply = get(endpoint, "/b", Authorization="allow-exact")
    assert (reply.status, reply.body) == (403, FORBIDDEN)
    assert calls(get(endpoint, "/a", Authorization="allow-exact")) == exact
    # Missing identity: 401, and the authorizer is not called.
    for headers in ({}, {"Authorization": ""}):
        reply = get(endpoint, "/a", **headers)
        assert (reply.status, reply.body) == (401, UNAUTHORIZED), headers
    environment, count = calls(get(endpoint, "/a", Authorization="allow-fresh"))
    assert calls(get(endpoint, "/a", Authorization="allow-fresh-2")) == (environment, count + 1)
    # TTL 0: asked every time, even without the identity source.
    gw.update_authorizer(ApiId=api_id, AuthorizerId=authorizer_id, AuthorizerResultTtlInSeconds=0)
    one = calls(get(endpoint, "/a", Authorization="allow-any"))
    assert calls(get(endpoint, "/a", Authorization="allow-any")) != one
    reply = get(endpoint, "/a")
    assert (reply.status, reply.body) == (403, FORBIDDEN)  # asked with no token: its policy denies
    gw.delete_api(ApiId=api_id)


def test_authorizer_failures_are_500(gw: Any, functions: tuple[str, str]) -> None:
    endpoint, api_id, _ = guarded(gw, functions, AuthorizerResultTtlInSeconds=60)
    reply = get(endpoint, "/x", Authorization="crash")
    assert (reply.status, reply.body) == (500, INTERNAL)
    assert reply.headers["apigw-requestid"]
    gone, gone_api, _ = guarded(gw, functions, AuthorizerUri=uri("arn:aws:lambda:us-east-1:000000000000:function:nope"))
    reply = get(gone, "/x", Authorization="allow")
    assert (reply.status, reply.body) == (500, INTERNAL)
    gw.delete_api(ApiId=api_id)
    gw.delete_api(ApiId=gone_api)


# -- JWT authorizers ---------------------------------------------------------------------------------


def test_jwt_authorizer(gw: Any, functions: tuple[str, str], issuer: tuple[Issuer, str]) -> None:
    keys = issuer[0]
    config: dict[str, Any] = {"AuthorizerType": "JWT", "IdentitySource": ["$request.header.Authorization"],
              "JwtConfiguration": {"Issuer": ISSUER, "Audience": ["other", AUDIENCE]}}  # fmt: skip
    endpoint, api_id, _ = guarded(gw, functions, **config)
    token = keys.token()
    got = event(get(endpoint, "/me", Authorization=f"Bearer {token}"))
    claims = got["requestContext"]["authorizer"]["jwt"]["claims"]
    assert (claims["sub"], claims["iss"], claims["aud"], claims["groups"]) == ("user-7", ISSUER, AUDIENCE, "[a b]")
    assert got["requestContext"]["authorizer"]["jwt"]["scopes"] == ["read", "write"]
    assert event(get(endpoint, "/me", Authorization=token))  # without "Bearer"
    refused = {
        "expired": keys.token(exp=int(time.time()) - 60),
        "wrong audience": keys.token(aud="someone-else"),
        "wrong issuer": keys.token(iss="https://evil.example"),
        "unknown kid": keys.token(kid="k2"),
        "another key": keys.token(key=keys.other),
        "garbage": "not.a.jwt",
        "json": '{"alg":"none","kid":"k1"}',
        "unsigned": jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60}, "", algorithm="none"),
    }  # fmt: skip
    for why, bad in refused.items():
        reply = get(endpoint, "/me", Authorization=f"Bearer {bad}")
        assert (reply.status, reply.body) == (401, UNAUTHORIZED), why
        assert reply.headers["www-authenticate"].startswith("Bearer"), why
    reply = get(endpoint, "/me")
    assert (reply.status, reply.body) == (401, UNAUTHORIZED)
    gw.delete_api(ApiId=api_id)

    # Scopes: one of the route's is needed.
    scoped, scoped_api, _ = guarded(gw, functions, scopes=["admin", "write"], payload="1.0", **config)
    got = event(get(scoped, "/me", Authorization=f"Bearer {keys.token()}"))
    assert got["requestContext"]["authorizer"]["claims"]["sub"] == "user-7"  # payload 1.0: REST's shape
    assert got["requestContext"]["authorizer"]["scopes"] == ["read", "write"]
    reply = get(scoped, "/me", Authorization=f"Bearer {keys.token(scope='read')}")
    assert (reply.status, reply.body) == (403, FORBIDDEN)
    assert "insufficient_scope" in reply.headers["www-authenticate"]
    gw.delete_api(ApiId=scoped_api)


def test_jwt_issuer_whose_keys_cannot_be_read(gw: Any, functions: tuple[str, str], issuer: tuple[Issuer, str]) -> None:
    for unreachable in (DOWN_ISSUER, GONE_ISSUER):
        endpoint, api_id, _ = guarded(gw, functions, AuthorizerType="JWT", IdentitySource=["$request.header.Authorization"],
                                      JwtConfiguration={"Issuer": unreachable, "Audience": [AUDIENCE]})  # fmt: skip
        reply = get(endpoint, "/me", Authorization=f"Bearer {issuer[0].token(iss=unreachable)}")
        assert (reply.status, reply.body) == (401, UNAUTHORIZED), unreachable
        assert "invalid_token" in reply.headers["www-authenticate"]
        gw.delete_api(ApiId=api_id)


# -- attacks ------------------------------------------------------------------------------------------


def test_hostile_identities(gw: Any, functions: tuple[str, str], issuer: tuple[Issuer, str]) -> None:
    endpoint, api_id, _ = guarded(gw, functions, AuthorizerResultTtlInSeconds=300)
    # Tokens that look like JSON, policies, wildcards or paths reach the authorizer as they were sent.
    for token in ('allow"}], "Effect": "Allow', "allow*", "allow" + "a" * 7000, 'allow \\ "', "allow../../x",
                  "allow{{x}}", '{"isAuthorized": true}'):  # fmt: skip
        reply = get(endpoint, "/x", Authorization=token)
        if token.startswith("allow"):
            assert json.loads(event(reply)["requestContext"]["authorizer"]["lambda"]["event"])["identitySource"] == [token]
        else:
            assert (reply.status, reply.body) == (403, FORBIDDEN)
    # An explicit Deny is not undone by a path that looks like a wildcard or another method.
    for path in ("/*", "/x/../GET/y", "/%2A"):
        reply = get(endpoint, path, Authorization="deny-any")
        assert (reply.status, reply.body) == (403, FORBIDDEN), path
    # A header longer than the HTTP server reads is refused before anything is asked.
    assert get(endpoint, "/x", Authorization="a" * 20000).status == 400
    # Many distinct tokens are each asked once and kept (in bounded memory); the server answers on.
    for n in range(30):
        assert get(endpoint, f"/x{n}", Authorization=f"allow-{n}").status == 200
    gw.delete_api(ApiId=api_id)

    jwt_endpoint, jwt_api, _ = guarded(gw, functions, AuthorizerType="JWT", IdentitySource=["$request.header.Authorization"],
                                       JwtConfiguration={"Issuer": ISSUER, "Audience": [AUDIENCE]})  # fmt: skip
    hostile = ['{"alg": "RS256", "kid": "k1"}', "e30.e30.e30", "Bearer " + "A" * 7000, ".".join(["eyJ"] * 50),
               issuer[0].token()[:-10] + "AAAAAAAAAA", "\u00e9".encode().decode("latin-1")]  # fmt: skip
    for n in range(20):  # made-up kids: the key set is not fetched again for each
        hostile.append(issuer[0].token(kid=f"made-up-{n}"))
    fetched = issuer[0].fetches
    for token in hostile:
        reply = get(jwt_endpoint, "/x", Authorization=token)
        assert (reply.status, reply.body) == (401, UNAUTHORIZED), token[:40]
    assert issuer[0].fetches <= fetched + 1  # once at most (a kid it lacks, after a minute), not once a token
    assert event(get(jwt_endpoint, "/x", Authorization=f"Bearer {issuer[0].token()}"))  # and valid ones still pass
    gw.delete_api(ApiId=jwt_api)


# -- the documentation's example, run as written ------------------------------------------------

DOC = ROOT / "docs" / "http-apis.md"


def test_authorizers_example_in_docs(server: LaminaProcess, tmp_path: Path) -> None:
    printed, expected = run_authorizers_example(DOC, "bash", server.endpoint, tmp_path)
    assert printed == expected
