"""AWS::ApiGatewayV2::Api, Stage, Route, Integration, Deployment and Authorizer, through the HTTP
API control plane (``lamina.gateway.http``: the operations ``apigatewayv2`` calls) in the stack's cell.

An Api with ``Body`` is imported from its OpenAPI definition (ImportApi; a changed Body is
reimported, ReimportApi), one with ``Target`` is quick-created, one with neither is created empty.
``Ref`` and ``Fn::GetAtt`` answer what AWS's resource reference documents: an Api's id (GetAtt
``ApiEndpoint``, ``ApiId``), a Stage's name, a Route's, Integration's, Deployment's and Authorizer's
id (GetAtt of the same name). Properties are CloudFormation's PascalCase; the control plane takes
the API's camelCase, so each provider names what it passes.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from lamina.errors import ApiError
from lamina.gateway.http import authorizer_control as authorizers
from lamina.gateway.http.control import HttpApis
from lamina.gateway.openapi import http_import
from lamina.gateway.openapi.http_plan import HttpDefinition, Place
from lamina.stacks.errors import ResourceFailed
from lamina.stacks.resources.base import Context, Outcome, Properties, Provider, required, tag_list, text


def _apis(ctx: Context) -> HttpApis:
    return ctx.svc.http_apis


def _arn(ctx: Context, path: str = "") -> str:
    return f"arn:aws:apigateway:{ctx.region}::/v2/apis{path}"  # as api/authorization.py names HTTP APIs (docs/iam.md)


def _unless_gone(exc: ApiError) -> None:
    if exc.code != "NotFoundException":
        raise exc


def camel(props: Properties, names: tuple[str, ...]) -> dict[str, Any]:
    """``props``' members of ``names`` (PascalCase) as the API's camelCase members, nested objects too
    (maps of the user's own keys, StageVariables and Tags, are passed by the callers as they are)."""
    def lower(value: Any) -> Any:
        if isinstance(value, dict):
            return {k[:1].lower() + k[1:]: lower(v) for k, v in value.items()}
        if isinstance(value, list):
            return [lower(v) for v in value]
        return value

    return {name[:1].lower() + name[1:]: lower(props[name]) for name in names if name in props}


def body_text(body: Any) -> str:
    """A Body property (CloudFormation passes an object; a string is taken as the definition's text)."""
    return body if isinstance(body, str) else json.dumps(body)


def _definition(ctx: Context, props: Properties) -> HttpDefinition:
    return http_import.definition(body_text(props["Body"]), Place(ctx.account_id, ctx.region), text(props, "BasePath"),
                                  str(text(props, "FailOnWarnings", "false")) == "true")  # fmt: skip


_API_MEMBERS = ("Name", "Description", "Version", "CorsConfiguration", "DisableExecuteApiEndpoint")


class Api(Provider):
    type_name = "AWS::ApiGatewayV2::Api"
    replaced_by = frozenset({"ProtocolType", "Target", "RouteKey", "BodyS3Location"})

    def _outcome(self, ctx: Context, api_id: str) -> Outcome:
        return Outcome(api_id, api_id, {"ApiId": api_id, "ApiEndpoint": _apis(ctx).endpoint(api_id)})

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        if "BodyS3Location" in props:
            raise ResourceFailed("Lamina imports an HTTP API's OpenAPI definition from Body; BodyS3Location is not "
                                 "supported")  # fmt: skip
        if "Body" in props:
            ctx.authorize("apigateway:PUT", _arn(ctx))
            state = await http_import.import_api(_apis(ctx), _definition(ctx, props))
            api_id = state.api.api_id
            try:
                await self._members(ctx, api_id, props)
            except BaseException:
                await _apis(ctx).delete_api(api_id)
                raise
            return self._outcome(ctx, api_id)
        ctx.authorize("apigateway:POST", _arn(ctx))
        body = {**camel(props, (*_API_MEMBERS, "ProtocolType", "Target", "RouteKey")), "tags": tag_list(props)}
        if "Name" not in props:
            body["name"] = ctx.physical_name(logical_id, 128)
        state = await _apis(ctx).create_api(body)
        return self._outcome(ctx, state.api.api_id)

    async def _members(self, ctx: Context, api_id: str, props: Properties) -> None:
        """What the properties say beside the definition (they win over it, as on AWS)."""
        body = camel(props, _API_MEMBERS)
        if body:
            await _apis(ctx).update_api(api_id, body)
        tags = tag_list(props)
        if tags:
            await _apis(ctx).change_tags(_apis(ctx).arn(api_id), tags)

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        api_id = current.physical_id
        ctx.authorize("apigateway:PUT" if "Body" in new else "apigateway:PATCH", _arn(ctx, f"/{api_id}"))
        reimported = "Body" in new and (old.get("Body") != new["Body"] or old.get("BasePath") != new.get("BasePath"))
        if reimported:  # the definition's name, CORS, ... anew; the properties again over them
            await http_import.reimport_api(_apis(ctx), api_id, _definition(ctx, new))
        changed = {k: new[k] for k in _API_MEMBERS if k in new and (reimported or old.get(k) != new[k])}
        if changed:
            await _apis(ctx).update_api(api_id, camel(changed, tuple(changed)))
        if "CorsConfiguration" in old and "CorsConfiguration" not in new and not reimported:
            await _apis(ctx).delete_cors(api_id)
        before, after = tag_list(old), tag_list(new)
        if before != after:
            await _apis(ctx).change_tags(_apis(ctx).arn(api_id), after, [k for k in before if k not in after])
        return self._outcome(ctx, api_id)

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        ctx.authorize("apigateway:DELETE", _arn(ctx, f"/{current.physical_id}"))
        try:
            await _apis(ctx).delete_api(current.physical_id)
        except ApiError as exc:
            _unless_gone(exc)


class _Child(Provider):
    """A resource of one API (its ``ApiId``), made, changed and deleted by the API's operations."""

    replaced_by = frozenset({"ApiId"})
    path = ""
    attribute = ""

    def outcome(self, child_id: str) -> Outcome:
        return Outcome(child_id, child_id, {self.attribute: child_id} if self.attribute else {})

    def check(self, ctx: Context, props: Properties, verb: str, child_id: str = "") -> str:
        api_id = required(props, "ApiId")
        ctx.authorize(f"apigateway:{verb}", _arn(ctx, f"/{api_id}/{self.path}" + (f"/{child_id}" if child_id else "")))
        return api_id

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        api_id = self.check(ctx, props, "DELETE", current.physical_id)
        try:
            await self.remove(_apis(ctx), api_id, current.physical_id)
        except ApiError as exc:
            _unless_gone(exc)

    async def remove(self, apis: HttpApis, api_id: str, child_id: str) -> None:
        raise NotImplementedError


_ROUTE_MEMBERS = ("RouteKey", "Target", "AuthorizationType", "AuthorizerId", "AuthorizationScopes", "OperationName")


class Route(_Child):
    type_name = "AWS::ApiGatewayV2::Route"
    path, attribute = "routes", "RouteId"

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        api_id = self.check(ctx, props, "POST")
        route = await _apis(ctx).create_route(api_id, camel(props, _ROUTE_MEMBERS))
        return self.outcome(route.route_id)

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        api_id = self.check(ctx, new, "PATCH", current.physical_id)
        body: dict[str, Any] = {"target": None, "authorizationType": "NONE", "operationName": None}
        body.update(camel(new, _ROUTE_MEMBERS))
        await _apis(ctx).update_route(api_id, current.physical_id, body)
        return current

    async def remove(self, apis: HttpApis, api_id: str, child_id: str) -> None:
        await apis.delete_route(api_id, child_id)


_INTEGRATION_MEMBERS = ("IntegrationType", "IntegrationUri", "PayloadFormatVersion", "TimeoutInMillis",
                        "IntegrationMethod", "Description")  # fmt: skip


def _integration_body(ctx: Context, props: Properties) -> dict[str, Any]:
    body = camel(props, _INTEGRATION_MEMBERS)
    if "timeoutInMillis" in body:
        body["timeoutInMillis"] = int(str(body["timeoutInMillis"]))
    return body


class Integration(_Child):
    type_name = "AWS::ApiGatewayV2::Integration"
    path, attribute = "integrations", "IntegrationId"

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        api_id = self.check(ctx, props, "POST")
        integration = await _apis(ctx).create_integration(api_id, _integration_body(ctx, props))
        return self.outcome(integration.integration_id)

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        api_id = self.check(ctx, new, "PATCH", current.physical_id)
        await _apis(ctx).update_integration(api_id, current.physical_id, {"description": None, **_integration_body(ctx, new)})
        return current

    async def remove(self, apis: HttpApis, api_id: str, child_id: str) -> None:
        await apis.delete_integration(api_id, child_id)


_AUTHORIZER_MEMBERS = ("Name", "AuthorizerType", "IdentitySource", "AuthorizerUri", "AuthorizerPayloadFormatVersion",
                       "EnableSimpleResponses", "AuthorizerResultTtlInSeconds", "JwtConfiguration",
                       "AuthorizerCredentialsArn")  # fmt: skip


def _authorizer_body(props: Properties) -> dict[str, Any]:
    body = camel(props, _AUTHORIZER_MEMBERS)
    if "authorizerResultTtlInSeconds" in body:
        body["authorizerResultTtlInSeconds"] = int(str(body["authorizerResultTtlInSeconds"]))
    if "enableSimpleResponses" in body:
        body["enableSimpleResponses"] = str(body["enableSimpleResponses"]).lower() == "true"
    return body


class Authorizer(_Child):
    type_name = "AWS::ApiGatewayV2::Authorizer"
    path, attribute = "authorizers", "AuthorizerId"

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        api_id = self.check(ctx, props, "POST")
        authorizer = await authorizers.create(_apis(ctx), api_id, _authorizer_body(props))
        return self.outcome(authorizer.authorizer_id)

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        api_id = self.check(ctx, new, "PATCH", current.physical_id)
        await authorizers.update(_apis(ctx), api_id, current.physical_id, _authorizer_body(new))
        return current

    async def remove(self, apis: HttpApis, api_id: str, child_id: str) -> None:
        await authorizers.delete(apis, api_id, child_id)


def _stage_body(props: Properties) -> dict[str, Any]:
    body = camel(props, ("StageName", "AutoDeploy", "DeploymentId", "Description"))
    if "autoDeploy" in body:
        body["autoDeploy"] = str(body["autoDeploy"]).lower() == "true"
    variables = props.get("StageVariables")
    if isinstance(variables, Mapping):
        body["stageVariables"] = {str(k): str(v) for k, v in variables.items()}
    return body


class Stage(_Child):
    type_name = "AWS::ApiGatewayV2::Stage"
    replaced_by = frozenset({"ApiId", "StageName"})
    path = "stages"

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        api_id = self.check(ctx, props, "POST")
        stage = await _apis(ctx).create_stage(api_id, {**_stage_body(props), "tags": tag_list(props)})
        return self.outcome(stage.name)

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        api_id = self.check(ctx, new, "PATCH", current.physical_id)
        body = {"autoDeploy": False, "description": None, **_stage_body(new)}
        body.pop("stageName", None)
        removed = {k: "" for k in (old.get("StageVariables") or {}) if k not in (new.get("StageVariables") or {})}
        body["stageVariables"] = {**removed, **body.get("stageVariables", {})}
        await _apis(ctx).update_stage(api_id, current.physical_id, body)
        return current

    async def remove(self, apis: HttpApis, api_id: str, child_id: str) -> None:
        await apis.delete_stage(api_id, child_id)


class Deployment(_Child):
    type_name = "AWS::ApiGatewayV2::Deployment"
    replaced_by = frozenset({"ApiId", "StageName"})
    path, attribute = "deployments", "DeploymentId"

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        api_id = self.check(ctx, props, "POST")
        deployment = await _apis(ctx).create_deployment(api_id, camel(props, ("Description", "StageName")))
        return self.outcome(deployment.deployment_id)

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        return current  # a description is all that could change, and a deployment keeps the one it was made with

    async def remove(self, apis: HttpApis, api_id: str, child_id: str) -> None:
        if any(s.deployment_id == child_id for s in apis.state(api_id).stages.values()):
            return  # a stage still serves it (its own resource moves it or deletes it); AWS keeps it too
        await apis.delete_deployment(api_id, child_id)


PROVIDERS: tuple[Provider, ...] = (Api(), Stage(), Route(), Integration(), Deployment(), Authorizer())
