"""AWS::Lambda::LayerVersion and LayerVersionPermission, through the layer control plane (the
objects the Lambda API's layer operations call). A layer version is immutable: any change publishes
another (and the old one is deleted, unless its DeletionPolicy keeps it: SAM's LayerVersion keeps
it by default, RetentionPolicy Retain). Content is read from Lamina's object store, as functions'
code (functions.s3_package)."""

from __future__ import annotations

import base64
from typing import Any

from lamina.control.layer_policy import statement
from lamina.control.layers import layer_name, parse_full_arn
from lamina.errors import ApiError, ResourceNotFound
from lamina.stacks.errors import ResourceFailed
from lamina.stacks.resources.base import Context, Outcome, Properties, Provider, required, text
from lamina.stacks.resources.functions import s3_package


class LayerVersion(Provider):
    type_name = "AWS::Lambda::LayerVersion"
    replaced_always = True

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        name = layer_name(text(props, "LayerName") or ctx.physical_name(logical_id, 64))
        layers = ctx.svc.layers
        ctx.authorize("lambda:PublishLayerVersion", layers.layer_arn(name))
        content = props.get("Content")
        if not isinstance(content, dict) or "S3Bucket" not in content or "S3Key" not in content:
            raise ResourceFailed("Property validation failure: [The property {/Content} must have S3Bucket and "
                                 "S3Key]")  # fmt: skip
        data = await s3_package(ctx, required(content, "S3Bucket"), required(content, "S3Key"))
        body: dict[str, Any] = {k: props[k] for k in ("Description", "CompatibleRuntimes", "LicenseInfo",
                                                      "CompatibleArchitectures") if k in props}  # fmt: skip
        code = await ctx.svc.functions.put_code({"ZipFile": base64.b64encode(data).decode()})
        layer = await layers.publish(name, body, code)
        arn = layers.version_arn(layer)
        return Outcome(arn, arn, {"LayerVersionArn": arn})

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        _, _, name, version = parse_full_arn(current.physical_id)
        ctx.authorize("lambda:DeleteLayerVersion", current.physical_id)
        await ctx.svc.layers.delete(name, version)  # one that is gone already: not an error, as Lambda's


class LayerVersionPermission(Provider):
    type_name = "AWS::Lambda::LayerVersionPermission"
    replaced_always = True  # it has no update: every property replaces it

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        arn = required(props, "LayerVersionArn")
        region, account, name, version = parse_full_arn(arn)
        if (region, account) != (ctx.region, ctx.account_id):
            raise ResourceFailed(f"Resource handler returned message: \"The layer version {arn} is not this "
                                 f"account's\"")  # fmt: skip
        layers = ctx.svc.layers
        layer = await layers.get(name, version)
        ctx.authorize("lambda:AddLayerVersionPermission", arn)
        sid = ctx.physical_name(logical_id, 100)
        body = {k: props[k] for k in ("Action", "Principal", "OrganizationId") if k in props}
        await layers.policies.add(name, version, statement(body, sid, layers.version_arn(layer)), None)
        physical = f"{arn}#{sid}"
        return Outcome(physical, physical)

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        arn, _, sid = current.physical_id.rpartition("#")
        _, _, name, version = parse_full_arn(arn)
        ctx.authorize("lambda:RemoveLayerVersionPermission", arn)
        try:
            await ctx.svc.layers.policies.remove(name, version, sid, None)
        except ApiError as exc:
            if not isinstance(exc, ResourceNotFound) and exc.code != "ResourceNotFoundException":
                raise
