"""A REST API's control-plane records, each stored as the JSON shape AWS answers with.

``doc()`` is both what the API returns and what the store keeps; ``from_doc`` reads it back at start.
Fields Lamina stores without acting on them (method responses, request templates, ...) travel in
``extra`` as AWS's members.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

from lamina.gateway.rest.authorizers import Authorizer

Doc = Mapping[str, object]


def _str(doc: Doc, key: str, default: str = "") -> str:
    value = doc.get(key)
    return value if isinstance(value, str) else default


def _opt(doc: Doc, key: str) -> str | None:
    value = doc.get(key)
    return value if isinstance(value, str) else None


def _strs(doc: Doc, key: str) -> list[str]:
    value = doc.get(key)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _str_map(doc: Doc, key: str) -> dict[str, str]:
    value = doc.get(key)
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _num(doc: Doc, key: str) -> float:
    value = doc.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _extra(doc: Doc, known: frozenset[str], defaults: Mapping[str, object]) -> dict[str, object]:
    """The members ``doc`` has beyond ``known`` ones, less those that only repeat ``defaults``."""
    return {k: v for k, v in doc.items() if k not in known and (k not in defaults or defaults[k] != v)}


_API_DEFAULTS: Mapping[str, object] = {"apiKeySource": "HEADER", "disableExecuteApiEndpoint": False}
_INTEGRATION_DEFAULTS: Mapping[str, object] = {"passthroughBehavior": "WHEN_NO_MATCH", "cacheNamespace": "",
                                               "cacheKeyParameters": []}  # fmt: skip


@dataclass(frozen=True)
class RestApi:
    id: str
    name: str
    created: float
    root_resource_id: str
    description: str | None = None
    binary_media_types: tuple[str, ...] = ()
    endpoint_types: tuple[str, ...] = ("EDGE",)
    tags: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, object] = field(default_factory=dict)  # version, apiKeySource, policy, ...

    def doc(self) -> dict[str, object]:
        out: dict[str, object] = {"id": self.id, "name": self.name, "createdDate": self.created}
        if self.description is not None:
            out["description"] = self.description
        if self.binary_media_types:
            out["binaryMediaTypes"] = list(self.binary_media_types)
        out.update({**_API_DEFAULTS, **self.extra})
        out["endpointConfiguration"] = {"types": list(self.endpoint_types)}
        out["rootResourceId"] = self.root_resource_id
        if self.tags:
            out["tags"] = dict(self.tags)
        return out

    @staticmethod
    def from_doc(doc: Doc) -> RestApi:
        endpoint = doc.get("endpointConfiguration")
        types = _strs(endpoint, "types") if isinstance(endpoint, dict) else []
        known = frozenset({"id", "name", "createdDate", "description", "binaryMediaTypes", "endpointConfiguration",
                           "rootResourceId", "tags"})  # fmt: skip
        return RestApi(
            id=_str(doc, "id"), name=_str(doc, "name"), created=_num(doc, "createdDate"),
            root_resource_id=_str(doc, "rootResourceId"), description=_opt(doc, "description"),
            binary_media_types=tuple(_strs(doc, "binaryMediaTypes")), endpoint_types=tuple(types or ["EDGE"]),
            tags=_str_map(doc, "tags"), extra=_extra(doc, known, _API_DEFAULTS),
        )  # fmt: skip


@dataclass(frozen=True)
class Resource:
    id: str
    path: str
    parent_id: str | None = None
    path_part: str | None = None

    def doc(self) -> dict[str, object]:
        out: dict[str, object] = {"id": self.id}
        if self.parent_id is not None:
            out["parentId"] = self.parent_id
        if self.path_part is not None:
            out["pathPart"] = self.path_part
        out["path"] = self.path
        return out

    @staticmethod
    def from_doc(doc: Doc) -> Resource:
        return Resource(_str(doc, "id"), _str(doc, "path"), _opt(doc, "parentId"), _opt(doc, "pathPart"))


@dataclass(frozen=True)
class Integration:
    type: str
    uri: str | None
    http_method: str | None
    timeout_ms: int = 29_000
    extra: Mapping[str, object] = field(default_factory=dict)  # integrationResponses, requestTemplates, ...

    def doc(self) -> dict[str, object]:
        out: dict[str, object] = {"type": self.type}
        if self.http_method is not None:
            out["httpMethod"] = self.http_method
        if self.uri is not None:
            out["uri"] = self.uri
        out.update({**_INTEGRATION_DEFAULTS, "timeoutInMillis": self.timeout_ms, **self.extra})
        return out

    @staticmethod
    def from_doc(doc: Doc) -> Integration:
        known = frozenset({"type", "httpMethod", "uri", "timeoutInMillis"})
        return Integration(_str(doc, "type"), _opt(doc, "uri"), _opt(doc, "httpMethod"),
                           int(_num(doc, "timeoutInMillis")) or 29_000, _extra(doc, known, _INTEGRATION_DEFAULTS))  # fmt: skip


@dataclass(frozen=True)
class Method:
    resource_id: str
    http_method: str
    authorization_type: str = "NONE"
    api_key_required: bool = False
    integration: Integration | None = None
    extra: Mapping[str, object] = field(default_factory=dict)  # requestParameters, methodResponses, ...

    def doc(self) -> dict[str, object]:
        out: dict[str, object] = {"httpMethod": self.http_method, "authorizationType": self.authorization_type,
                                  "apiKeyRequired": self.api_key_required, **self.extra}  # fmt: skip
        if self.integration is not None:
            out["methodIntegration"] = self.integration.doc()
        return out

    def stored(self) -> dict[str, object]:
        return {"resourceId": self.resource_id, **self.doc()}

    def with_extra(self, key: str, value: object) -> Method:
        return replace(self, extra={**self.extra, key: value})

    @staticmethod
    def from_doc(doc: Doc) -> Method:
        integration = doc.get("methodIntegration")
        known = frozenset({"resourceId", "httpMethod", "authorizationType", "apiKeyRequired", "methodIntegration"})
        return Method(
            _str(doc, "resourceId"), _str(doc, "httpMethod"), _str(doc, "authorizationType", "NONE"),
            doc.get("apiKeyRequired") is True,
            Integration.from_doc(integration) if isinstance(integration, dict) else None, _extra(doc, known, {}),
        )  # fmt: skip


@dataclass(frozen=True)
class Route:
    """One method of a deployment's snapshot: what the data plane serves."""

    resource_id: str
    path: str  # the resource's path template
    http_method: str
    integration_type: str
    function: str | None  # the function's ARN, for AWS_PROXY integrations to Lambda
    timeout_ms: int
    authorization_type: str = "NONE"
    authorizer_id: str | None = None  # one of the deployment's authorizers
    api_key_required: bool = False
    mock: Mapping[str, object] | None = None  # a MOCK integration's templates and responses (rest/mock.py)

    def doc(self) -> dict[str, object]:
        return {"resourceId": self.resource_id, "path": self.path, "httpMethod": self.http_method,
                "type": self.integration_type, "function": self.function, "timeoutInMillis": self.timeout_ms,
                "authorizationType": self.authorization_type, "authorizerId": self.authorizer_id,
                "apiKeyRequired": self.api_key_required, "mock": self.mock}  # fmt: skip

    @staticmethod
    def from_doc(doc: Doc) -> Route:
        mock = doc.get("mock")
        return Route(_str(doc, "resourceId"), _str(doc, "path"), _str(doc, "httpMethod"), _str(doc, "type"),
                     _opt(doc, "function"), int(_num(doc, "timeoutInMillis")) or 29_000,
                     _str(doc, "authorizationType", "NONE"), _opt(doc, "authorizerId"),
                     doc.get("apiKeyRequired") is True, mock if isinstance(mock, dict) else None)  # fmt: skip


@dataclass(frozen=True)
class Deployment:
    id: str
    created: float
    description: str | None = None
    routes: tuple[Route, ...] = ()
    authorizers: Mapping[str, Authorizer] = field(default_factory=dict)  # those the routes use, as they were

    def doc(self) -> dict[str, object]:
        out: dict[str, object] = {"id": self.id}
        if self.description is not None:
            out["description"] = self.description
        out["createdDate"] = self.created
        return out

    def stored(self) -> dict[str, object]:
        return {**self.doc(), "routes": [r.doc() for r in self.routes],
                "authorizers": [a.doc() for a in self.authorizers.values()]}  # fmt: skip

    @staticmethod
    def from_doc(doc: Doc) -> Deployment:
        routes, authorizers = doc.get("routes"), doc.get("authorizers")
        items = [Route.from_doc(r) for r in routes if isinstance(r, dict)] if isinstance(routes, list) else []
        kept = [Authorizer.from_doc(a) for a in authorizers if isinstance(a, dict)] if isinstance(authorizers, list) else []
        return Deployment(_str(doc, "id"), _num(doc, "createdDate"), _opt(doc, "description"), tuple(items),
                          {a.id: a for a in kept})  # fmt: skip


@dataclass(frozen=True)
class Stage:
    name: str
    deployment_id: str
    created: float
    last_updated: float
    description: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    tracing_enabled: bool = False

    def doc(self) -> dict[str, object]:
        out: dict[str, object] = {"deploymentId": self.deployment_id, "stageName": self.name}
        if self.description is not None:
            out["description"] = self.description
        out.update({"cacheClusterEnabled": False, "cacheClusterStatus": "NOT_AVAILABLE", "methodSettings": {},
                    "tracingEnabled": self.tracing_enabled})  # fmt: skip
        if self.variables:
            out["variables"] = dict(self.variables)
        if self.tags:
            out["tags"] = dict(self.tags)
        out["createdDate"] = self.created
        out["lastUpdatedDate"] = self.last_updated
        return out

    @staticmethod
    def from_doc(doc: Doc) -> Stage:
        return Stage(
            _str(doc, "stageName"), _str(doc, "deploymentId"), _num(doc, "createdDate"), _num(doc, "lastUpdatedDate"),
            _opt(doc, "description"), _str_map(doc, "variables"), _str_map(doc, "tags"), doc.get("tracingEnabled") is True,
        )  # fmt: skip
