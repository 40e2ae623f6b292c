"""An OpenAPI definition as an HTTP API: its routes, integrations, authorizers and CORS, checked
as CreateRoute, CreateIntegration and CreateAuthorizer check them. Pure (ids are drawn here).

What API Gateway reads (its "OpenAPI extensions" for HTTP APIs):

- each path's operations (``get``, ``post``, ..., ``x-amazon-apigateway-any-method`` for ``ANY``;
  a path ``$default`` with that one is the ``$default`` route), each a route;
- ``x-amazon-apigateway-integration`` of an operation (or a ``$ref`` to
  ``components.x-amazon-apigateway-integrations``): ``type: aws_proxy``, ``uri``,
  ``payloadFormatVersion`` (``1.0`` when absent), ``timeoutInMillis``. Identical ones are one
  integration;
- ``security`` (the operation's, else the document's) naming a security scheme whose
  ``x-amazon-apigateway-authorizer`` is ``type: jwt`` (``jwtConfiguration``) or ``type: request``
  (a Lambda authorizer), one whose ``x-amazon-apigateway-authtype`` is ``awsSigv4`` (``AWS_IAM``),
  or ``NONE`` (SAM's route without authorization, when no scheme has that name);
- ``x-amazon-apigateway-cors``, ``x-amazon-apigateway-disable-execute-api-endpoint``, and tags'
  ``x-amazon-apigateway-tag-value``.

What Lamina does not serve becomes a warning (ImportApi's ``warnings``; with ``failOnWarnings``, a
refusal): integrations other than Lambda proxies (the route is imported without one) and unknown
``x-amazon-apigateway-*`` extensions. What would serve a guarded route open is refused outright:
a ``security`` naming no scheme, or a scheme without an authorizer Lamina serves (API keys, which
HTTP APIs do not have). A function of another account or region is refused too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from lamina.control.targets import parse_function_arn
from lamina.gateway.http import integrations as uris
from lamina.gateway.http.authorizers import authorizer_from, route_authorization
from lamina.gateway.http.errors import BadRequest
from lamina.gateway.http.inputs import new_id
from lamina.gateway.http.model import Authorizer, Integration, Route, cors_from
from lamina.gateway.http.routing import DEFAULT_ROUTE, InvalidRouteKey, parse_route_key
from lamina.gateway.openapi.document import ANY_METHOD, METHODS, DocumentError, base_path, mapping
from lamina.gateway.openapi.document import SIGV4, capped, plain_schemes, security_schemes, title, with_base_path
from lamina.model import UrlCors

MAX_ROUTES = 300  # API Gateway's quota of routes per API
MAX_AUTHORIZERS = 10
PREFIX = "x-amazon-apigateway-"
KNOWN_TOP = frozenset({f"{PREFIX}{n}" for n in ("cors", "importexport-version", "disable-execute-api-endpoint",
                                                "integrations", "tag-value")})  # fmt: skip
KNOWN_OPERATION = frozenset({f"{PREFIX}integration", ANY_METHOD})


@dataclass(frozen=True)
class Place:
    """Where the API's functions must live: Lamina invokes functions of its own account and region."""

    account: str
    region: str


@dataclass(frozen=True)
class HttpDefinition:
    name: str
    description: str | None
    version: str | None
    cors: UrlCors | None
    disable_execute_api_endpoint: bool
    tags: Mapping[str, str]
    routes: Mapping[str, Route]  # by id
    integrations: Mapping[str, Integration]
    authorizers: Mapping[str, Authorizer]
    warnings: tuple[str, ...] = field(default_factory=tuple)


def plan(document: Mapping[str, Any], place: Place, basepath: str | None = None) -> HttpDefinition:
    """The HTTP API ``document`` defines; ``DocumentError`` or ``BadRequest`` if it cannot be imported."""
    warnings: list[str] = []
    info = mapping(document, document.get("info"), "info")
    _unknown_extensions(document, KNOWN_TOP, "the definition", warnings)
    cors_doc = document.get(f"{PREFIX}cors")
    cors = _cors(mapping(document, cors_doc, f"{PREFIX}cors")) if cors_doc is not None else None
    authorizers = _authorizers(document, place)
    by_name = {a.name: a for a in authorizers.values()}
    plain = plain_schemes(document)  # SigV4 (AWS_IAM) and API keys: no authorizer of their own
    integrations: dict[tuple[str, str, int], Integration] = {}
    routes: dict[str, Route] = {}
    base = base_path(document)
    paths = mapping(document, document.get("paths"), "paths")
    global_security = document.get("security")
    for path, item_doc in paths.items():
        if path.startswith("x-"):
            continue
        item = mapping(document, item_doc, f"paths.'{path}'")
        _unknown_extensions(item, KNOWN_OPERATION, f"paths.'{path}'", warnings)
        for method, operation_doc in item.items():
            verb = "ANY" if method == ANY_METHOD else method.upper() if method in METHODS else None
            if verb is None:
                continue
            where = f"paths.'{path}'({method})"
            operation = mapping(document, operation_doc, where)
            _unknown_extensions(operation, KNOWN_OPERATION, where, warnings)
            key = _route_key(verb, path, base, basepath)
            if any(r.route_key == key for r in routes.values()):
                raise DocumentError(f"Invalid OpenAPI input: route {key} is defined twice")
            if len(routes) >= MAX_ROUTES:
                raise DocumentError(f"Invalid OpenAPI input: more than {MAX_ROUTES} routes, API Gateway's limit")
            target = _integration(document, operation, where, place, integrations, warnings)
            operation_id = operation.get("operationId")
            route = Route(new_id(), key, f"integrations/{target.integration_id}" if target else None,
                          operation_name=operation_id[:64] if isinstance(operation_id, str) else None)  # fmt: skip
            security = operation["security"] if "security" in operation else global_security
            route = route_authorization(route, _authorization(security, by_name, where, warnings, plain), authorizers)
            routes[route.route_id] = route
    description, version = info.get("description"), info.get("version")
    return HttpDefinition(
        name=title(document)[:128], description=description if isinstance(description, str) else None,
        version=str(version)[:64] if isinstance(version, (str, int, float)) else None, cors=cors,
        disable_execute_api_endpoint=document.get(f"{PREFIX}disable-execute-api-endpoint") is True,
        tags=_tags(document), routes=routes, integrations={i.integration_id: i for i in integrations.values()},
        authorizers=authorizers, warnings=capped(warnings),
    )  # fmt: skip


def _unknown_extensions(node: Mapping[str, Any], known: frozenset[str], where: str, warnings: list[str]) -> None:
    for name in node:
        if name.startswith(PREFIX) and name not in known:
            warnings.append(f"Unsupported extension {name} at {where}: ignored")


def _route_key(verb: str, path: str, base: str, basepath: str | None) -> str:
    if path == DEFAULT_ROUTE:
        if verb != "ANY":
            raise DocumentError(f"Invalid OpenAPI input: the $default path takes {ANY_METHOD} only")
        key = DEFAULT_ROUTE
    else:
        key = f"{verb} {with_base_path(basepath, base, path)}"
    try:
        parse_route_key(key)
    except InvalidRouteKey as exc:
        raise DocumentError(f"Invalid OpenAPI input: {exc}") from None
    return key


def _cors(doc: Mapping[str, Any]) -> UrlCors:
    max_age = doc.get("maxAge")
    if max_age is not None and (not isinstance(max_age, int) or not -1 <= max_age <= 86400):
        raise DocumentError("Invalid OpenAPI input: x-amazon-apigateway-cors.maxAge must be between -1 and 86400")
    for name in ("allowOrigins", "allowMethods", "allowHeaders", "exposeHeaders"):
        value = doc.get(name)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            raise DocumentError(f"Invalid OpenAPI input: x-amazon-apigateway-cors.{name} must be a list of strings")
    return cors_from(doc)


def check_function(function: str, place: Place, where: str) -> None:
    """Refuse a function of another account or region: Lamina would invoke its own namesake."""
    parts = parse_function_arn(function)
    if parts is not None and (parts.account, parts.region) != (place.account, place.region):
        raise BadRequest(f"Invalid integration URI at {where}: {function} is a function of account {parts.account} "
                         f"in {parts.region}; Lamina invokes functions of this API's account ({place.account}) "
                         f"in {place.region}")  # fmt: skip


def _integration(document: Mapping[str, Any], operation: Mapping[str, Any], where: str, place: Place,
                 made: dict[tuple[str, str, int], Integration], warnings: list[str]) -> Integration | None:  # fmt: skip
    spec_doc = operation.get(f"{PREFIX}integration")
    if spec_doc is None:
        return None
    spec = mapping(document, spec_doc, f"{where}.{PREFIX}integration")
    kind = str(spec.get("type", "")).upper()
    if kind != "AWS_PROXY":
        warnings.append(f"Unsupported integration type {kind or '(none)'} at {where}: Lamina serves AWS_PROXY "
                        "(Lambda) integrations; the route is imported without an integration")  # fmt: skip
        return None
    version = spec.get("payloadFormatVersion", "1.0")
    body: dict[str, object] = {
        "integrationType": "AWS_PROXY", "integrationUri": spec.get("uri"),
        "payloadFormatVersion": str(version) if isinstance(version, (str, float)) else version,
        "integrationMethod": str(spec.get("httpMethod", "POST")).upper(),
    }  # fmt: skip
    if "timeoutInMillis" in spec:
        body["timeoutInMillis"] = spec["timeoutInMillis"]
    try:
        integration = uris.integration_from(None, body)
    except BadRequest as exc:
        raise BadRequest(f"{exc.message} (at {where})") from None
    check_function(integration.function_arn, place, where)
    key = (integration.uri, integration.payload_format_version, integration.timeout_ms)
    return made.setdefault(key, integration)


def _identity_source(value: Any) -> list[str]:
    if isinstance(value, str):
        return [s.strip() for s in value.split(",") if s.strip()]
    if isinstance(value, list):
        return [str(s) for s in value]
    return []


def _authorizers(document: Mapping[str, Any], place: Place) -> dict[str, Authorizer]:
    found: dict[str, Authorizer] = {}
    for name, scheme_doc in security_schemes(document).items():
        scheme = mapping(document, scheme_doc, f"securitySchemes.{name}")
        spec_doc = scheme.get(f"{PREFIX}authorizer")
        if spec_doc is None:
            continue
        spec = mapping(document, spec_doc, f"securitySchemes.{name}.{PREFIX}authorizer")
        kind = str(spec.get("type", "")).lower()
        body: dict[str, object] = {"name": name, "identitySource": _identity_source(spec.get("identitySource"))}
        if kind == "jwt":
            jwt = mapping(document, spec.get("jwtConfiguration"), f"securitySchemes.{name}.jwtConfiguration")
            audience = jwt.get("audience")
            body.update(authorizerType="JWT", jwtConfiguration={
                "issuer": jwt.get("issuer"), "audience": [audience] if isinstance(audience, str) else audience})
        elif kind == "request":
            body.update(authorizerType="REQUEST", authorizerUri=spec.get("authorizerUri"),
                        authorizerPayloadFormatVersion=str(spec.get("authorizerPayloadFormatVersion", "")) or None,
                        enableSimpleResponses=spec.get("enableSimpleResponses") is True,
                        authorizerResultTtlInSeconds=spec.get("authorizerResultTtlInSeconds", 0))  # fmt: skip
            if isinstance(spec.get("authorizerCredentials"), str):
                body["authorizerCredentialsArn"] = spec["authorizerCredentials"]
        else:
            raise DocumentError(f"Invalid OpenAPI input: securitySchemes.{name}: authorizer type {kind or '(none)'} "
                                "is not one HTTP APIs have (jwt or request)")  # fmt: skip
        if len(found) >= MAX_AUTHORIZERS:
            raise DocumentError(f"Invalid OpenAPI input: more than {MAX_AUTHORIZERS} authorizers, API Gateway's limit")
        authorizer_id = new_id()[:6]
        try:
            authorizer = authorizer_from(None, body, authorizer_id)
        except BadRequest as exc:
            raise BadRequest(f"{exc.message} (at securitySchemes.{name})") from None
        if authorizer.function_arn is not None:
            check_function(authorizer.function_arn, place, f"securitySchemes.{name}")
        found[authorizer_id] = authorizer
    return found


def _authorization(security: Any, authorizers: Mapping[str, Authorizer], where: str, warnings: list[str],
                   plain: Mapping[str, str]) -> dict[str, object]:  # fmt: skip
    """The route's authorization (CreateRoute's members) from an OpenAPI ``security`` list."""
    if security is None or security == [] or security == [{}]:
        return {"authorizationType": "NONE"}
    if not isinstance(security, list) or not all(isinstance(s, dict) for s in security):
        raise DocumentError(f"Invalid OpenAPI input: {where}.security must be a list of objects")
    names = [(name, scopes) for requirement in security for name, scopes in requirement.items()]
    if len(names) > 1:
        warnings.append(f"Only one authorizer is supported per route; {where} uses {names[0][0]}")
    name, scopes = names[0]
    if name == "NONE" and name not in authorizers:  # SAM's spelling of a route opted out of the default authorizer
        return {"authorizationType": "NONE"}
    if plain.get(name) == SIGV4:
        return {"authorizationType": "AWS_IAM"}
    authorizer = authorizers.get(name)
    if authorizer is None:
        raise BadRequest(f"Invalid OpenAPI input: {where}.security names {name}, which is no security scheme with an "
                         "x-amazon-apigateway-authorizer of type jwt or request, nor awsSigv4 (Lamina never serves "
                         "such a route open)")  # fmt: skip
    body: dict[str, object] = {"authorizerId": authorizer.authorizer_id}
    if authorizer.type == "JWT":
        body.update(authorizationType="JWT", authorizationScopes=scopes if isinstance(scopes, list) and scopes else None)
    else:
        body["authorizationType"] = "CUSTOM"
    return body


def _tags(document: Mapping[str, Any]) -> dict[str, str]:
    tags = document.get("tags")
    found: dict[str, str] = {}
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, dict) and isinstance(tag.get("name"), str) and f"{PREFIX}tag-value" in tag:
            found[tag["name"]] = str(tag[f"{PREFIX}tag-value"])
    return found
