"""Lamina's model rendered in the Lambda API's wire shapes (botocore's output shapes)."""

from __future__ import annotations

from lamina.model import FunctionConfig, State
from lamina.settings import Settings


def function_configuration(fn: FunctionConfig, settings: Settings) -> dict[str, object]:
    doc: dict[str, object] = {
        "FunctionName": fn.name,
        "FunctionArn": settings.function_arn(fn.name),
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
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": fn.revision_id,
        "State": fn.state.value,
        "LastUpdateStatus": fn.update_status.value,
        "PackageType": "Zip",
        "Architectures": list(fn.architectures),
        "EphemeralStorage": {"Size": fn.ephemeral_mb},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{fn.name}"},
    }
    if fn.environment:
        doc["Environment"] = {"Variables": dict(fn.environment)}
    if fn.state is not State.ACTIVE and fn.state_reason:
        doc["StateReason"] = fn.state_reason
        doc["StateReasonCode"] = "Creating" if fn.state is State.PENDING else "InvalidZipFileException"
    if fn.update_reason:
        doc["LastUpdateStatusReason"] = fn.update_reason
        if fn.update_status.value == "Failed":
            doc["LastUpdateStatusReasonCode"] = "InvalidZipFileException"
    return doc
