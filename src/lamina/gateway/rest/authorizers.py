"""A REST API's authorizers: the record AWS answers with, which ones AWS accepts, their patch paths.

Types ``TOKEN`` and ``REQUEST`` are Lambda authorizers, enforced by the data plane
(``authorizing.py``): their ``authorizerUri`` is Lambda's Invoke path in API Gateway's form::

    arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function-arn}/invocations

A TOKEN authorizer reads one header (``method.request.header.X``) and may check it against
``identityValidationExpression``; a REQUEST authorizer reads a comma-separated list of headers,
query string parameters, stage variables and context values. ``COGNITO_USER_POOLS`` authorizers
are stored (with their ``providerARNs``) but not enforced: a method that uses one answers 500, so
it is never served open. ``JWT`` is HTTP APIs' and refused here, as AWS refuses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Mapping

from lamina.gateway.authorizers.identity import IdentitySource, InvalidIdentitySource
from lamina.gateway.rest.errors import BadRequest
from lamina.gateway.rest.integrations import function_of

if TYPE_CHECKING:  # patches.py reads model.py, which reads this module
    from lamina.gateway.rest.patches import Patch

TYPES = ("TOKEN", "REQUEST", "COGNITO_USER_POOLS")
LAMBDA_TYPES = ("TOKEN", "REQUEST")
DEFAULT_TTL = 300
MAX_TTL = 3600
INVALID_AUTHORIZER = "Invalid Authorizer identifier specified"
INVALID_AUTHORIZER_ID = ("Invalid authorizer ID specified. Setting the authorization type to CUSTOM or "
                         "COGNITO_USER_POOLS requires a valid authorizer.")  # fmt: skip
_TOKEN_SOURCE = re.compile(r"^method\.request\.header\.[a-zA-Z0-9._-]+$")


@dataclass(frozen=True)
class Authorizer:
    id: str
    name: str
    type: str
    uri: str | None = None
    identity_source: str | None = None
    validation_expression: str | None = None
    ttl: int = DEFAULT_TTL
    provider_arns: tuple[str, ...] = ()
    extra: Mapping[str, object] = field(default_factory=dict)  # authType, authorizerCredentials

    def doc(self) -> dict[str, object]:
        out: dict[str, object] = {"id": self.id, "name": self.name, "type": self.type}
        if self.provider_arns:
            out["providerARNs"] = list(self.provider_arns)
        out.update(self.extra)
        if self.uri is not None:
            out["authorizerUri"] = self.uri
        if self.identity_source is not None:
            out["identitySource"] = self.identity_source
        if self.validation_expression is not None:
            out["identityValidationExpression"] = self.validation_expression
        out["authorizerResultTtlInSeconds"] = self.ttl
        return out

    @staticmethod
    def from_doc(doc: Mapping[str, object]) -> Authorizer:
        def text(key: str) -> str | None:
            value = doc.get(key)
            return value if isinstance(value, str) else None

        ttl = doc.get("authorizerResultTtlInSeconds")
        arns = doc.get("providerARNs")
        return Authorizer(
            text("id") or "", text("name") or "", text("type") or "", text("authorizerUri"), text("identitySource"),
            text("identityValidationExpression"), ttl if isinstance(ttl, int) else DEFAULT_TTL,
            tuple(a for a in arns if isinstance(a, str)) if isinstance(arns, list) else (),
            {k: v for k in ("authType", "authorizerCredentials") if isinstance(v := doc.get(k), str)},
        )  # fmt: skip

    def sources(self) -> list[IdentitySource]:
        """The identity sources, in order (validated when the authorizer was stored)."""
        if not self.identity_source:
            return []
        return [IdentitySource.parse(s, rest_api=True) for s in self.identity_source.split(",") if s.strip()]

    def function(self) -> str | None:
        """The function's ARN (maybe naming stage variables), for a Lambda authorizer."""
        return function_of("AWS_PROXY", self.uri)


def validate(authorizer: Authorizer) -> None:
    """BadRequest, in AWS's words where known, for an authorizer AWS would refuse."""
    a = authorizer
    if a.type not in TYPES:
        raise BadRequest(f"1 validation error detected: Value '{a.type}' at 'createAuthorizerInput.type' failed to "
                         f"satisfy constraint: Member must satisfy enum value set: [{', '.join(TYPES)}]")  # fmt: skip
    if not a.name:
        raise BadRequest("Authorizer name must be specified")
    if not 0 <= a.ttl <= MAX_TTL:
        raise BadRequest(f"Invalid authorizer TTL specified: {a.ttl}. The TTL must be between 0 and {MAX_TTL} seconds.")
    if a.type == "COGNITO_USER_POOLS":
        if not a.provider_arns:
            raise BadRequest("ProviderARNs must be specified for authorizers of type COGNITO_USER_POOLS")
        return
    if a.function() is None:
        raise BadRequest(f"Invalid Authorizer URI: {a.uri}. Authorizer URI should be a valid API Gateway ARN that "
                         "represents a Lambda function invocation.")  # fmt: skip
    if a.type == "TOKEN":
        if not a.identity_source or not _TOKEN_SOURCE.match(a.identity_source):
            raise BadRequest(f"Invalid token source expression: {a.identity_source}. The source must be a method "
                             "request header, matching 'method.request.header.[a-zA-Z0-9._-]+'.")  # fmt: skip
        if a.validation_expression is not None:
            try:
                re.compile(a.validation_expression)
            except re.error:
                raise BadRequest(f"Invalid identity validation expression specified: {a.validation_expression}") from None
        return
    try:
        sources = a.sources()
    except InvalidIdentitySource as exc:
        raise BadRequest(exc.message) from None
    if a.ttl > 0 and not sources:
        raise BadRequest("Identity source must be set if authorizer caching is enabled (TTL is greater than 0)")


def check_method(authorization_type: str, authorizer_id: object, authorizers: Mapping[str, Authorizer]) -> None:
    """A CUSTOM method needs one of the API's Lambda authorizers, a COGNITO_USER_POOLS one a Cognito one."""
    if authorization_type not in ("CUSTOM", "COGNITO_USER_POOLS"):
        return
    found = authorizers.get(authorizer_id) if isinstance(authorizer_id, str) else None
    wanted = LAMBDA_TYPES if authorization_type == "CUSTOM" else ("COGNITO_USER_POOLS",)
    if found is None or found.type not in wanted:
        raise BadRequest(INVALID_AUTHORIZER_ID)


def patch_authorizer(authorizer: Authorizer, patch: Patch) -> Authorizer:
    a, value, op = authorizer, patch.value, patch.op
    if op == "replace" and patch.path == "/name" and value:
        return replace(a, name=value)
    if op == "replace" and patch.path == "/type" and value:
        return replace(a, type=value)
    if op == "replace" and patch.path == "/authorizerResultTtlInSeconds":
        if not (value or "").isdigit():
            raise BadRequest(f"Invalid authorizer TTL specified: {value}. The TTL must be between 0 and {MAX_TTL} seconds.")
        return replace(a, ttl=int(value or "0"))
    given = None if op == "remove" else value
    if op in ("replace", "add", "remove"):
        if patch.path == "/authorizerUri":
            return replace(a, uri=given)
        if patch.path == "/identitySource":
            return replace(a, identity_source=given)
        if patch.path == "/identityValidationExpression":
            return replace(a, validation_expression=given)
    if patch.path in ("/authType", "/authorizerCredentials") and op in ("replace", "add", "remove"):
        extra = {k: v for k, v in a.extra.items() if k != patch.path[1:]}
        if op != "remove" and value:
            extra[patch.path[1:]] = value
        return replace(a, extra=extra)
    if patch.path.startswith("/providerARNs") and op in ("add", "remove") and value:
        kept = tuple(arn for arn in a.provider_arns if arn != value)
        return replace(a, provider_arns=kept + ((value,) if op == "add" else ()))
    raise patch.invalid()
