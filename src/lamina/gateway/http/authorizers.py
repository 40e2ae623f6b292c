"""An HTTP API's authorizers and routes' use of them, checked as AWS checks them. Pure.

Two types are served (``data plane: authorizing.py``):

- ``REQUEST``: a Lambda authorizer. ``AuthorizerUri`` is API Gateway's invocation URI of a function
  (``arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function ARN>/invocations``) or
  the function's ARN; ``AuthorizerPayloadFormatVersion`` ``1.0`` or ``2.0`` (required);
  ``EnableSimpleResponses`` with ``2.0`` only; ``IdentitySource`` a list of ``$request.header.X``,
  ``$request.querystring.x``, ``$context.x`` and ``$stageVariables.x`` (required when
  ``AuthorizerResultTtlInSeconds``, 0 to 3600, is above 0: they are the cache key).
- ``JWT``: ``IdentitySource`` one header or query parameter holding the token;
  ``JwtConfiguration`` an ``Issuer`` and one to 50 ``Audience`` entries.

A route's ``AuthorizationType`` is ``NONE``, ``CUSTOM`` (with a ``REQUEST`` authorizer's id),
``JWT`` (with a ``JWT`` authorizer's id, and optionally up to 10 ``AuthorizationScopes``) or
``AWS_IAM`` (no authorizer: a SigV4 signature for ``execute-api`` of a caller IAM allows,
``gateway/authorizers/iam.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Mapping

from lamina.gateway.authorizers.identity import IdentitySource, InvalidIdentitySource, Place
from lamina.gateway.http import integrations as uris
from lamina.gateway.http.errors import BadRequest
from lamina.gateway.http.inputs import string
from lamina.gateway.http.model import Authorizer, Route

TYPES = ("REQUEST", "JWT")
ROUTE_TYPES = ("NONE", "CUSTOM", "JWT", "AWS_IAM")
MAX_TTL = 3600
MAX_AUDIENCES = 50
MAX_SCOPES = 10
INVALID_CUSTOM = ("Invalid authorizer ID specified. Setting the authorization type to CUSTOM or COGNITO_USER_POOLS "
                  "requires a valid authorizer.")  # fmt: skip
INVALID_JWT = "Invalid authorizer ID specified. Setting the authorization type to JWT requires a valid JWT authorizer."
SCOPES_NOT_JWT = ("Invalid Route authorization type specified. Authorization Scopes are only valid for "
                  "COGNITO_USER_POOLS and JWT authorization types")  # fmt: skip


@dataclass(frozen=True)
class Guard:
    """What a served route's requests must pass: its authorizer (None: it is missing, so the route
    answers 500 rather than serve unguarded) and, for JWT, the scopes one of which a token must hold."""

    authorizer: Authorizer | None
    scopes: tuple[str, ...] = ()
    iam: bool = False  # AWS_IAM: a signature and IAM decide, no authorizer


def _strings(body: Mapping[str, object], name: str, *, max_items: int, max_len: int = 1024) -> tuple[str, ...] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > max_items or not all(
            isinstance(v, str) and 0 < len(v) <= max_len for v in value):  # fmt: skip
        raise BadRequest(f"Invalid input: {name} must be a list of at most {max_items} non-empty strings")
    return tuple(value)


def authorizer_from(existing: Authorizer | None, body: Mapping[str, object], authorizer_id: str) -> Authorizer:
    """CreateAuthorizer's (``existing`` None) or UpdateAuthorizer's result: ``body``'s members over
    ``existing``'s, checked."""
    a = existing or Authorizer(authorizer_id, "", "")
    changes: dict[str, object] = {}
    if "name" in body or existing is None:
        changes["name"] = string(body, "name", required=True, max_len=128)
    if "authorizerType" in body or existing is None:
        kind = body.get("authorizerType")
        if kind not in TYPES:
            raise BadRequest(f"Invalid authorizer type {kind}: HTTP APIs' authorizers are of type REQUEST or JWT")
        changes["type"] = kind
    if "identitySource" in body:
        changes["identity_source"] = _strings(body, "identitySource", max_items=10) or ()
    if "authorizerUri" in body:
        changes["uri"] = string(body, "authorizerUri", max_len=2048)
    if "authorizerPayloadFormatVersion" in body:
        changes["payload_format_version"] = string(body, "authorizerPayloadFormatVersion", max_len=64)
    if "enableSimpleResponses" in body:
        changes["simple_responses"] = body.get("enableSimpleResponses") is True
    if "authorizerResultTtlInSeconds" in body:
        ttl = body.get("authorizerResultTtlInSeconds")
        if not isinstance(ttl, int) or isinstance(ttl, bool) or not 0 <= ttl <= MAX_TTL:
            raise BadRequest(f"Invalid authorizer TTL specified: {ttl}. The TTL must be between 0 and {MAX_TTL} seconds.")
        changes["ttl"] = ttl
    if "authorizerCredentialsArn" in body:
        changes["credentials_arn"] = string(body, "authorizerCredentialsArn", max_len=2048)
    if "jwtConfiguration" in body:
        jwt = body.get("jwtConfiguration")
        if not isinstance(jwt, dict):
            raise BadRequest("Invalid input: JwtConfiguration must be an object with Issuer and Audience")
        if "issuer" in jwt:
            changes["issuer"] = string(jwt, "issuer", max_len=2048)
        if "audience" in jwt:
            changes["audience"] = _strings(jwt, "audience", max_items=MAX_AUDIENCES) or ()
    a = replace(a, **changes)  # type: ignore[arg-type]
    if a.type == "REQUEST":
        a = replace(a, function_arn=uris.function_arn(a.uri) if a.uri else None, issuer=None, audience=())
    else:
        a = replace(a, uri=None, function_arn=None, payload_format_version=None, simple_responses=False, ttl=0)
    validate(a)
    return a


def validate(a: Authorizer) -> None:
    """BadRequest for an authorizer AWS would refuse."""
    try:
        sources = [IdentitySource.parse(s) for s in a.identity_source]
    except InvalidIdentitySource as exc:
        raise BadRequest(exc.message) from None
    if a.type == "JWT":
        if len(sources) != 1 or sources[0].place not in (Place.HEADER, Place.QUERY):
            raise BadRequest("Invalid identity source for a JWT authorizer: give one header or query string "
                             "parameter, such as $request.header.Authorization")  # fmt: skip
        if not a.issuer:
            raise BadRequest("JwtConfiguration.Issuer must be specified for authorizers of type JWT")
        if not a.audience:
            raise BadRequest("JwtConfiguration.Audience must be specified for authorizers of type JWT")
        return
    if a.function_arn is None:
        raise BadRequest(f"Invalid Authorizer URI: {a.uri}. Authorizer URI should be a valid API Gateway ARN that "
                         "represents a Lambda function invocation.")  # fmt: skip
    if a.payload_format_version not in uris.PAYLOAD_VERSIONS:
        raise BadRequest("AuthorizerPayloadFormatVersion must be 1.0 or 2.0 for authorizers of type REQUEST "
                         f"(given: {a.payload_format_version})")  # fmt: skip
    if a.simple_responses and a.payload_format_version != "2.0":
        raise BadRequest("EnableSimpleResponses is only supported for authorizer payload format version 2.0")
    if a.ttl > 0 and not sources:
        raise BadRequest("Identity source must be set if authorizer caching is enabled (TTL is greater than 0)")


def route_authorization(route: Route, body: Mapping[str, object], authorizers: Mapping[str, Authorizer]) -> Route:
    """``route`` with ``body``'s AuthorizationType, AuthorizerId and AuthorizationScopes, checked.

    Setting the type to ``NONE`` or ``AWS_IAM`` drops the authorizer (an ``AuthorizerId`` given with
    it is ignored) and the scopes, as AWS does."""
    kind = body.get("authorizationType", route.authorization_type)
    if kind not in ROUTE_TYPES:
        raise BadRequest(f"Invalid authorization type {kind}: use NONE, CUSTOM, JWT or AWS_IAM")
    authorizer_id = string(body, "authorizerId", max_len=64) if "authorizerId" in body else route.authorizer_id
    scopes = _strings(body, "authorizationScopes", max_items=MAX_SCOPES, max_len=64)
    if scopes is None:  # not given (or null): the route's, while its type stays
        kept = "authorizationScopes" not in body and kind == route.authorization_type
        scopes = route.authorization_scopes if kept else ()
    if kind in ("NONE", "AWS_IAM"):
        if "authorizationScopes" in body and scopes:
            raise BadRequest(SCOPES_NOT_JWT)
        return replace(route, authorization_type=str(kind), authorizer_id=None, authorization_scopes=())
    found = authorizers.get(authorizer_id) if authorizer_id is not None else None
    if kind == "CUSTOM":
        if found is None or found.type != "REQUEST":
            raise BadRequest(INVALID_CUSTOM)
        if scopes:
            raise BadRequest(SCOPES_NOT_JWT)
    elif found is None or found.type != "JWT":
        raise BadRequest(INVALID_JWT)
    return replace(route, authorization_type=str(kind), authorizer_id=authorizer_id, authorization_scopes=scopes)


def users(routes: Iterable[Route], authorizer_id: str) -> list[Route]:
    """The routes that use the authorizer, by route key."""
    return sorted((r for r in routes if r.authorizer_id == authorizer_id), key=lambda r: r.route_key)


def check_users(routes: Iterable[Route], authorizer: Authorizer) -> None:
    """An authorizer changed in place must still be of the type its routes ask for."""
    wanted = "REQUEST" if authorizer.type == "REQUEST" else "JWT"
    for route in users(routes, authorizer.authorizer_id):
        if (route.authorization_type == "CUSTOM") != (wanted == "REQUEST"):
            raise BadRequest(INVALID_CUSTOM if route.authorization_type == "CUSTOM" else INVALID_JWT)


def guards(routes: Iterable[Route], authorizers: Iterable[Authorizer]) -> dict[str, Guard]:
    """Each guarded route's ``Guard``, by route key (routes without authorization are absent)."""
    by_id = {a.authorizer_id: a for a in authorizers}
    return {r.route_key: Guard(by_id.get(r.authorizer_id or ""), r.authorization_scopes, r.authorization_type == "AWS_IAM")
            for r in routes if r.authorization_type != "NONE"}  # fmt: skip
