"""Authorizers' pure decisions: identity sources, IAM policies, Lambda answers, the answer cache, JWTs."""

from __future__ import annotations

import json
import random
import re
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from lamina.gateway.authorizers import decision, identity, policy, tokens
from lamina.gateway.authorizers.cache import AnswerCache
from lamina.gateway.authorizers.decision import Allow, Failed, Refuse
from lamina.gateway.authorizers.identity import IdentitySource, InvalidIdentitySource, Place, RequestView

ARN = "arn:aws:execute-api:us-east-1:000000000000:abcdef1234/prod/GET/pets/7"


def statement(effect: str, resource: object, action: object = "execute-api:Invoke") -> dict[str, object]:
    return {"Effect": effect, "Action": action, "Resource": resource}


def document(*statements: dict[str, object]) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


# --- identity sources ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text, rest, expected",
    [
        ("$request.header.Authorization", False, IdentitySource(Place.HEADER, "Authorization")),
        ("$request.querystring.token", False, IdentitySource(Place.QUERY, "token")),
        ("$context.requestId", False, IdentitySource(Place.CONTEXT, "requestId")),
        ("$stageVariables.tier", False, IdentitySource(Place.STAGE_VARIABLE, "tier")),
        ("method.request.header.X-Key", True, IdentitySource(Place.HEADER, "X-Key")),
        ("method.request.querystring.q", True, IdentitySource(Place.QUERY, "q")),
        ("stageVariables.tier", True, IdentitySource(Place.STAGE_VARIABLE, "tier")),
    ],
)
def test_identity_sources_parse_in_each_apis_syntax(text: str, rest: bool, expected: IdentitySource) -> None:
    assert IdentitySource.parse(text, rest_api=rest) == expected


@pytest.mark.parametrize("text, rest", [("request.header.A", False), ("$request.body.a", False),
                                        ("$request.header.", False), ("$request.header.Authorization", True),
                                        ("method.request.header.A", False), ("", False)])  # fmt: skip
def test_malformed_identity_sources_are_refused(text: str, rest: bool) -> None:
    with pytest.raises(InvalidIdentitySource):
        IdentitySource.parse(text, rest_api=rest)


def test_identity_values_are_read_in_order_and_a_missing_or_empty_one_is_none() -> None:
    view = RequestView({"authorization": "Bearer t", "x-empty": ""}, {"q": "1"}, {"requestId": "r"}, {"tier": "gold"})
    sources = [IdentitySource.parse(s) for s in ("$request.header.AUTHORIZATION", "$request.querystring.q",
                                                 "$context.requestId", "$stageVariables.tier")]  # fmt: skip
    assert identity.values(sources, view) == ("Bearer t", "1", "r", "gold")
    assert identity.values([IdentitySource.parse("$request.header.X-Empty")], view) is None
    assert identity.values([IdentitySource.parse("$request.querystring.missing")], view) is None
    assert identity.values([], view) == ()


# --- IAM policies --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "doc, verdict",
    [
        (document(statement("Allow", ARN)), policy.Verdict.ALLOW),
        (document(statement("Allow", "arn:aws:execute-api:us-east-1:000000000000:abcdef1234/*")), policy.Verdict.ALLOW),
        (document(statement("Allow", "arn:aws:execute-api:*:*:abcdef1234/prod/GET/pets/?")), policy.Verdict.ALLOW),
        (document(statement("Allow", "arn:aws:execute-api:*:*:abcdef1234/prod/POST/*")), policy.Verdict.NO_ALLOW),
        (document(statement("Allow", [ARN], ["execute-api:*"])), policy.Verdict.ALLOW),
        (document(statement("Allow", ARN, "*")), policy.Verdict.ALLOW),
        (document(statement("Allow", ARN, "EXECUTE-API:invoke")), policy.Verdict.ALLOW),  # actions ignore case
        (document(statement("Allow", ARN, "execute-api:ManageConnections")), policy.Verdict.NO_ALLOW),
        (document(statement("Allow", "*"), statement("Deny", "*/GET/pets/*")), policy.Verdict.DENY),
        (document(statement("Deny", "*/POST/*"), statement("Allow", "*")), policy.Verdict.ALLOW),
        (document(), policy.Verdict.NO_ALLOW),
        ({"Statement": statement("Allow", ARN)}, policy.Verdict.ALLOW),  # a single statement, not a list
        # Resources are case-sensitive, and a pattern must match the whole ARN.
        (document(statement("Allow", ARN.upper())), policy.Verdict.NO_ALLOW),
        (document(statement("Allow", ARN[:-1])), policy.Verdict.NO_ALLOW),
    ],
)
def test_policies_are_evaluated_against_the_requests_arn(doc: object, verdict: policy.Verdict) -> None:
    assert policy.evaluate(doc, ARN) is verdict


@pytest.mark.parametrize("doc", [None, "x", {"Statement": "x"}, document(statement("Maybe", ARN)),
                                 document(statement("Allow", 3)), document(statement("Allow", ARN, None))])  # fmt: skip
def test_malformed_policies_are_reported(doc: object) -> None:
    with pytest.raises(policy.MalformedPolicy):
        policy.evaluate(doc, ARN)


# --- Lambda authorizers' answers -----------------------------------------------------------------

def test_http_api_simple_responses() -> None:
    assert decision.decide_http({"isAuthorized": True, "context": {"user": "ana", "n": [1]}}, ARN, simple=True) == Allow(
        {"lambda": {"user": "ana", "n": [1]}}
    )
    assert decision.decide_http({"isAuthorized": False}, ARN, simple=True) == decision.FORBIDDEN
    assert decision.decide_http({"isAuthorized": "yes"}, ARN, simple=True) == decision.HTTP_ERROR
    assert decision.decide_http({"isAuthorized": True}, ARN, simple=False) == decision.HTTP_ERROR  # wants a policy


def test_http_api_policy_responses() -> None:
    allowed = {"principalId": "u", "policyDocument": document(statement("Allow", ARN)), "context": {"k": "v"}}
    assert decision.decide_http(allowed, ARN, simple=False) == Allow({"lambda": {"k": "v"}})
    denied = {**allowed, "policyDocument": document(statement("Deny", ARN))}
    assert decision.decide_http(denied, ARN, simple=True) == decision.FORBIDDEN
    assert decision.decide_http(Failed("Runtime.Error", "boom"), ARN, simple=True) == decision.HTTP_ERROR
    assert decision.decide_http(["not", "an", "object"], ARN, simple=True) == decision.HTTP_ERROR
    assert decision.decide_http({"isAuthorized": True, "context": "x"}, ARN, simple=True) == decision.HTTP_ERROR


def test_rest_api_responses() -> None:
    answer = {"principalId": "user-1", "policyDocument": document(statement("Allow", ARN)),
              "context": {"s": "v", "n": 1, "b": True, "f": 1.5}}  # fmt: skip
    assert decision.decide_rest(answer, ARN) == Allow({"s": "v", "n": "1", "b": "true", "f": "1.5", "principalId": "user-1"})
    assert decision.decide_rest({**answer, "policyDocument": document(statement("Deny", ARN))}, ARN) == decision.REST_DENIED
    assert decision.decide_rest({**answer, "policyDocument": document()}, ARN) == decision.REST_NOT_ALLOWED
    assert decision.decide_rest({**answer, "context": {"o": {"x": 1}}}, ARN) == decision.REST_ERROR
    assert decision.decide_rest({**answer, "principalId": None}, ARN) == decision.REST_ERROR
    assert decision.decide_rest(Failed("Error", "Unauthorized"), ARN) == decision.REST_UNAUTHORIZED
    assert decision.decide_rest(Failed("Error", "anything else"), ARN) == decision.REST_ERROR


def test_the_aws_sample_answer_is_read_as_api_gateway_reads_it() -> None:
    from pathlib import Path

    sample = Path(__file__).resolve().parents[1] / "data" / "aws_events" / "apigw-custom-auth-response.json"
    answer = json.loads(sample.read_text())
    arn = "arn:aws:execute-api:{regionId}:{accountId}:{appId}/{stage}/{httpVerb}/[{resource}/[child-resources]]"
    # Its Effect is the placeholder "Allow|Deny": API Gateway refuses such a policy.
    assert decision.decide_rest(answer, arn) == decision.REST_ERROR
    answer["policyDocument"]["Statement"][0]["Effect"] = "Allow"
    assert decision.decide_rest(answer, arn) == Allow(
        {"stringKey": "value", "numberKey": "1", "booleanKey": "true", "principalId": "yyyyyyyy"}
    )


# --- the answer cache ----------------------------------------------------------------------------

def test_answers_are_kept_for_their_ttl_and_bounded() -> None:
    cache: AnswerCache[str] = AnswerCache(max_entries=2)
    cache.put(("a", ("t1",)), "one", ttl_seconds=10, now=100)
    assert cache.get(("a", ("t1",)), now=109.9) == "one"
    assert cache.get(("a", ("t1",)), now=110) is None  # expired, and dropped
    cache.put(("a", ("t1",)), "one", ttl_seconds=0, now=100)  # a TTL of 0 keeps nothing
    assert cache.get(("a", ("t1",)), now=100) is None
    for i in range(3):
        cache.put(("a", (str(i),)), str(i), ttl_seconds=10, now=100)
    assert cache.get(("a", ("0",)), now=101) is None  # the oldest went first
    assert cache.get(("a", ("2",)), now=101) == "2"
    cache.put(("b", ("x",)), "b", ttl_seconds=10, now=100)
    cache.forget("a")
    assert cache.get(("a", ("2",)), now=101) is None and cache.get(("b", ("x",)), now=101) == "b"


# --- JWT authorizers -----------------------------------------------------------------------------

ISSUER = "https://issuer.example"


@pytest.fixture(scope="module")
def signing() -> tuple[rsa.RSAPrivateKey, jwt.PyJWKSet]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return key, jwt.PyJWKSet.from_dict({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]})


def token(key: Any, *, kid: str = "k1", algorithm: str = "RS256", **claims: object) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": "app", "exp": now + 300, "iat": now, "sub": "ana", **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm=algorithm, headers={"kid": kid})


CONFIG = tokens.JwtConfiguration(ISSUER, ("app", "other"))


def test_a_valid_token_passes_with_its_claims_and_scopes(signing: tuple[Any, jwt.PyJWKSet]) -> None:
    key, keys = signing
    result = tokens.verify(token(key, scope="read write", groups=["a", "b"]), CONFIG, keys, scopes=["read"])
    assert isinstance(result, Allow)
    jwt_part: Any = result.authorizer["jwt"]
    assert jwt_part["scopes"] == ["read", "write"]
    assert jwt_part["claims"]["sub"] == "ana" and jwt_part["claims"]["groups"] == "[a b]"
    assert isinstance(jwt_part["claims"]["exp"], str)
    # client_id stands in for a missing aud (Cognito access tokens)
    assert isinstance(tokens.verify(token(key, aud=None, client_id="other"), CONFIG, keys), Allow)


@pytest.mark.parametrize(
    "claims, why",
    [
        ({"exp": -10}, "expired"),  # times: seconds from when the token is made
        ({"iss": "https://elsewhere"}, "issuer"),
        ({"aud": "someone-else"}, "audience"),
        ({"aud": None}, "audience"),
        ({"nbf": 600}, "not valid"),
    ],
)
def test_invalid_tokens_are_401(signing: tuple[Any, jwt.PyJWKSet], claims: dict[str, object], why: str) -> None:
    key, keys = signing
    now = int(time.time())
    made = {k: now + v if k in ("exp", "nbf") and isinstance(v, int) else v for k, v in claims.items()}
    result = tokens.verify(token(key, **made), CONFIG, keys)
    assert isinstance(result, Refuse) and result.status == 401 and result.body == {"message": "Unauthorized"}
    assert why in result.headers["www-authenticate"] and 'error="invalid_token"' in result.headers["www-authenticate"]


def test_forged_and_foreign_tokens_are_401(signing: tuple[Any, jwt.PyJWKSet]) -> None:
    key, keys = signing
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for forged in (token(stranger), token(key, kid="k2"), jwt.encode({"iss": ISSUER, "aud": "app"}, "a-shared-secret-of-at-least-32-bytes", algorithm="HS256",
                                                                      headers={"kid": "k1"}), "not.a.jwt", ""):  # fmt: skip
        result = tokens.verify(forged, CONFIG, keys)
        assert isinstance(result, Refuse) and result.status == 401, forged
    assert isinstance(tokens.verify(token(key), CONFIG, None), Refuse)  # keys unreadable


def test_a_token_without_a_required_scope_is_403(signing: tuple[Any, jwt.PyJWKSet]) -> None:
    key, keys = signing
    result = tokens.verify(token(key, scp=["write"]), CONFIG, keys, scopes=["read", "admin"])
    assert isinstance(result, Refuse) and result.status == 403 and result.body == {"message": "Forbidden"}
    assert 'error="insufficient_scope"' in result.headers["www-authenticate"]
    assert isinstance(tokens.verify(token(key, scp=["admin"]), CONFIG, keys, scopes=["read", "admin"]), Allow)


def test_bearer_prefix_is_optional() -> None:
    assert tokens.bearer("Bearer abc") == "abc" and tokens.bearer("bearer  abc ") == "abc" and tokens.bearer("abc") == "abc"


def test_wildcards_match_as_a_regular_expression_would() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        pattern = "".join(rng.choice("ab/*?") for _ in range(rng.randint(0, 8)))
        value = "".join(rng.choice("ab/") for _ in range(rng.randint(0, 10)))
        regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
        expected = re.fullmatch(regex, value, re.DOTALL) is not None
        verdict = policy.evaluate(document(statement("Allow", pattern)), value)
        assert (verdict is policy.Verdict.ALLOW) is expected, (pattern, value)


def test_a_long_path_against_many_wildcards_is_decided() -> None:
    # A regular expression of ".*" runs backtracks for minutes on this; the matcher is linear.
    arn = "arn:aws:execute-api:us-east-1:000000000000:abc/prod/GET/" + "/" * 8000 + "y"
    doc = document(statement("Allow", "arn:aws:execute-api:*:*:abc/*/GET/*/*/*/*/x"))
    assert policy.evaluate(doc, arn) is policy.Verdict.NO_ALLOW
    assert policy.evaluate(doc, arn[:-1] + "x") is policy.Verdict.ALLOW
