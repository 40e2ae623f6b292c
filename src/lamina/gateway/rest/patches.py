"""Patch operations (``patchOperations``) as Update* operations of ``apigateway`` receive them, and
the paths Lamina applies to each kind of record (others are AWS's BadRequestException)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

from lamina.gateway.rest.errors import BadRequest
from lamina.gateway.rest.model import Integration, Method, RestApi, Stage

OPS = ("add", "remove", "replace", "move", "copy", "test")


@dataclass(frozen=True)
class Patch:
    op: str
    path: str
    value: str | None = None

    def invalid(self) -> BadRequest:
        # Two spaces after "path", as AWS writes it.
        return BadRequest(f"Invalid patch path  '{self.path}' specified for op '{self.op}'. Please choose supported operations")


def parse_patches(raw: object) -> list[Patch]:
    """The request's ``patchOperations``; BadRequest for one AWS could not read."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise BadRequest("Invalid patch operations specified")
    patches = []
    for item in raw:
        if not isinstance(item, dict):
            raise BadRequest("Invalid patch operations specified")
        op, path, value = item.get("op"), item.get("path"), item.get("value")
        if op not in OPS:
            raise BadRequest(f"Invalid patch operation specified. Must be one of: [{', '.join(OPS)}]")
        if not isinstance(path, str) or not path.startswith("/"):
            raise BadRequest("Invalid patch path specified")
        patches.append(Patch(str(op), path, value if isinstance(value, str) else None))
    return patches


def patch_api(api: RestApi, patch: Patch) -> RestApi:
    if patch.path == "/name" and patch.op == "replace" and patch.value:
        return replace(api, name=patch.value)
    if patch.path == "/description" and patch.op in ("replace", "add", "remove"):
        return replace(api, description=None if patch.op == "remove" else patch.value)
    if patch.path.startswith("/binaryMediaTypes/") and patch.op in ("add", "remove"):
        media = patch.path[len("/binaryMediaTypes/") :].replace("~1", "/").replace("~0", "~")
        kept = tuple(m for m in api.binary_media_types if m != media)
        return replace(api, binary_media_types=kept + ((media,) if patch.op == "add" else ()))
    if patch.path in ("/version", "/apiKeySource", "/minimumCompressionSize", "/policy") and patch.op == "replace":
        return replace(api, extra={**api.extra, patch.path[1:]: patch.value})
    raise patch.invalid()


def _unescape(segment: str) -> str:
    return segment.replace("~1", "/").replace("~0", "~")


def _patch_map(extra: Mapping[str, object], member: str, patch: Patch, value: object) -> dict[str, object]:
    """``extra`` with ``patch`` applied to the map ``member`` (``/<member>/<key>``)."""
    key = _unescape(patch.path[len(member) + 2 :])
    current = extra.get(member)
    mapping = dict(current) if isinstance(current, dict) else {}
    if patch.op == "remove":
        mapping.pop(key, None)
    elif patch.op in ("add", "replace"):
        mapping[key] = value
    else:
        raise patch.invalid()
    return {**extra, member: mapping}


def patch_method(method: Method, patch: Patch) -> Method:
    if patch.path == "/authorizationType" and patch.op == "replace" and patch.value:
        return replace(method, authorization_type=patch.value)
    if patch.path == "/apiKeyRequired" and patch.op == "replace":
        return replace(method, api_key_required=(patch.value or "").lower() == "true")
    if patch.path in ("/authorizerId", "/operationName", "/requestValidatorId") and patch.op in ("replace", "add", "remove"):
        extra = {k: v for k, v in method.extra.items() if k != patch.path[1:]}
        if patch.op != "remove" and patch.value:
            extra[patch.path[1:]] = patch.value
        return replace(method, extra=extra)
    if patch.path.startswith("/requestParameters/"):
        return replace(method, extra=_patch_map(method.extra, "requestParameters", patch, (patch.value or "").lower() == "true"))
    raise patch.invalid()


def patch_integration(integration: Integration, patch: Patch) -> Integration:
    if patch.op == "replace" and patch.path == "/uri":
        return replace(integration, uri=patch.value)
    if patch.op == "replace" and patch.path == "/httpMethod":
        return replace(integration, http_method=patch.value)
    if patch.op == "replace" and patch.path == "/timeoutInMillis":
        if not (patch.value or "").isdigit():
            raise BadRequest("Timeout should be between 50 ms and 29000 ms")
        return replace(integration, timeout_ms=int(patch.value or "0"))
    simple = ("/passthroughBehavior", "/contentHandling", "/cacheNamespace", "/credentials", "/connectionType",
              "/connectionId")  # fmt: skip
    if patch.path in simple and patch.op in ("replace", "add", "remove"):
        extra = {k: v for k, v in integration.extra.items() if k != patch.path[1:]}
        if patch.op != "remove" and patch.value is not None:
            extra[patch.path[1:]] = patch.value
        return replace(integration, extra=extra)
    for member in ("requestParameters", "requestTemplates"):
        if patch.path.startswith(f"/{member}/"):
            return replace(integration, extra=_patch_map(integration.extra, member, patch, patch.value))
    raise patch.invalid()


def patch_stage(stage: Stage, patch: Patch) -> Stage:
    if patch.path == "/deploymentId" and patch.op == "replace" and patch.value:
        return replace(stage, deployment_id=patch.value)
    if patch.path == "/description" and patch.op in ("replace", "add", "remove"):
        return replace(stage, description=None if patch.op == "remove" else patch.value)
    if patch.path == "/tracingEnabled" and patch.op == "replace":
        return replace(stage, tracing_enabled=(patch.value or "").lower() == "true")
    if patch.path.startswith("/variables/") and patch.op in ("replace", "add", "remove"):
        name = patch.path[len("/variables/") :].replace("~1", "/").replace("~0", "~")
        variables = {k: v for k, v in stage.variables.items() if k != name}
        if patch.op != "remove":
            variables[name] = patch.value or ""
        return replace(stage, variables=variables)
    raise patch.invalid()
