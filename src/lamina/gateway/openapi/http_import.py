"""ImportApi, ReimportApi and ExportApi of HTTP APIs, through the control plane (``HttpApis``).

An import reads and plans the whole definition first (``http_plan.py``), so a definition that
cannot be imported changes nothing. ImportApi then creates the API and gives it the definition's
routes, integrations and authorizers in one change; ReimportApi replaces the API's routes,
integrations, authorizers, name and CORS with the definition's in one change and keeps its stages
(an AutoDeploy stage serves the new definition at once, as on AWS). The warnings are the answer's
``warnings``; with ``failOnWarnings`` a definition that has any is refused and nothing is changed.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Iterable, Mapping

import yaml

from lamina.gateway.http.control import HttpApis
from lamina.gateway.http.errors import BadRequest
from lamina.gateway.http.model import Route, cors_wire
from lamina.gateway.http.state import ApiState
from lamina.gateway.openapi import document as openapi
from lamina.gateway.openapi.http_plan import PREFIX, HttpDefinition, Place, plan

SIGV4_SCHEME = "sigv4"  # the security scheme AWS_IAM routes are exported under, as AWS names it


def definition(body: str | bytes, place: Place, basepath: str | None, fail_on_warnings: bool) -> HttpDefinition:
    """The definition ``body`` holds, or BadRequest (AWS's answer to one it cannot import)."""
    try:
        found = plan(openapi.load(body), place, basepath)
    except openapi.DocumentError as exc:
        raise BadRequest(str(exc)) from None
    if fail_on_warnings and found.warnings:
        raise BadRequest("Warnings found during import:\n\t" + "\n\t".join(found.warnings))
    return found


def _apply(state: ApiState, found: HttpDefinition) -> ApiState:
    api = replace(state.api, name=found.name, description=found.description, version=found.version,
                  cors=found.cors, disable_execute_api_endpoint=found.disable_execute_api_endpoint,
                  tags={**state.api.tags, **found.tags})  # fmt: skip
    return replace(state, api=api, routes=found.routes, integrations=found.integrations, authorizers=found.authorizers)


async def import_api(apis: HttpApis, found: HttpDefinition) -> ApiState:
    state = await apis.create_api({"name": found.name, "protocolType": "HTTP"})
    api_id = state.api.api_id
    try:
        return await apis.change(api_id, lambda s: _apply(s, found))
    except BaseException:
        await apis.delete_api(api_id)
        raise


async def reimport_api(apis: HttpApis, api_id: str, found: HttpDefinition) -> ApiState:
    return await apis.change(api_id, lambda s: _apply(s, found))


def export(state: ApiState, endpoint: str, stage_name: str | None, extensions: bool, output: str) -> bytes:
    """The API (or what ``stage_name`` serves) as an OpenAPI 3.0 definition, JSON or YAML."""
    routes: Iterable[Route] = state.routes.values()
    integrations, authorizers = state.integrations, state.authorizers
    if stage_name is not None:
        stage = state.stages.get(stage_name)
        deployment = state.deployments.get(stage.deployment_id or "") if stage else None
        if deployment is None:
            raise BadRequest(f"Stage {stage_name} does not exist or has no deployment")
        routes = deployment.routes
        integrations = {i.integration_id: i for i in deployment.integrations}
        authorizers = {a.authorizer_id: a for a in deployment.authorizers}
    api = state.api
    info: dict[str, Any] = {"title": api.name, "version": api.version or "1.0"}
    if api.description:
        info["description"] = api.description
    doc: dict[str, Any] = {"openapi": "3.0.1", "info": info, "servers": [{"url": endpoint + (
        "" if stage_name in (None, "$default") else f"/{stage_name}")}], "paths": {}}  # fmt: skip
    for route in sorted(routes, key=lambda r: r.route_key):
        method, _, path = route.route_key.partition(" ")
        operation: dict[str, Any] = {"responses": {"default": {"description": "Default response"}}}
        if route.operation_name:
            operation["operationId"] = route.operation_name
        integration = integrations.get(route.integration_id or "")
        if extensions and integration is not None:
            operation[f"{PREFIX}integration"] = {
                "type": "aws_proxy", "httpMethod": "POST", "uri": integration.uri,
                "payloadFormatVersion": integration.payload_format_version,
                "timeoutInMillis": integration.timeout_ms, "connectionType": "INTERNET"}  # fmt: skip
        authorizer = authorizers.get(route.authorizer_id or "")
        if authorizer is not None:
            operation["security"] = [{authorizer.name: list(route.authorization_scopes)}]
        elif route.authorization_type == "AWS_IAM":
            operation["security"] = [{SIGV4_SCHEME: []}]
        key = openapi.ANY_METHOD if method in ("ANY", "$default") else method.lower()
        doc["paths"].setdefault(path or "$default", {})[key] = operation
    signed = any(r.authorization_type == "AWS_IAM" for r in routes)
    if authorizers or signed:
        schemes: dict[str, Any] = {}
        if signed:
            schemes[SIGV4_SCHEME] = {"type": "apiKey", "name": "Authorization", "in": "header",
                                     f"{PREFIX}authtype": "awsSigv4"}  # fmt: skip
        for a in authorizers.values():
            spec: dict[str, Any] = {"type": a.type.lower(), "identitySource": ", ".join(a.identity_source)}
            if a.type == "JWT":
                spec["jwtConfiguration"] = {"issuer": a.issuer, "audience": list(a.audience)}
                scheme: dict[str, Any] = {"type": "oauth2", "flows": {}}
            else:
                spec.update(authorizerUri=a.uri, authorizerPayloadFormatVersion=a.payload_format_version,
                            authorizerResultTtlInSeconds=a.ttl, enableSimpleResponses=a.simple_responses)  # fmt: skip
                scheme = {"type": "apiKey", "name": "Authorization", "in": "header"}
            schemes[a.name] = {**scheme, **({f"{PREFIX}authorizer": spec} if extensions else {})}
        doc["components"] = {"securitySchemes": schemes}
    if extensions:
        doc[f"{PREFIX}importexport-version"] = "1.0"
        if api.cors is not None:
            doc[f"{PREFIX}cors"] = cors_wire(api.cors)
    if output == "YAML":
        return yaml.safe_dump(doc, sort_keys=False).encode()
    return json.dumps(doc, indent=2).encode()


def flags(query: Mapping[str, str]) -> tuple[str | None, bool]:
    """ImportApi's and ReimportApi's ``basepath`` and ``failOnWarnings`` query parameters."""
    return query.get("basepath"), query.get("failOnWarnings", "false").lower() == "true"
