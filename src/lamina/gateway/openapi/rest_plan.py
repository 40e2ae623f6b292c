"""A Swagger 2.0 or OpenAPI 3 definition as a REST API: its resources, methods, Lambda proxy
integrations and authorizers, checked as PutMethod, PutIntegration and CreateAuthorizer check them
before anything is made. Pure.

What API Gateway reads and Lamina serves: each path (its resources, one a path part) and its
operations (``x-amazon-apigateway-any-method`` is ``ANY``); an operation's
``x-amazon-apigateway-integration`` (every type AWS has is stored, ``aws_proxy`` to a function and
``mock`` are served; its ``responses`` are the integration responses, by selection pattern or
``default``); ``security`` naming a scheme whose ``x-amazon-apigateway-authorizer`` is ``token``,
``request`` or ``cognito_user_pools``, one whose ``x-amazon-apigateway-authtype`` is ``awsSigv4``
(``AWS_IAM``), an ``apiKey`` in the ``x-api-key`` header (``apiKeyRequired``: such a method answers
403, Lamina having no API keys), or ``NONE`` (no scheme of that name: SAM's method without
authorization); ``x-amazon-apigateway-binary-media-types``. Unknown ``x-amazon-apigateway-*``
extensions are warnings. A method guarded by a scheme the definition does not have, or that Lamina
does not enforce, is refused: it would be served open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from lamina.gateway.http.errors import BadRequest as HttpBadRequest
from lamina.gateway.openapi.document import ANY_METHOD, METHODS, DocumentError, base_path, mapping
from lamina.gateway.openapi.document import API_KEY, SIGV4, capped, plain_schemes, security_schemes, title
from lamina.gateway.openapi.document import with_base_path
from lamina.gateway.openapi.http_plan import PREFIX, Place, check_function
from lamina.gateway.rest import paths
from lamina.gateway.rest.authorizers import Authorizer, validate
from lamina.gateway.rest.errors import BadRequest
from lamina.gateway.rest.integrations import function_of, validate_integration

MAX_RESOURCES = 300  # API Gateway's quota of resources per REST API
MAX_AUTHORIZERS = 10
KNOWN_TOP = frozenset({f"{PREFIX}{n}" for n in ("binary-media-types", "importexport-version", "endpoint-configuration",
                                                "minimum-compression-size", "api-key-source", "policy",
                                                "request-validators", "gateway-responses", "documentation",
                                                "tag-value")})  # fmt: skip
KNOWN_OPERATION = frozenset({f"{PREFIX}{n}" for n in ("integration", "request-validator", "auth")}) | {ANY_METHOD}


@dataclass(frozen=True)
class PlannedIntegration:
    type: str
    uri: str | None
    http_method: str | None
    timeout_ms: int | None
    extra: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class PlannedMethod:
    path: str  # "/pets/{id}"
    http_method: str
    authorization_type: str = "NONE"
    authorizer: str | None = None  # the authorizer's name
    integration: PlannedIntegration | None = None
    extra: Mapping[str, object] = field(default_factory=dict)  # operationName, authorizationScopes
    api_key_required: bool = False


@dataclass(frozen=True)
class RestDefinition:
    name: str
    description: str | None
    binary_media_types: tuple[str, ...]
    authorizers: Mapping[str, Authorizer]  # by name (ids are given when they are made)
    methods: tuple[PlannedMethod, ...]
    warnings: tuple[str, ...] = ()

    @property
    def paths(self) -> list[str]:
        """Every resource path the methods need, parents first."""
        found: set[str] = set()
        for method in self.methods:
            parts = [p for p in method.path.split("/") if p]
            for i in range(1, len(parts) + 1):
                found.add("/" + "/".join(parts[:i]))
        return sorted(found, key=lambda p: (p.count("/"), p))


def plan(document: Mapping[str, Any], place: Place, basepath: str | None = None) -> RestDefinition:
    """The REST API ``document`` defines; ``DocumentError`` or ``BadRequest`` if it cannot be imported."""
    warnings: list[str] = []
    for name in document:
        if name.startswith(PREFIX) and name not in KNOWN_TOP:
            warnings.append(f"Unsupported extension {name} at the definition: ignored")
    info = mapping(document, document.get("info"), "info")
    schemes = _schemes(document, place)
    plain = plain_schemes(document)  # SigV4 (AWS_IAM) and API keys: no authorizer of their own
    base = base_path(document)
    methods: list[PlannedMethod] = []
    global_security = document.get("security")
    for path, item_doc in mapping(document, document.get("paths"), "paths").items():
        if path.startswith("x-"):
            continue
        full = "/" + "/".join(p for p in with_base_path(basepath, base, path).split("/") if p)
        _check_path(full)
        item = mapping(document, item_doc, f"paths.'{path}'")
        for method, operation_doc in item.items():
            verb = "ANY" if method == ANY_METHOD else method.upper() if method in METHODS else None
            if verb is None:
                if method.startswith(PREFIX):
                    warnings.append(f"Unsupported extension {method} at paths.'{path}': ignored")
                continue
            where = f"paths.'{path}'({method})"
            operation = mapping(document, operation_doc, where)
            for name in operation:
                if name.startswith(PREFIX) and name not in KNOWN_OPERATION:
                    warnings.append(f"Unsupported extension {name} at {where}: ignored")
            security = operation["security"] if "security" in operation else global_security
            kind, authorizer, scopes, api_key = _authorization(security, schemes, plain, where)
            extra: dict[str, object] = {}
            if isinstance(operation.get("operationId"), str):
                extra["operationName"] = operation["operationId"]
            if scopes:
                extra["authorizationScopes"] = scopes
            methods.append(PlannedMethod(full, verb, kind, authorizer,
                                         _integration(document, operation, where, place), extra, api_key))  # fmt: skip
    binary = document.get(f"{PREFIX}binary-media-types")
    description = info.get("description")
    found = RestDefinition(
        title(document)[:1024], description if isinstance(description, str) else None,
        tuple(str(b) for b in binary) if isinstance(binary, list) else (), schemes, tuple(methods), capped(warnings),
    )  # fmt: skip
    if len(found.paths) > MAX_RESOURCES:
        raise DocumentError(f"Invalid OpenAPI input: more than {MAX_RESOURCES} resources, API Gateway's limit")
    return found


def _check_path(path: str) -> None:
    seen_greedy = False
    for part in [p for p in path.split("/") if p]:
        error = paths.path_part_error(part)
        if error is not None or seen_greedy:
            raise DocumentError(f"Invalid OpenAPI input: path {path}: {error or 'nothing may follow a greedy part'}")
        seen_greedy = paths.is_greedy(part)


def _integration(document: Mapping[str, Any], operation: Mapping[str, Any], where: str,
                 place: Place) -> PlannedIntegration | None:  # fmt: skip
    spec_doc = operation.get(f"{PREFIX}integration")
    if spec_doc is None:
        return None
    spec = mapping(document, spec_doc, f"{where}.{PREFIX}integration")
    kind = str(spec.get("type", "")).upper()
    uri = spec.get("uri")
    method = spec.get("httpMethod")
    timeout = spec.get("timeoutInMillis")
    if uri is not None and not isinstance(uri, str) or method is not None and not isinstance(method, str) or (
            timeout is not None and (not isinstance(timeout, int) or isinstance(timeout, bool))):  # fmt: skip
        raise DocumentError(f"Invalid OpenAPI input: {where}.{PREFIX}integration: uri and httpMethod must be "
                            "strings, timeoutInMillis a number")  # fmt: skip
    try:
        validate_integration(kind, uri, method.upper() if method else None, timeout)
    except BadRequest as exc:
        raise BadRequest(f"{exc.message} (at {where})") from None
    function = function_of(kind, uri)
    if function is not None:
        _local(function, place, where)
    extra: dict[str, object] = {k: spec[k] for k in ("passthroughBehavior", "requestTemplates", "requestParameters", "contentHandling",
                                  "cacheKeyParameters", "cacheNamespace", "credentials") if k in spec}  # fmt: skip
    responses = _responses(document, spec.get("responses"), where)
    if responses:
        extra["integrationResponses"] = responses
    return PlannedIntegration(kind, uri, method.upper() if method else None, timeout, extra)


def _responses(document: Mapping[str, Any], value: Any, where: str) -> dict[str, object]:
    """An integration's ``responses`` (by selection pattern, or ``default``) as its integration
    responses (by status code), as PutIntegrationResponse stores them."""
    if value is None:
        return {}
    found: dict[str, object] = {}
    for pattern, response_doc in mapping(document, value, f"{where}.{PREFIX}integration.responses").items():
        response = mapping(document, response_doc, f"{where}.{PREFIX}integration.responses.{pattern}")
        status = str(response.get("statusCode", ""))
        if not (status.isdigit() and len(status) == 3):
            raise DocumentError(f"Invalid OpenAPI input: {where}.{PREFIX}integration.responses.{pattern}: statusCode "
                                "must be an HTTP status code")  # fmt: skip
        doc: dict[str, object] = {"statusCode": status}
        if pattern != "default":
            doc["selectionPattern"] = str(pattern)
        for member in ("responseParameters", "responseTemplates"):
            given = response.get(member)
            if isinstance(given, dict) and all(isinstance(v, str) for v in given.values()):
                doc[member] = {str(k): v for k, v in given.items()}
            elif given is not None:
                raise DocumentError(f"Invalid OpenAPI input: {where}.{PREFIX}integration.responses.{pattern}.{member} "
                                    "must map names to strings")  # fmt: skip
        found[status] = doc
    return found


def _local(function: str, place: Place, where: str) -> None:
    try:
        check_function(function, place, where)
    except HttpBadRequest as exc:
        raise BadRequest(exc.message) from None


def _schemes(document: Mapping[str, Any], place: Place) -> dict[str, Authorizer]:
    """The definition's authorizers by scheme name; schemes without one (API keys, SigV4) are absent."""
    found: dict[str, Authorizer] = {}
    for name, scheme_doc in security_schemes(document).items():
        where = f"securitySchemes.{name}"
        scheme = mapping(document, scheme_doc, where)
        spec_doc = scheme.get(f"{PREFIX}authorizer")
        if spec_doc is None:
            continue
        spec = mapping(document, spec_doc, f"{where}.{PREFIX}authorizer")
        kind = str(spec.get("type", "")).upper()
        source = spec.get("identitySource")
        if source is None and kind == "TOKEN" and scheme.get("in") == "header" and isinstance(scheme.get("name"), str):
            source = f"method.request.header.{scheme['name']}"
        ttl = spec.get("authorizerResultTtlInSeconds", 300)
        arns = spec.get("providerARNs")
        expression = spec.get("identityValidationExpression")
        authorizer = Authorizer(
            "", name, kind, spec.get("authorizerUri") if isinstance(spec.get("authorizerUri"), str) else None,
            source if isinstance(source, str) else None, expression if isinstance(expression, str) else None,
            ttl if isinstance(ttl, int) and not isinstance(ttl, bool) else -1,
            tuple(str(a) for a in arns) if isinstance(arns, list) else (),
            {k: v for k in ("authType", "authorizerCredentials") if isinstance(v := spec.get(k), str)},
        )  # fmt: skip
        try:
            validate(authorizer)
        except BadRequest as exc:
            raise BadRequest(f"{exc.message} (at {where})") from None
        function = authorizer.function()
        if function is not None:
            _local(function, place, where)
        if len(found) >= MAX_AUTHORIZERS:
            raise DocumentError(f"Invalid OpenAPI input: more than {MAX_AUTHORIZERS} authorizers, API Gateway's limit")
        found[name] = authorizer
    return found


def _authorization(security: Any, schemes: Mapping[str, Authorizer], plain: Mapping[str, str],
                   where: str) -> tuple[str, str | None, list[str], bool]:  # fmt: skip
    """(authorization type, authorizer name, scopes, whether an API key is required) from an
    OpenAPI ``security`` list: its first requirement, every scheme it names (an API key beside
    an authorizer or SigV4, as API Gateway has them)."""
    if security is None or security == [] or security == [{}]:
        return "NONE", None, [], False
    if not isinstance(security, list) or not all(isinstance(s, dict) for s in security):
        raise DocumentError(f"Invalid OpenAPI input: {where}.security must be a list of objects")
    kind, found, api_key = "NONE", None, False
    scopes: list[str] = []
    for name, given in security[0].items():
        if plain.get(name) == API_KEY:
            api_key = True
        elif plain.get(name) == SIGV4:
            kind, found, scopes = "AWS_IAM", None, []
        elif name == "NONE" and name not in schemes:  # SAM's spelling of a method without authorization
            continue
        elif (authorizer := schemes.get(name)) is not None:
            kind = "COGNITO_USER_POOLS" if authorizer.type == "COGNITO_USER_POOLS" else "CUSTOM"
            found, scopes = name, [str(s) for s in given] if isinstance(given, list) else []
        else:
            raise BadRequest(f"Invalid OpenAPI input: {where}.security names {name}, which is no security scheme "
                             "Lamina enforces (an x-amazon-apigateway-authorizer of type token, request or "
                             "cognito_user_pools, awsSigv4, or an API key in x-api-key), and Lamina never serves "
                             "such a method open")  # fmt: skip
    return kind, found, scopes, api_key

