"""FunctionConfig to and from the JSON document the stores keep (not the wire shape)."""

from __future__ import annotations

import json
from typing import Any, Sequence

from lamina.model import (
    Code,
    EventInvokeConfig,
    FileSystem,
    FunctionConfig,
    FunctionPolicy,
    LayerRef,
    LayerVersion,
    LoggingSettings,
    PolicyStatement,
    State,
    UpdateStatus,
    VpcSettings,
)
from lamina.model import FunctionUrlConfig, InvokeMode, UrlAuthType, UrlCors
from lamina.model import Alias
from lamina.store.base import Delivery


def _code(code: Code) -> dict[str, Any]:
    return {"digest": code.digest, "sha256_b64": code.sha256_b64, "size": code.size, "unzipped": code.unzipped}


def encode(fn: FunctionConfig) -> str:
    doc: dict[str, Any] = {
        "name": fn.name,
        "runtime": fn.runtime,
        "handler": fn.handler,
        "role": fn.role,
        "code": _code(fn.code),
        "memory_mb": fn.memory_mb,
        "timeout_s": fn.timeout_s,
        "ephemeral_mb": fn.ephemeral_mb,
        "description": fn.description,
        "environment": dict(fn.environment),
        "architectures": list(fn.architectures),
        "layers": [{"arn": layer.arn, "code": _code(layer.code)} for layer in fn.layers],
        "state": fn.state.value,
        "state_reason": fn.state_reason,
        "update_status": fn.update_status.value,
        "update_reason": fn.update_reason,
        "last_modified": fn.last_modified,
        "revision_id": fn.revision_id,
        "version": fn.version,
        "config_revision": fn.config_revision,
        "dead_letter_target": fn.dead_letter_target,
        "environment_set": fn.environment_set,
        "tracing_mode": fn.tracing_mode,
        "logging": vars(fn.logging),
        "vpc": None if fn.vpc is None else {
            "subnet_ids": list(fn.vpc.subnet_ids), "security_group_ids": list(fn.vpc.security_group_ids),
            "ipv6_allowed_for_dual_stack": fn.vpc.ipv6_allowed_for_dual_stack,
        },
        "file_systems": [vars(fs) for fs in fn.file_systems],
        "kms_key_arn": fn.kms_key_arn,
        "snap_start": fn.snap_start,
    }  # fmt: skip
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


def decode(text: str) -> FunctionConfig:
    doc = json.loads(text)
    return FunctionConfig(
        name=doc["name"],
        runtime=doc["runtime"],
        handler=doc["handler"],
        role=doc["role"],
        code=Code(**doc["code"]),
        memory_mb=doc["memory_mb"],
        timeout_s=doc["timeout_s"],
        ephemeral_mb=doc["ephemeral_mb"],
        description=doc["description"],
        environment=doc["environment"],
        architectures=tuple(doc["architectures"]),
        layers=tuple(LayerRef(layer["arn"], Code(**layer["code"])) for layer in doc.get("layers", ())),
        state=State(doc["state"]),
        state_reason=doc["state_reason"],
        update_status=UpdateStatus(doc["update_status"]),
        update_reason=doc["update_reason"],
        last_modified=doc["last_modified"],
        revision_id=doc["revision_id"],
        version=doc["version"],
        config_revision=doc.get("config_revision", ""),
        dead_letter_target=doc.get("dead_letter_target"),
        # Documents stored before these fields existed have their defaults.
        environment_set=doc.get("environment_set", False),
        tracing_mode=doc.get("tracing_mode", "PassThrough"),
        logging=LoggingSettings(**doc["logging"]) if "logging" in doc else LoggingSettings(),
        vpc=_vpc(doc.get("vpc")),
        file_systems=tuple(FileSystem(**fs) for fs in doc.get("file_systems", ())),
        kms_key_arn=doc.get("kms_key_arn", ""),
        snap_start=doc.get("snap_start", "None"),
    )


def _vpc(doc: dict[str, Any] | None) -> VpcSettings | None:
    if doc is None:
        return None
    return VpcSettings(tuple(doc["subnet_ids"]), tuple(doc["security_group_ids"]), doc["ipv6_allowed_for_dual_stack"])


def encode_layer(layer: LayerVersion) -> str:
    doc = {
        "name": layer.name,
        "version": layer.version,
        "code": _code(layer.code),
        "description": layer.description,
        "compatible_runtimes": list(layer.compatible_runtimes),
        "compatible_architectures": list(layer.compatible_architectures),
        "license_info": layer.license_info,
        "created": layer.created,
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


def decode_layer(text: str) -> LayerVersion:
    doc = json.loads(text)
    return LayerVersion(
        name=doc["name"],
        version=doc["version"],
        code=Code(**doc["code"]),
        description=doc["description"],
        compatible_runtimes=tuple(doc["compatible_runtimes"]),
        compatible_architectures=tuple(doc["compatible_architectures"]),
        license_info=doc["license_info"],
        created=doc["created"],
    )


def encode_statements(statements: tuple[PolicyStatement, ...]) -> str:
    doc = [
        {"sid": s.sid, "principal": s.principal, "action": s.action, "resource": s.resource, "condition": s.condition}
        for s in statements
    ]
    return json.dumps(doc, separators=(",", ":"))


def decode_policy(function: str, qualifier: str, revision_id: str, text: str) -> FunctionPolicy:
    statements = tuple(
        PolicyStatement(sid=s["sid"], principal=s["principal"], action=s["action"], resource=s["resource"],
                        condition=s["condition"])
        for s in json.loads(text)
    )  # fmt: skip
    return FunctionPolicy(function, qualifier, statements, revision_id)


def encode_event_invoke_config(config: EventInvokeConfig) -> str:
    doc = {
        "maximum_retry_attempts": config.maximum_retry_attempts,
        "maximum_event_age_seconds": config.maximum_event_age_seconds,
        "on_success": config.on_success,
        "on_failure": config.on_failure,
        "last_modified": config.last_modified,
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


def decode_event_invoke_config(function: str, qualifier: str, text: str) -> EventInvokeConfig:
    doc = json.loads(text)
    return EventInvokeConfig(function=function, qualifier=qualifier, **doc)


_CORS_LISTS = ("allow_headers", "allow_methods", "allow_origins", "expose_headers")


def encode_url(url: FunctionUrlConfig) -> str:
    """A function URL's settings; its function, qualifier and url-id are columns of their own."""
    cors = None
    if url.cors is not None:
        cors = {k: list(v) if k in _CORS_LISTS and v is not None else v for k, v in vars(url.cors).items()}
    doc = {
        "auth_type": url.auth_type.value,
        "invoke_mode": url.invoke_mode.value,
        "cors": cors,
        "created": url.created,
        "last_modified": url.last_modified,
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


def decode_url(function: str, qualifier: str, url_id: str, text: str) -> FunctionUrlConfig:
    doc = json.loads(text)
    cors: dict[str, Any] | None = doc["cors"]
    if cors is not None:
        cors = {k: tuple(v) if k in _CORS_LISTS and v is not None else v for k, v in cors.items()}
    return FunctionUrlConfig(
        function=function, qualifier=qualifier, url_id=url_id, auth_type=UrlAuthType(doc["auth_type"]),
        invoke_mode=InvokeMode(doc["invoke_mode"]), cors=None if cors is None else UrlCors(**cors),
        created=doc["created"], last_modified=doc["last_modified"],
    )  # fmt: skip


def encode_alias(alias: Alias) -> str:
    """An alias's settings; its function, name and RevisionId are columns of their own."""
    doc = {"function_version": alias.function_version, "description": alias.description, "weights": dict(alias.weights)}
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


def decode_alias(function: str, name: str, revision_id: str, text: str) -> Alias:
    doc = json.loads(text)
    return Alias(function, name, doc["function_version"], doc["description"], doc["weights"], revision_id)


def encode_deliveries(owed: Sequence[Delivery]) -> str:
    """What a bus event still owes, as stored."""
    return json.dumps([{"rule": d.rule, "target": d.target, "attempts": d.attempts, "nextMs": d.next_ms}
                       for d in owed])  # fmt: skip


def decode_deliveries(text: str) -> tuple[Delivery, ...]:
    return tuple(Delivery(d["rule"], d["target"], d["attempts"], d["nextMs"]) for d in json.loads(text))
