"""FunctionConfig to and from the JSON document the stores keep (not the wire shape)."""

from __future__ import annotations

import json
from typing import Any

from lamina.model import Code, FunctionConfig, State, UpdateStatus


def encode(fn: FunctionConfig) -> str:
    doc: dict[str, Any] = {
        "name": fn.name,
        "runtime": fn.runtime,
        "handler": fn.handler,
        "role": fn.role,
        "code": {"digest": fn.code.digest, "sha256_b64": fn.code.sha256_b64, "size": fn.code.size},
        "memory_mb": fn.memory_mb,
        "timeout_s": fn.timeout_s,
        "ephemeral_mb": fn.ephemeral_mb,
        "description": fn.description,
        "environment": dict(fn.environment),
        "architectures": list(fn.architectures),
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
        state=State(doc["state"]),
        state_reason=doc["state_reason"],
        update_status=UpdateStatus(doc["update_status"]),
        update_reason=doc["update_reason"],
        last_modified=doc["last_modified"],
        revision_id=doc["revision_id"],
        version=doc["version"],
    )
