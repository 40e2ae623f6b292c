"""JWT authorizers: a bearer token checked as API Gateway's HTTP APIs check it, with PyJWT.

A token passes when its signature verifies with the key its header's ``kid`` names in the issuer's
key set (RSA algorithms only, as on AWS), it has not expired, is not used before ``nbf``, its
``iss`` is the authorizer's issuer, and its ``aud`` (or, without one, ``client_id``) is one of the
authorizer's audiences. A route with authorization scopes also needs one of them in the token's
``scope`` (space-separated) or ``scp`` claim. The integration's event carries the claims, as
strings, and the scopes under ``requestContext.authorizer.jwt``.

Refusals: a missing or invalid token is 401 ``{"message": "Unauthorized"}`` with a
``www-authenticate`` header saying why; a valid token without a required scope is 403
``{"message": "Forbidden"}``. ``verify`` reads the clock (PyJWT checks ``exp`` against it) and
nothing else; fetching key sets is ``jwks.py``'s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping, Sequence

import jwt

from lamina.gateway.authorizers.decision import Allow, Refuse

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")


@dataclass(frozen=True)
class JwtConfiguration:
    issuer: str
    audience: tuple[str, ...]


def bearer(value: str) -> str:
    """The token in an identity source's value: ``Bearer <token>`` or the token alone."""
    scheme, _, rest = value.strip().partition(" ")
    return rest.strip() if scheme.lower() == "bearer" and rest else value.strip()


def unverified_key_id(token: str) -> str | None:
    """The ``kid`` the token's header names (None: not a JWT, or no kid)."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError:
        return None
    return kid if isinstance(kid, str) else None


def verify(token: str, config: JwtConfiguration, keys: jwt.PyJWKSet | None, scopes: Sequence[str] = ()) -> Allow | Refuse:
    if keys is None:
        return _invalid("the issuer's signing keys could not be read")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        return _invalid("the token is not a JWT")
    algorithm, kid = header.get("alg"), header.get("kid")
    if algorithm not in ALGORITHMS:
        return _invalid(f"the token's algorithm {algorithm} is not supported")
    key = next((k for k in keys.keys if k.key_id == kid), None)
    if key is None:
        return _invalid("the token's signing key is not the issuer's")
    try:
        claims = jwt.decode(
            token, key.key, algorithms=[algorithm], issuer=config.issuer,
            options={"verify_aud": False, "require": ["exp", "iss"]},
        )  # fmt: skip
    except jwt.ExpiredSignatureError:
        return _invalid("the token has expired")
    except jwt.InvalidIssuerError:
        return _invalid("the token's issuer is not the authorizer's")
    except jwt.InvalidTokenError as exc:
        return _invalid(f"the token is not valid: {exc}")
    if not _audience_matches(claims, config.audience):
        return _invalid("the token's audience is not the authorizer's")
    granted = _scopes(claims)
    if scopes and not set(scopes) & set(granted or ()):
        wanted = " ".join(scopes)
        challenge = f'Bearer scope="{wanted}" error="insufficient_scope" error_description="expected scopes: [{wanted}]"'
        return Refuse(403, {"message": "Forbidden"}, {"www-authenticate": challenge})
    return Allow({"jwt": {"claims": {k: _as_string(v) for k, v in claims.items()}, "scopes": granted}})


def _invalid(why: str) -> Refuse:
    return Refuse(401, {"message": "Unauthorized"},
                  {"www-authenticate": f'Bearer scope="" error="invalid_token" error_description="{why}"'})  # fmt: skip


def _audience_matches(claims: Mapping[str, object], audience: tuple[str, ...]) -> bool:
    aud = claims.get("aud", claims.get("client_id"))
    given = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    return any(a in audience for a in given if isinstance(a, str))


def _scopes(claims: Mapping[str, object]) -> list[str] | None:
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            return value.split()
        if isinstance(value, list):
            return [v for v in value if isinstance(v, str)]
    return None


def _as_string(value: object) -> str:
    """A claim as API Gateway passes it on: strings as they are, lists as ``[a b]``, others as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + " ".join(_as_string(v) for v in value) + "]"
    return json.dumps(value)
