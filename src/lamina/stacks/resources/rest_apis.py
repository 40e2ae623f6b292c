"""AWS::ApiGateway::RestApi, Resource, Method, Authorizer, Deployment and Stage, through the REST
API control plane (``lamina.gateway.rest``: the operations ``apigateway`` calls) in the stack's cell.

A RestApi with ``Body`` is imported from its OpenAPI definition (ImportRestApi; a changed Body is
put again, PutRestApi with ``Mode``, overwrite unless it says merge). ``Ref`` answers what AWS's
resource reference documents: a RestApi's id (GetAtt ``RestApiId``, ``RootResourceId``), a
Resource's, Authorizer's and Deployment's id, a Stage's name; a Method's is Lamina's own
(``<api>|<resource>|<verb>``), AWS documents none to rely on.
"""

from __future__ import annotations

from typing import Mapping

from lamina.errors import ApiError
from lamina.gateway.openapi import rest_import
from lamina.gateway.openapi.http_plan import Place
from lamina.gateway.openapi.rest_plan import RestDefinition
from lamina.gateway.rest.authorizer_control import RestAuthorizers
from lamina.gateway.rest.patches import Patch
from lamina.gateway.rest.service import RestApiService
from lamina.stacks.errors import ResourceFailed
from lamina.stacks.resources.base import Context, Outcome, Properties, Provider, integer, required, tag_list, text
from lamina.stacks.resources.http_apis import body_text


def _svc(ctx: Context) -> RestApiService:
    return ctx.svc.rest_apis


def _arn(ctx: Context, path: str = "") -> str:
    return f"arn:aws:apigateway:{ctx.region}::/restapis{path}"


def _unless_gone(exc: ApiError) -> None:
    if exc.code != "NotFoundException":
        raise exc


def _strings(props: Properties, name: str) -> list[str]:
    value = props.get(name) or []
    if not isinstance(value, list):
        raise ResourceFailed(f"Property validation failure: [Value of property {{/{name}}} does not match type {{Array}}]")
    return [str(v) for v in value]


def _endpoint_types(props: Properties) -> list[str]:
    endpoint = props.get("EndpointConfiguration")
    return _strings(endpoint, "Types") if isinstance(endpoint, Mapping) else []


def _definition(ctx: Context, props: Properties) -> RestDefinition:
    parameters = props.get("Parameters")
    parameters = {str(k): str(v) for k, v in parameters.items()} if isinstance(parameters, Mapping) else {}
    return rest_import.definition(body_text(props["Body"]).encode(), Place(ctx.account_id, ctx.region), parameters,
                                  str(text(props, "FailOnWarnings", "false")) == "true")  # fmt: skip


class RestApi(Provider):
    type_name = "AWS::ApiGateway::RestApi"
    replaced_by = frozenset({"BodyS3Location", "CloneFrom"})

    def _outcome(self, ctx: Context, api_id: str) -> Outcome:
        root = _svc(ctx).api(api_id).root_resource_id
        return Outcome(api_id, api_id, {"RestApiId": api_id, "RootResourceId": root})

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        if "BodyS3Location" in props or "CloneFrom" in props:
            raise ResourceFailed("Lamina imports a REST API's OpenAPI definition from Body; BodyS3Location and "
                                 "CloneFrom are not supported")  # fmt: skip
        ctx.authorize("apigateway:POST", _arn(ctx))
        svc = _svc(ctx)
        if "Body" in props:
            api = await rest_import.import_rest_api(svc, _definition(ctx, props), _endpoint_types(props))
            try:
                await self._members(ctx, api.id, {}, props)
                if tag_list(props):
                    await svc.set_tags(api.id, None, tag_list(props))
            except BaseException:
                await svc.delete_api(api.id)
                raise
            return self._outcome(ctx, api.id)
        name = text(props, "Name")
        if name is None:
            raise ResourceFailed("Property validation failure: [The property {/Name} is required]")
        api = await svc.create_api(name, text(props, "Description"), _strings(props, "BinaryMediaTypes"),
                                   _endpoint_types(props), tag_list(props), {})  # fmt: skip
        return self._outcome(ctx, api.id)

    async def _members(self, ctx: Context, api_id: str, old: Properties, new: Properties) -> None:
        patches = [Patch("replace", f"/{name.lower()}", text(new, name)) for name in ("Name", "Description")
                   if name in new and (old.get(name) != new[name] or "Body" in new)]  # fmt: skip
        if patches:
            await _svc(ctx).update_api(api_id, patches)

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        api_id, svc = current.physical_id, _svc(ctx)
        ctx.authorize("apigateway:PUT", _arn(ctx, f"/{api_id}"))
        if "Body" in new and (old.get("Body") != new["Body"] or old.get("Parameters") != new.get("Parameters")):
            await rest_import.put_rest_api(svc, api_id, _definition(ctx, new), text(new, "Mode") or "overwrite")
        await self._members(ctx, api_id, old, new)
        before, after = tag_list(old), tag_list(new)
        if before != after:
            await svc.set_tags(api_id, None, after, [k for k in before if k not in after])
        return self._outcome(ctx, api_id)

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        ctx.authorize("apigateway:DELETE", _arn(ctx, f"/{current.physical_id}"))
        try:
            await _svc(ctx).delete_api(current.physical_id)
        except ApiError as exc:
            _unless_gone(exc)


class Resource(Provider):
    type_name = "AWS::ApiGateway::Resource"
    replaced_always = True

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        api_id = required(props, "RestApiId")
        ctx.authorize("apigateway:POST", _arn(ctx, f"/{api_id}/resources"))
        resource = await _svc(ctx).create_resource(api_id, required(props, "ParentId"), required(props, "PathPart"))
        return Outcome(resource.id, resource.id, {"ResourceId": resource.id})

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        api_id = required(props, "RestApiId")
        ctx.authorize("apigateway:DELETE", _arn(ctx, f"/{api_id}/resources/{current.physical_id}"))
        try:
            await _svc(ctx).delete_resource(api_id, current.physical_id)
        except ApiError as exc:
            _unless_gone(exc)


_INTEGRATION_EXTRA = {"PassthroughBehavior": "passthroughBehavior", "RequestTemplates": "requestTemplates",
                      "RequestParameters": "requestParameters", "ContentHandling": "contentHandling",
                      "CacheKeyParameters": "cacheKeyParameters", "CacheNamespace": "cacheNamespace",
                      "Credentials": "credentials"}  # fmt: skip


class Method(Provider):
    """A method is changed by putting it again (PutMethod, PutIntegration), as CloudFormation does."""

    type_name = "AWS::ApiGateway::Method"
    replaced_by = frozenset({"RestApiId", "ResourceId", "HttpMethod"})

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        api_id, resource_id, verb = required(props, "RestApiId"), required(props, "ResourceId"), required(props, "HttpMethod")
        ctx.authorize("apigateway:PUT", _arn(ctx, f"/{api_id}/resources/{resource_id}/methods/{verb.upper()}"))
        svc = _svc(ctx)
        extra: dict[str, object] = {}
        for name, member in (("AuthorizerId", "authorizerId"), ("OperationName", "operationName"),
                             ("RequestParameters", "requestParameters"), ("AuthorizationScopes", "authorizationScopes")):
            if name in props:
                extra[member] = props[name]
        await svc.put_method(api_id, resource_id, verb, text(props, "AuthorizationType") or "NONE",
                             str(text(props, "ApiKeyRequired", "false")).lower() == "true", extra)  # fmt: skip
        integration = props.get("Integration")
        if isinstance(integration, Mapping):
            members = {member: integration[name] for name, member in _INTEGRATION_EXTRA.items() if name in integration}
            responses = _integration_responses(integration.get("IntegrationResponses"))
            if responses:
                members["integrationResponses"] = responses
            try:
                await svc.put_integration(
                    api_id, resource_id, verb, str(integration.get("Type", "")), text(integration, "Uri"),
                    text(integration, "IntegrationHttpMethod"), integer(integration, "TimeoutInMillis"), members)
            except BaseException:
                await svc.delete_method(api_id, resource_id, verb)
                raise
        physical = f"{api_id}|{resource_id}|{verb.upper()}"
        return Outcome(physical, physical)

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        await self.delete(ctx, current, old)
        return await self.create(ctx, logical_id, new)

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        api_id, resource_id, verb = current.physical_id.split("|")
        ctx.authorize("apigateway:DELETE", _arn(ctx, f"/{api_id}/resources/{resource_id}/methods/{verb}"))
        try:
            await _svc(ctx).delete_method(api_id, resource_id, verb)
        except ApiError as exc:
            _unless_gone(exc)


def _integration_responses(value: object) -> dict[str, object]:
    """``Integration.IntegrationResponses`` (a list of StatusCode, SelectionPattern,
    ResponseParameters, ResponseTemplates) as PutIntegrationResponse stores them, by status code
    (what a MOCK integration answers with: gateway/rest/mock.py)."""
    if value is None:
        return {}
    if not isinstance(value, list):
        raise ResourceFailed("Property validation failure: [Value of property {/Integration/IntegrationResponses} "
                             "does not match type {Array}]")  # fmt: skip
    found: dict[str, object] = {}
    for item in value:
        status = text(item, "StatusCode") if isinstance(item, Mapping) else None
        if status is None:
            raise ResourceFailed("Property validation failure: [Required property {StatusCode} not found in "
                                 "{/Integration/IntegrationResponses}]")  # fmt: skip
        doc: dict[str, object] = {"statusCode": status}
        pattern = text(item, "SelectionPattern")
        if pattern:
            doc["selectionPattern"] = pattern
        for name, member in (("ResponseParameters", "responseParameters"), ("ResponseTemplates", "responseTemplates")):
            given = item.get(name)
            if isinstance(given, Mapping):
                doc[member] = {str(k): str(v) for k, v in given.items()}
        found[status] = doc
    return found


class Authorizer(Provider):
    type_name = "AWS::ApiGateway::Authorizer"
    replaced_always = True

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        api_id = required(props, "RestApiId")
        ctx.authorize("apigateway:POST", _arn(ctx, f"/{api_id}/authorizers"))
        extra = {member: str(props[name]) for name, member in (("AuthType", "authType"),
                 ("AuthorizerCredentials", "authorizerCredentials")) if name in props}  # fmt: skip
        ttl = integer(props, "AuthorizerResultTtlInSeconds")
        made = await RestAuthorizers(_svc(ctx)).create(
            api_id, text(props, "Name") or ctx.physical_name(logical_id, 128), required(props, "Type"),
            text(props, "AuthorizerUri"), text(props, "IdentitySource"), text(props, "IdentityValidationExpression"),
            ttl, _strings(props, "ProviderARNs"), extra)  # fmt: skip
        return Outcome(made.id, made.id, {"AuthorizerId": made.id})

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        api_id = required(props, "RestApiId")
        ctx.authorize("apigateway:DELETE", _arn(ctx, f"/{api_id}/authorizers/{current.physical_id}"))
        try:
            await RestAuthorizers(_svc(ctx)).delete(api_id, current.physical_id)
        except ApiError as exc:
            _unless_gone(exc)


def _variables(props: Properties) -> dict[str, str]:
    value = props.get("Variables")
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


class Deployment(Provider):
    """A deployment (and the stage ``StageName`` names, made or moved to it)."""

    type_name = "AWS::ApiGateway::Deployment"
    replaced_by = frozenset({"RestApiId", "StageName", "StageDescription"})

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        api_id = required(props, "RestApiId")
        ctx.authorize("apigateway:POST", _arn(ctx, f"/{api_id}/deployments"))
        stage = props.get("StageDescription")
        deployment = await _svc(ctx).create_deployment(
            api_id, text(props, "Description"), text(props, "StageName"),
            text(stage, "Description") if isinstance(stage, Mapping) else None,
            _variables(stage) if isinstance(stage, Mapping) else {})  # fmt: skip
        return Outcome(deployment.id, deployment.id, {"DeploymentId": deployment.id})

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        return current  # a description is all that could change, and a deployment keeps the one it was made with

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        api_id, svc = required(props, "RestApiId"), _svc(ctx)
        ctx.authorize("apigateway:DELETE", _arn(ctx, f"/{api_id}/deployments/{current.physical_id}"))
        try:
            stage_name = text(props, "StageName")
            stages = [s.name for s in svc.stages(api_id, current.physical_id)]
            if stage_name in stages:  # the stage it made, if it still serves it
                await svc.delete_stage(api_id, stage_name)
                stages.remove(stage_name)
            if not stages:  # another stage's resource still points at it: that one moves or deletes it
                await svc.delete_deployment(api_id, current.physical_id)
        except ApiError as exc:
            _unless_gone(exc)


class Stage(Provider):
    type_name = "AWS::ApiGateway::Stage"
    replaced_by = frozenset({"RestApiId", "StageName"})

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        api_id = required(props, "RestApiId")
        name = text(props, "StageName") or ctx.physical_name(logical_id, 128)
        ctx.authorize("apigateway:POST", _arn(ctx, f"/{api_id}/stages"))
        await _svc(ctx).create_stage(api_id, name, required(props, "DeploymentId"), text(props, "Description"),
                                     _variables(props), tag_list(props),
                                     str(text(props, "TracingEnabled", "false")) == "true")  # fmt: skip
        return Outcome(name, name)

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        api_id = required(new, "RestApiId")
        ctx.authorize("apigateway:PATCH", _arn(ctx, f"/{api_id}/stages/{current.physical_id}"))
        patches = [Patch("replace", "/deploymentId", required(new, "DeploymentId")),
                   Patch("replace", "/description", text(new, "Description")),
                   Patch("replace", "/tracingEnabled", str(text(new, "TracingEnabled", "false")))]  # fmt: skip
        before, after = _variables(old), _variables(new)
        patches += [Patch("remove", f"/variables/{k}") for k in before if k not in after]
        patches += [Patch("replace", f"/variables/{k}", v) for k, v in after.items()]
        await _svc(ctx).update_stage(api_id, current.physical_id, patches)
        return current

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        api_id = required(props, "RestApiId")
        ctx.authorize("apigateway:DELETE", _arn(ctx, f"/{api_id}/stages/{current.physical_id}"))
        try:
            await _svc(ctx).delete_stage(api_id, current.physical_id)
        except ApiError as exc:
            _unless_gone(exc)


PROVIDERS: tuple[Provider, ...] = (RestApi(), Resource(), Method(), Authorizer(), Deployment(), Stage())
