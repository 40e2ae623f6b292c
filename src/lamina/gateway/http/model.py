"""An HTTP API's resources as values: the API, its routes, integrations, authorizers, stages and deployments.

Each is a frozen dataclass whose ``wire()`` is its shape in the ``apigatewayv2`` API (the JSON
members botocore's model names, camelCase) and whose stored document is that shape too
(``doc()``/``from_doc``), so what is stored is what GetApi and its siblings answer. A deployment
also keeps the routes, integrations and authorizers it froze: a stage without AutoDeploy serves those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from lamina.model import UrlCors

ROUTE_SELECTION = "$request.method $request.path"
API_KEY_SELECTION = "$request.header.x-api-key"
DEFAULT_STAGE = "$default"
DEFAULT_TIMEOUT_MS = 30000


def _strs(value: object) -> tuple[str, ...] | None:
    return tuple(str(v) for v in value) if isinstance(value, list) else None


def cors_wire(cors: UrlCors) -> dict[str, object]:
    doc: dict[str, object] = {}
    for key, value in (("allowCredentials", cors.allow_credentials), ("allowHeaders", cors.allow_headers),
                       ("allowMethods", cors.allow_methods), ("allowOrigins", cors.allow_origins),
                       ("exposeHeaders", cors.expose_headers), ("maxAge", cors.max_age)):  # fmt: skip
        if value is not None:
            doc[key] = list(value) if isinstance(value, tuple) else value
    return doc


def cors_from(doc: Mapping[str, object]) -> UrlCors:
    credentials, max_age = doc.get("allowCredentials"), doc.get("maxAge")
    return UrlCors(
        allow_credentials=credentials if isinstance(credentials, bool) else None,
        allow_headers=_strs(doc.get("allowHeaders")), allow_methods=_strs(doc.get("allowMethods")),
        allow_origins=_strs(doc.get("allowOrigins")), expose_headers=_strs(doc.get("exposeHeaders")),
        max_age=max_age if isinstance(max_age, int) and not isinstance(max_age, bool) else None,
    )  # fmt: skip


def _str_map(value: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _opt(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _str_tuple(value: object) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


@dataclass(frozen=True)
class Api:
    api_id: str
    name: str
    created: str  # ISO 8601
    description: str | None = None
    version: str | None = None
    cors: UrlCors | None = None
    disable_execute_api_endpoint: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)

    def wire(self, endpoint: str) -> dict[str, object]:
        doc: dict[str, object] = {
            "apiEndpoint": endpoint, "apiId": self.api_id, "apiKeySelectionExpression": API_KEY_SELECTION,
            "createdDate": self.created, "disableExecuteApiEndpoint": self.disable_execute_api_endpoint,
            "ipAddressType": "ipv4", "name": self.name, "protocolType": "HTTP",
            "routeSelectionExpression": ROUTE_SELECTION, "tags": dict(self.tags),
        }  # fmt: skip
        if self.cors is not None:
            doc["corsConfiguration"] = cors_wire(self.cors)
        if self.description is not None:
            doc["description"] = self.description
        if self.version is not None:
            doc["version"] = self.version
        return doc

    def doc(self) -> dict[str, object]:
        return self.wire("")

    @classmethod
    def from_doc(cls, doc: Mapping[str, object]) -> Api:
        cors = doc.get("corsConfiguration")
        return cls(
            api_id=str(doc["apiId"]), name=str(doc["name"]), created=str(doc["createdDate"]),
            description=_opt(doc.get("description")), version=_opt(doc.get("version")),
            cors=cors_from(cors) if isinstance(cors, dict) else None,
            disable_execute_api_endpoint=doc.get("disableExecuteApiEndpoint") is True, tags=_str_map(doc.get("tags")),
        )  # fmt: skip


@dataclass(frozen=True)
class Route:
    route_id: str
    route_key: str
    target: str | None = None  # "integrations/<id>"
    managed: bool = False  # made by quick create
    operation_name: str | None = None
    authorization_type: str = "NONE"  # NONE, CUSTOM (a Lambda authorizer) or JWT
    authorizer_id: str | None = None
    authorization_scopes: tuple[str, ...] = ()  # JWT only

    def wire(self) -> dict[str, object]:
        doc: dict[str, object] = {
            "apiKeyRequired": False, "authorizationType": self.authorization_type, "routeId": self.route_id,
            "routeKey": self.route_key,
        }  # fmt: skip
        if self.managed:
            doc["apiGatewayManaged"] = True
        if self.authorization_scopes:
            doc["authorizationScopes"] = list(self.authorization_scopes)
        if self.authorizer_id is not None:
            doc["authorizerId"] = self.authorizer_id
        if self.operation_name is not None:
            doc["operationName"] = self.operation_name
        if self.target is not None:
            doc["target"] = self.target
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, object]) -> Route:
        return cls(str(doc["routeId"]), str(doc["routeKey"]), _opt(doc.get("target")),
                   doc.get("apiGatewayManaged") is True, _opt(doc.get("operationName")),
                   str(doc.get("authorizationType") or "NONE"), _opt(doc.get("authorizerId")),
                   _str_tuple(doc.get("authorizationScopes")))  # fmt: skip

    @property
    def integration_id(self) -> str | None:
        if self.target and self.target.startswith("integrations/"):
            return self.target[len("integrations/") :]
        return None


@dataclass(frozen=True)
class Integration:
    integration_id: str
    uri: str  # as given
    function_arn: str  # the function (qualified or not) the uri names
    payload_format_version: str = "2.0"
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    description: str | None = None
    managed: bool = False

    def wire(self) -> dict[str, object]:
        doc: dict[str, object] = {
            "connectionType": "INTERNET", "integrationId": self.integration_id, "integrationMethod": "POST",
            "integrationType": "AWS_PROXY", "integrationUri": self.uri,
            "payloadFormatVersion": self.payload_format_version, "timeoutInMillis": self.timeout_ms,
        }  # fmt: skip
        if self.managed:
            doc["apiGatewayManaged"] = True
        if self.description is not None:
            doc["description"] = self.description
        return doc

    def doc(self) -> dict[str, object]:
        return {**self.wire(), "functionArn": self.function_arn}

    @classmethod
    def from_doc(cls, doc: Mapping[str, object]) -> Integration:
        timeout = doc.get("timeoutInMillis")
        return cls(
            str(doc["integrationId"]), str(doc["integrationUri"]), str(doc["functionArn"]),
            str(doc.get("payloadFormatVersion", "2.0")), timeout if isinstance(timeout, int) else DEFAULT_TIMEOUT_MS,
            _opt(doc.get("description")), doc.get("apiGatewayManaged") is True,
        )  # fmt: skip


@dataclass(frozen=True)
class Authorizer:
    """A Lambda (``REQUEST``) or ``JWT`` authorizer; ``authorizers.py`` checks what AWS accepts."""

    authorizer_id: str
    name: str
    type: str  # REQUEST or JWT
    identity_source: tuple[str, ...] = ()
    uri: str | None = None  # REQUEST: as given
    function_arn: str | None = None  # REQUEST: the function the uri names
    payload_format_version: str | None = None  # REQUEST: 1.0 or 2.0
    simple_responses: bool = False  # REQUEST with payload 2.0
    ttl: int = 0  # REQUEST: seconds its answers are kept
    issuer: str | None = None  # JWT
    audience: tuple[str, ...] = ()  # JWT
    credentials_arn: str | None = None  # stored, not used: Lamina invokes without a role

    def wire(self) -> dict[str, object]:
        doc: dict[str, object] = {"authorizerId": self.authorizer_id, "authorizerType": self.type,
                                  "identitySource": list(self.identity_source), "name": self.name}  # fmt: skip
        if self.credentials_arn is not None:
            doc["authorizerCredentialsArn"] = self.credentials_arn
        if self.type == "REQUEST":
            doc["authorizerPayloadFormatVersion"] = self.payload_format_version
            doc["authorizerResultTtlInSeconds"] = self.ttl
            doc["authorizerUri"] = self.uri
            doc["enableSimpleResponses"] = self.simple_responses
        else:
            doc["jwtConfiguration"] = {"audience": list(self.audience), "issuer": self.issuer}
        return doc

    def doc(self) -> dict[str, object]:
        return {**self.wire(), "functionArn": self.function_arn}

    @classmethod
    def from_doc(cls, doc: Mapping[str, object]) -> Authorizer:
        ttl, jwt = doc.get("authorizerResultTtlInSeconds"), doc.get("jwtConfiguration")
        jwt = jwt if isinstance(jwt, dict) else {}
        return cls(
            str(doc["authorizerId"]), str(doc.get("name", "")), str(doc.get("authorizerType", "")),
            _str_tuple(doc.get("identitySource")), _opt(doc.get("authorizerUri")), _opt(doc.get("functionArn")),
            _opt(doc.get("authorizerPayloadFormatVersion")), doc.get("enableSimpleResponses") is True,
            ttl if isinstance(ttl, int) and not isinstance(ttl, bool) else 0, _opt(jwt.get("issuer")),
            _str_tuple(jwt.get("audience")), _opt(doc.get("authorizerCredentialsArn")),
        )  # fmt: skip


@dataclass(frozen=True)
class Stage:
    name: str
    created: str
    updated: str
    auto_deploy: bool = False
    deployment_id: str | None = None
    description: str | None = None
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    managed: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)

    def wire(self) -> dict[str, object]:
        doc: dict[str, object] = {
            "autoDeploy": self.auto_deploy, "createdDate": self.created,
            "defaultRouteSettings": {"detailedMetricsEnabled": False}, "lastUpdatedDate": self.updated,
            "routeSettings": {}, "stageName": self.name, "stageVariables": dict(self.stage_variables),
            "tags": dict(self.tags),
        }  # fmt: skip
        if self.managed:
            doc["apiGatewayManaged"] = True
        if self.deployment_id is not None:
            doc["deploymentId"] = self.deployment_id
        if self.description is not None:
            doc["description"] = self.description
        if self.auto_deploy and self.deployment_id is not None:
            doc["lastDeploymentStatusMessage"] = f"Successfully deployed stage with deployment ID '{self.deployment_id}'"
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, object]) -> Stage:
        return cls(
            str(doc["stageName"]), str(doc["createdDate"]), str(doc["lastUpdatedDate"]), doc.get("autoDeploy") is True,
            _opt(doc.get("deploymentId")), _opt(doc.get("description")), _str_map(doc.get("stageVariables")),
            doc.get("apiGatewayManaged") is True, _str_map(doc.get("tags")),
        )  # fmt: skip


@dataclass(frozen=True)
class Deployment:
    deployment_id: str
    created: str
    auto_deployed: bool
    description: str | None
    routes: tuple[Route, ...]  # as they were when it was made
    integrations: tuple[Integration, ...]
    authorizers: tuple[Authorizer, ...] = ()

    def wire(self) -> dict[str, object]:
        doc: dict[str, object] = {
            "autoDeployed": self.auto_deployed, "createdDate": self.created, "deploymentId": self.deployment_id,
            "deploymentStatus": "DEPLOYED",
        }  # fmt: skip
        if self.description is not None:
            doc["description"] = self.description
        return doc

    def doc(self) -> dict[str, object]:
        return {**self.wire(), "routes": [r.wire() for r in self.routes],
                "integrations": [i.doc() for i in self.integrations],
                "authorizers": [a.doc() for a in self.authorizers]}  # fmt: skip

    @classmethod
    def from_doc(cls, doc: Mapping[str, object]) -> Deployment:
        routes, integrations, authorizers = doc.get("routes"), doc.get("integrations"), doc.get("authorizers")
        return cls(
            str(doc["deploymentId"]), str(doc["createdDate"]), doc.get("autoDeployed") is True,
            _opt(doc.get("description")),
            tuple(Route.from_doc(r) for r in routes if isinstance(r, dict)) if isinstance(routes, list) else (),
            tuple(Integration.from_doc(i) for i in integrations if isinstance(i, dict))
            if isinstance(integrations, list) else (),
            tuple(Authorizer.from_doc(a) for a in authorizers if isinstance(a, dict))
            if isinstance(authorizers, list) else (),
        )  # fmt: skip
