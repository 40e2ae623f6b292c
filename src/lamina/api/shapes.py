"""Lamina's model rendered in the Lambda API's wire shapes (botocore's output shapes)."""

from __future__ import annotations

from typing import Callable

from lamina.control.fields import vpc_id
from lamina.model import FunctionConfig, LayerVersion, LoggingSettings, State, UpdateStatus
from lamina.model import FunctionUrlConfig, UrlCors
from lamina.model import Alias
from lamina.runtime.version_arn import runtime_version_arn
from lamina.settings import Settings


def function_configuration(fn: FunctionConfig, settings: Settings, qualifier: str | None = None) -> dict[str, object]:
    """FunctionConfiguration; its FunctionArn carries ``qualifier`` (a version, an alias, "$LATEST")
    where AWS qualifies it: for a version published or listed, and as a Qualifier asked for it."""
    doc: dict[str, object] = {
        "FunctionName": fn.name,
        "FunctionArn": settings.function_arn(fn.name, qualifier),
        "Runtime": fn.runtime,
        "Role": fn.role,
        "Handler": fn.handler,
        "CodeSize": fn.code.size,
        "Description": fn.description,
        "Timeout": fn.timeout_s,
        "MemorySize": fn.memory_mb,
        "LastModified": fn.last_modified,
        "CodeSha256": fn.code.sha256_b64,
        "Version": fn.version,
        "TracingConfig": {"Mode": fn.tracing_mode},
        "RevisionId": fn.revision_id,
        "State": fn.state.value,
        "LastUpdateStatus": fn.update_status.value,
        "PackageType": "Zip",
        "Architectures": list(fn.architectures),
        "EphemeralStorage": {"Size": fn.ephemeral_mb},
        # SnapStart is "On" for the versions it applies to, never for $LATEST.
        "SnapStart": {"ApplyOn": fn.snap_start,
                      "OptimizationStatus": "On" if fn.snap_start != "None" and not fn.is_latest else "Off"},
        "RuntimeVersionConfig": {"RuntimeVersionArn": runtime_version_arn(settings.region, fn.runtime)},
        "LoggingConfig": logging_config(fn.logging, fn.name),
    }  # fmt: skip
    if fn.vpc is not None:
        doc["VpcConfig"] = {
            "SubnetIds": list(fn.vpc.subnet_ids),
            "SecurityGroupIds": list(fn.vpc.security_group_ids),
            "Ipv6AllowedForDualStack": fn.vpc.ipv6_allowed_for_dual_stack,
            "VpcId": vpc_id(fn.vpc),
        }
    if fn.file_systems:
        doc["FileSystemConfigs"] = [{"Arn": fs.arn, "LocalMountPath": fs.local_mount_path} for fs in fn.file_systems]
    if fn.kms_key_arn:
        doc["KMSKeyArn"] = fn.kms_key_arn
    if fn.layers:
        doc["Layers"] = [{"Arn": layer.arn, "CodeSize": layer.code.size} for layer in fn.layers]
    if fn.environment or fn.environment_set:
        doc["Environment"] = {"Variables": dict(fn.environment)}
    if fn.dead_letter_target:
        doc["DeadLetterConfig"] = {"TargetArn": fn.dead_letter_target}
    if fn.state is not State.ACTIVE and fn.state_reason:
        doc["StateReason"] = fn.state_reason
        doc["StateReasonCode"] = "Creating" if fn.state is State.PENDING else "InvalidZipFileException"
    if fn.state is State.PENDING and fn.is_latest:
        # Being created: AWS's answer has no LastUpdateStatus at all until creation completes.
        for key in ("LastUpdateStatus", "LastUpdateStatusReason", "LastUpdateStatusReasonCode"):
            doc.pop(key, None)
    elif fn.update_reason:
        doc["LastUpdateStatusReason"] = fn.update_reason
        if fn.update_status is UpdateStatus.FAILED:
            doc["LastUpdateStatusReasonCode"] = "InvalidZipFileException"
        elif fn.update_status is UpdateStatus.IN_PROGRESS:
            doc["LastUpdateStatusReasonCode"] = "Creating"  # AWS's, for updates too
    return doc


def logging_config(logging: LoggingSettings, function_name: str) -> dict[str, object]:
    """LoggingConfig: the levels only with JSON; the log group always (the default one if none is set)."""
    doc: dict[str, object] = {"LogFormat": logging.log_format}
    if logging.log_format == "JSON":
        doc["ApplicationLogLevel"] = logging.application_level
        doc["SystemLogLevel"] = logging.system_level
    doc["LogGroup"] = logging.log_group or f"/aws/lambda/{function_name}"
    return doc


def alias_configuration(alias: Alias, settings: Settings) -> dict[str, object]:
    """AliasConfiguration: CreateAlias's, GetAlias's and UpdateAlias's output, a ListAliases item."""
    doc: dict[str, object] = {
        "AliasArn": settings.function_arn(alias.function, alias.name),
        "Name": alias.name,
        "FunctionVersion": alias.function_version,
        "Description": alias.description,
    }
    if alias.weights:
        doc["RoutingConfig"] = {"AdditionalVersionWeights": dict(alias.weights)}
    doc["RevisionId"] = alias.revision_id
    return doc


def layer_version(layer: LayerVersion, layer_arn: str, locate: Callable[[str], str]) -> dict[str, object]:
    """GetLayerVersion's and PublishLayerVersion's output shape (``locate``: a code package's
    download URL by its digest)."""
    doc: dict[str, object] = {
        "Content": {
            "Location": locate(layer.code.digest),
            "CodeSha256": layer.code.sha256_b64,
            "CodeSize": layer.code.size,
        },
        "LayerArn": layer_arn,
        "LayerVersionArn": f"{layer_arn}:{layer.version}",
        "Description": layer.description,
        "CreatedDate": layer.created,
        "Version": layer.version,
    }
    if layer.compatible_runtimes:
        doc["CompatibleRuntimes"] = list(layer.compatible_runtimes)
    if layer.compatible_architectures:
        doc["CompatibleArchitectures"] = list(layer.compatible_architectures)
    if layer.license_info:
        doc["LicenseInfo"] = layer.license_info
    return doc


def url_cors(cors: UrlCors) -> dict[str, object]:
    """``Cors``: the members that are set."""
    members = {
        "AllowCredentials": cors.allow_credentials,
        "AllowHeaders": cors.allow_headers,
        "AllowMethods": cors.allow_methods,
        "AllowOrigins": cors.allow_origins,
        "ExposeHeaders": cors.expose_headers,
        "MaxAge": cors.max_age,
    }
    return {k: list(v) if isinstance(v, tuple) else v for k, v in members.items() if v is not None}


def function_url_config(url: FunctionUrlConfig, function_arn: str, function_url: str) -> dict[str, object]:
    """GetFunctionUrlConfig's and UpdateFunctionUrlConfig's output, and a ListFunctionUrlConfigs item."""
    doc: dict[str, object] = {
        "FunctionUrl": function_url,
        "FunctionArn": function_arn,
        "AuthType": url.auth_type.value,
    }
    if url.cors is not None:
        doc["Cors"] = url_cors(url.cors)
    doc["CreationTime"] = url.created
    doc["LastModifiedTime"] = url.last_modified
    doc["InvokeMode"] = url.invoke_mode.value
    return doc
