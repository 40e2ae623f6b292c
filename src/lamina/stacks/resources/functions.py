"""AWS::Lambda::Function, Version, Alias, Permission and Url, through the function control plane
(the objects the Lambda API calls). A function's inline ``Code.ZipFile`` becomes ``index.py`` or
``index.js`` in a package, as CloudFormation does; ``S3Bucket``/``S3Key`` are read from Lamina's
object store in the stack's cell. After a create or an update the function is awaited until its code
is prepared (CloudFormation waits for Active too), and a function that failed fails the resource."""

from __future__ import annotations

import asyncio
import base64
import io
import zipfile
from typing import Any, Mapping

from lamina.errors import ResourceNotFound
from lamina.model import FunctionConfig, State
from lamina.stacks.errors import ResourceFailed
from lamina.stacks.resources.base import Context, Outcome, Properties, Provider, required, tag_list, text
from lamina.urls.addresses import function_url

SETTLE_SECONDS = 300.0
# The configuration CloudFormation's properties set, with the value each returns to when removed.
_CONFIGURATION: Mapping[str, Any] = {
    "Role": None, "Handler": None, "Runtime": None, "Description": "", "Timeout": 3, "MemorySize": 128,
    "Environment": {"Variables": {}}, "Layers": [], "DeadLetterConfig": {}, "TracingConfig": {"Mode": "PassThrough"},
    "EphemeralStorage": {"Size": 512}, "LoggingConfig": None, "KmsKeyArn": None, "VpcConfig": None,
    "FileSystemConfigs": None, "SnapStart": None, "ImageConfig": None,
}  # fmt: skip
_API_NAMES = {"KmsKeyArn": "KMSKeyArn"}
_CREATE_ONLY = ("Architectures", "PackageType", "CodeSigningConfigArn")


def function_name(value: str) -> tuple[str, str | None]:
    """A FunctionName property (a name, a partial or a full ARN) as the name and its qualifier."""
    parts = value.split(":")
    if value.startswith("arn:") and len(parts) >= 7:
        return parts[6], parts[7] if len(parts) > 7 else None
    if len(parts) >= 3 and parts[1] == "function":  # 123456789012:function:name[:qualifier]
        return parts[2], parts[3] if len(parts) > 3 else None
    return parts[0], parts[1] if len(parts) > 1 else None


def inline_package(source: str, runtime: str | None) -> bytes:
    """``Code.ZipFile``'s source as the package CloudFormation makes of it."""
    if runtime is not None and runtime.startswith("python"):
        name = "index.py"
    elif runtime is not None and runtime.startswith("nodejs"):
        name = "index.js"
    else:
        raise ResourceFailed("ZipFile can only be used when Runtime is set to either of python or nodejs runtimes.")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        package.writestr(info, source)
    return buffer.getvalue()


async def s3_package(ctx: Context, bucket: str, key: str) -> bytes:
    """A package in Lamina's object store, as Lambda reads one: from a bucket of the stack's account
    (another account's is refused as S3 refuses Lambda without a grant; Lamina keeps each account's
    objects in its own cell), no larger than a zipped package may be."""
    objects = ctx.svc.objects
    if objects is None:
        raise ResourceFailed("Lamina's object store is not served here: use Code.ZipFile.")
    owner = objects.owner(bucket)
    if owner is None:
        raise ResourceFailed("Resource handler returned message: \"Error occurred while GetObject. S3 Error Code: "
                             "NoSuchBucket. S3 Error Message: The specified bucket does not exist\"")  # fmt: skip
    if owner.account != ctx.account_id:
        raise ResourceFailed(f"Resource handler returned message: \"Your access has been denied by S3, please make "
                             f"sure your request credentials have permission to GetObject for {bucket}/{key}. S3 Error "
                             f"Code: AccessDenied. S3 Error Message: Access Denied\"")  # fmt: skip
    if not objects.exists(bucket):  # the account's bucket, in another region's cell
        raise ResourceFailed(f"Resource handler returned message: \"Error occurred while GetObject. S3 Error Code: "
                             f"PermanentRedirect. S3 Error Message: The bucket is in this region: {owner.region}. "
                             f"Please use this region to retry the request\"")  # fmt: skip
    stored = objects.current(bucket, key)
    if stored is None:
        raise ResourceFailed("Resource handler returned message: \"Error occurred while GetObject. S3 Error Code: "
                             "NoSuchKey. S3 Error Message: The specified key does not exist.\"")  # fmt: skip
    if stored.size > ctx.svc.settings.limits.zipped_code_bytes:
        raise ResourceFailed(f"Code from S3 must be smaller than {ctx.svc.settings.limits.zipped_code_bytes} "
                             f"bytes")  # fmt: skip
    return await asyncio.to_thread(objects.bodies.path(stored.file).read_bytes)


async def _package(ctx: Context, props: Properties) -> dict[str, str]:
    """The Code property as CreateFunction's ``{"ZipFile": base64}``."""
    code = props.get("Code")
    if not isinstance(code, dict):
        raise ResourceFailed("Property validation failure: [The property {/Code} is required]")
    if "ZipFile" in code:
        source = text(code, "ZipFile") or ""
        data = inline_package(source, text(props, "Runtime"))
    elif "S3Bucket" in code and "S3Key" in code:
        data = await s3_package(ctx, required(code, "S3Bucket"), required(code, "S3Key"))
    elif "ImageUri" in code:
        raise ResourceFailed("Lamina runs .zip deployment packages; container images are not supported.")
    else:
        raise ResourceFailed("Please provide a source for function code: ZipFile, S3Bucket and S3Key.")
    return {"ZipFile": base64.b64encode(data).decode()}


async def _settled(ctx: Context, name: str) -> FunctionConfig:
    fn = await ctx.svc.functions.wait_settled(name, SETTLE_SECONDS)
    if fn.state is State.FAILED:
        raise ResourceFailed(f"Resource handler returned message: \"{fn.state_reason}\"")
    return fn


def _configuration(props: Properties, *, removed_too: bool) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name, default in _CONFIGURATION.items():
        if name in props:
            body[_API_NAMES.get(name, name)] = props[name]
        elif removed_too and default is not None:
            body[_API_NAMES.get(name, name)] = default
    return body


class Function(Provider):
    type_name = "AWS::Lambda::Function"
    replaced_by = frozenset({"FunctionName", "PackageType", "Architectures"})

    def _outcome(self, ctx: Context, name: str) -> Outcome:
        return Outcome(name, name, {"Arn": ctx.svc.settings.function_arn(name)})

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        name = text(props, "FunctionName") or ctx.physical_name(logical_id, 64)
        ctx.authorize("lambda:CreateFunction", ctx.svc.settings.function_arn(name))
        ctx.authorize("iam:PassRole", required(props, "Role"))
        body = {**_configuration(props, removed_too=False), "FunctionName": name, "Code": await _package(ctx, props)}
        body.update({k: props[k] for k in _CREATE_ONLY if k in props})
        if "Tags" in props:
            body["Tags"] = tag_list(props)
        await ctx.svc.functions.create(body)
        try:
            await _settled(ctx, name)
            await self._reserved(ctx, name, {}, props)
        except BaseException:  # the resource failed: what was made of it goes, as the stack cannot name it
            await ctx.svc.functions.delete(name)
            raise
        return self._outcome(ctx, name)

    @staticmethod
    async def _reserved(ctx: Context, name: str, old: Properties, new: Properties) -> None:
        """ReservedConcurrentExecutions, through PutFunctionConcurrency and DeleteFunctionConcurrency."""
        if old.get("ReservedConcurrentExecutions") == new.get("ReservedConcurrentExecutions"):
            return
        arn = ctx.svc.settings.function_arn(name)
        if "ReservedConcurrentExecutions" in new:
            ctx.authorize("lambda:PutFunctionConcurrency", arn)
            await ctx.svc.concurrency.put_reserved(name, {"ReservedConcurrentExecutions": new[
                "ReservedConcurrentExecutions"]})  # fmt: skip
        else:
            ctx.authorize("lambda:DeleteFunctionConcurrency", arn)
            await ctx.svc.concurrency.delete_reserved(name)

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        name = current.physical_id
        arn = ctx.svc.settings.function_arn(name)
        if old.get("Code") != new.get("Code") or old.get("Runtime") != new.get("Runtime"):
            ctx.authorize("lambda:UpdateFunctionCode", arn)
            await ctx.svc.functions.update_code(name, await _package(ctx, new))
            await _settled(ctx, name)
        if _configuration(old, removed_too=True) != _configuration(new, removed_too=True):
            ctx.authorize("lambda:UpdateFunctionConfiguration", arn)
            if old.get("Role") != new.get("Role"):
                ctx.authorize("iam:PassRole", required(new, "Role"))
            await ctx.svc.functions.update_configuration(name, _configuration(new, removed_too=True))
            await _settled(ctx, name)
        await self._reserved(ctx, name, old, new)
        if old.get("Tags") != new.get("Tags"):
            ctx.authorize("lambda:TagResource", arn)
            stale = [k for k in tag_list(old) if k not in tag_list(new)]
            if stale:
                await ctx.svc.tags.untag(arn, stale)
            if tag_list(new):
                await ctx.svc.tags.tag(arn, tag_list(new))
        return self._outcome(ctx, name)

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        ctx.authorize("lambda:DeleteFunction", ctx.svc.settings.function_arn(current.physical_id))
        try:
            await ctx.svc.functions.delete(current.physical_id)
        except ResourceNotFound:
            pass


class Version(Provider):
    type_name = "AWS::Lambda::Version"
    replaced_always = True  # a version is immutable: a change publishes another

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        name, _ = function_name(required(props, "FunctionName"))
        ctx.authorize("lambda:PublishVersion", ctx.svc.settings.function_arn(name))
        await _settled(ctx, name)
        body = {k: props[k] for k in ("Description", "CodeSha256") if k in props}
        published = await ctx.svc.functions.publish_version(name, body)
        arn = ctx.svc.settings.function_arn(name, published.version)
        return Outcome(arn, arn, {"Version": published.version, "FunctionArn": arn})

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        name, _ = function_name(required(props, "FunctionName"))
        ctx.authorize("lambda:DeleteFunction", current.physical_id)
        try:
            await ctx.svc.functions.delete_version(name, str(current.attributes.get("Version")))
        except ResourceNotFound:
            pass


def _routing(props: Properties) -> dict[str, Any]:
    config = props.get("RoutingConfig")
    if not isinstance(config, dict):
        return {"AdditionalVersionWeights": {}}
    weights = config.get("AdditionalVersionWeights") or []
    return {"AdditionalVersionWeights": {str(w.get("FunctionVersion")): float(w.get("FunctionWeight", 0))
                                         for w in weights if isinstance(w, dict)}}  # fmt: skip


class Alias(Provider):
    type_name = "AWS::Lambda::Alias"
    replaced_by = frozenset({"FunctionName", "Name"})

    @staticmethod
    def _body(props: Properties) -> dict[str, Any]:
        return {"FunctionVersion": required(props, "FunctionVersion"), "Description": text(props, "Description", ""),
                "RoutingConfig": _routing(props)}  # fmt: skip

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        name, _ = function_name(required(props, "FunctionName"))
        alias = required(props, "Name")
        arn = ctx.svc.settings.function_arn(name, alias)
        ctx.authorize("lambda:CreateAlias", arn)
        await ctx.svc.functions.aliases.create(name, {"Name": alias, **self._body(props)})
        return Outcome(arn, arn, {"AliasArn": arn})

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        name, _ = function_name(required(new, "FunctionName"))
        ctx.authorize("lambda:UpdateAlias", current.physical_id)
        await ctx.svc.functions.aliases.update(name, required(new, "Name"), self._body(new))
        return current

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        name, _ = function_name(required(props, "FunctionName"))
        ctx.authorize("lambda:DeleteAlias", current.physical_id)
        try:
            await ctx.svc.functions.aliases.delete(name, required(props, "Name"))
        except ResourceNotFound:
            pass


class Permission(Provider):
    type_name = "AWS::Lambda::Permission"
    replaced_always = True  # AWS::Lambda::Permission has no update: every property replaces it
    _MEMBERS = ("Action", "Principal", "SourceArn", "SourceAccount", "EventSourceToken", "PrincipalOrgID",
                "FunctionUrlAuthType")  # fmt: skip

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        name, qualifier = function_name(required(props, "FunctionName"))
        sid = ctx.physical_name(logical_id, 100)
        ctx.authorize("lambda:AddPermission", ctx.svc.settings.function_arn(name, qualifier))
        body = {k: props[k] for k in self._MEMBERS if k in props}
        await ctx.svc.policies.add(name, qualifier, {"StatementId": sid, **body})
        return Outcome(sid, sid)

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        name, qualifier = function_name(required(props, "FunctionName"))
        ctx.authorize("lambda:RemovePermission", ctx.svc.settings.function_arn(name, qualifier))
        try:
            await ctx.svc.policies.remove(name, qualifier, current.physical_id, None)
        except ResourceNotFound:
            pass


class Url(Provider):
    type_name = "AWS::Lambda::Url"
    replaced_by = frozenset({"TargetFunctionArn", "Qualifier"})

    @staticmethod
    def _body(props: Properties) -> dict[str, Any]:
        return {k: props[k] for k in ("AuthType", "Cors", "InvokeMode") if k in props}

    def _outcome(self, ctx: Context, props: Properties, url_id: str) -> Outcome:
        name, qualifier = self._target(props)
        arn = ctx.svc.settings.function_arn(name, qualifier)
        address = function_url(url_id, ctx.region, ctx.port)
        return Outcome(arn, arn, {"FunctionArn": arn, "FunctionUrl": address})

    @staticmethod
    def _target(props: Properties) -> tuple[str, str | None]:
        name, qualifier = function_name(required(props, "TargetFunctionArn"))
        return name, text(props, "Qualifier") or qualifier

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        name, qualifier = self._target(props)
        ctx.authorize("lambda:CreateFunctionUrlConfig", ctx.svc.settings.function_arn(name, qualifier))
        url = await ctx.svc.urls.create(name, qualifier, self._body(props))
        return self._outcome(ctx, props, url.url_id)

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        name, qualifier = self._target(new)
        ctx.authorize("lambda:UpdateFunctionUrlConfig", ctx.svc.settings.function_arn(name, qualifier))
        body = {"AuthType": new.get("AuthType", "AWS_IAM"), "Cors": new.get("Cors", {}),
                "InvokeMode": new.get("InvokeMode", "BUFFERED")}  # fmt: skip
        url = await ctx.svc.urls.update(name, qualifier, body)
        return self._outcome(ctx, new, url.url_id)

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        name, qualifier = self._target(props)
        ctx.authorize("lambda:DeleteFunctionUrlConfig", ctx.svc.settings.function_arn(name, qualifier))
        try:
            await ctx.svc.urls.delete(name, qualifier)
        except ResourceNotFound:
            pass

