"""FunctionConfig to and from the JSON document the stores keep (not the wire shape)."""

from __future__ import annotations

import json
from typing import Any

from lamina.model import Code, FunctionConfig, LayerRef, LayerVersion, State, UpdateStatus


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
    }
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
    )


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
