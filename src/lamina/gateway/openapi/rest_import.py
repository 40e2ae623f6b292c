"""ImportRestApi and PutRestApi (``mode`` overwrite or merge), through the REST API control plane.

The definition is read and checked whole first (``rest_plan.py``), so one that cannot be imported
changes nothing. Then, one operation of the control plane at a time (each its own transaction, as
the API's operations are): ImportRestApi creates the API and its authorizers, resources, methods
and integrations (and deletes the API again if one of them fails); PutRestApi ``overwrite``
deletes the API's resources, methods and authorizers and makes the definition's, ``merge`` adds
the definition's to what the API has (a method the definition also has is replaced, an authorizer
of the same name kept). Deployments and stages are left alone: the API serves the new definition
once it is deployed, as on AWS.
"""

from __future__ import annotations

from typing import Mapping

from lamina.gateway.openapi import document as openapi
from lamina.gateway.openapi.http_plan import Place
from lamina.gateway.openapi.rest_plan import RestDefinition, plan
from lamina.gateway.rest.authorizer_control import RestAuthorizers
from lamina.gateway.rest.errors import BadRequest
from lamina.gateway.rest.model import RestApi
from lamina.gateway.rest.service import RestApiService

MODES = ("overwrite", "merge")


def definition(body: bytes, place: Place, parameters: Mapping[str, str], fail_on_warnings: bool) -> RestDefinition:
    """The definition ``body`` holds, or BadRequest (AWS's answer to one it cannot import)."""
    try:
        found = plan(openapi.load(body), place, parameters.get("basepath"))
    except openapi.DocumentError as exc:
        raise BadRequest(str(exc)) from None
    if fail_on_warnings and found.warnings:
        raise BadRequest("Warnings found during import:\n\t" + "\n\t".join(found.warnings))
    return found


async def import_rest_api(svc: RestApiService, found: RestDefinition, endpoint_types: list[str]) -> RestApi:
    api = await svc.create_api(found.name, found.description, found.binary_media_types, endpoint_types, {}, {})
    try:
        await _make(svc, api.id, found)
    except BaseException:
        await svc.delete_api(api.id)
        raise
    return svc.api(api.id)


async def put_rest_api(svc: RestApiService, api_id: str, found: RestDefinition, mode: str) -> RestApi:
    if mode not in MODES:
        raise BadRequest(f"Invalid mode {mode}: overwrite or merge")
    state = svc.state(api_id)
    if mode == "overwrite":
        root = state.api.root_resource_id
        for resource in [r for r in state.resources.values() if r.parent_id == root]:
            await svc.delete_resource(api_id, resource.id)
        for method in svc.methods_of(api_id, root):
            await svc.delete_method(api_id, root, method.http_method)
        authorizers = RestAuthorizers(svc)
        for authorizer_id in list(state.authorizers):
            await authorizers.delete(api_id, authorizer_id)
    await _make(svc, api_id, found)
    return svc.api(api_id)


async def _make(svc: RestApiService, api_id: str, found: RestDefinition) -> None:
    state = svc.state(api_id)
    authorizers = RestAuthorizers(svc)
    ids = {a.name: a.id for a in state.authorizers.values()}
    for name, a in found.authorizers.items():
        if name not in ids:
            made = await authorizers.create(api_id, a.name, a.type, a.uri, a.identity_source, a.validation_expression,
                                            a.ttl, a.provider_arns, a.extra)  # fmt: skip
            ids[name] = made.id
    by_path = {r.path: r.id for r in state.resources.values()}
    for path in found.paths:
        if path not in by_path:
            parent, _, part = path.rpartition("/")
            resource = await svc.create_resource(api_id, by_path[parent or "/"], part)
            by_path[path] = resource.id
    for method in found.methods:
        resource_id = by_path[method.path]
        if (resource_id, method.http_method) in state.methods:
            await svc.delete_method(api_id, resource_id, method.http_method)
        extra = dict(method.extra)
        if method.authorizer is not None:
            extra["authorizerId"] = ids[method.authorizer]
        await svc.put_method(api_id, resource_id, method.http_method, method.authorization_type,
                             method.api_key_required, extra)  # fmt: skip
        i = method.integration
        if i is not None:
            await svc.put_integration(api_id, resource_id, method.http_method, i.type, i.uri, i.http_method,
                                      i.timeout_ms, i.extra)  # fmt: skip


def options(query: Mapping[str, str]) -> tuple[dict[str, str], bool, list[str]]:
    """ImportRestApi's and PutRestApi's ``parameters`` (query parameters other than mode and
    failonwarnings), ``failonwarnings`` and the endpoint types the parameters ask for."""
    parameters = {k: v for k, v in query.items() if k not in ("mode", "failonwarnings")}
    types = [t.strip().upper() for t in parameters.get("endpointConfigurationTypes", "").split(",") if t.strip()]
    return parameters, query.get("failonwarnings", "false").lower() == "true", types
