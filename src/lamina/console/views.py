"""What the console's JSON says of a function and what hangs off it (pure): its configuration,
versions and aliases, its triggers, and its dead letters and destination records."""

from __future__ import annotations

from collections.abc import Iterable

from lamina.mappings.model import EventSourceMapping
from lamina.model import Alias, FunctionConfig, FunctionUrlConfig
from lamina.store.base import OutboxMessage

_BODY_CHARS = 4096  # of a dead letter's body: the console shows, it does not export


def function(fn: FunctionConfig) -> dict[str, object]:
    return {
        "name": fn.name, "version": fn.version, "runtime": fn.runtime, "handler": fn.handler,
        "state": str(fn.state), "stateReason": fn.state_reason, "lastUpdateStatus": str(fn.update_status),
        "memory": fn.memory_mb, "timeout": fn.timeout_s, "architectures": list(fn.architectures),
        "description": fn.description, "lastModified": fn.last_modified, "codeSize": fn.code.size,
        "deadLetterTarget": fn.dead_letter_target,
    }  # fmt: skip


def version(fn: FunctionConfig) -> dict[str, object]:
    return {"version": fn.version, "description": fn.description, "state": str(fn.state),
            "lastModified": fn.last_modified, "codeSha256": fn.code.sha256_b64}  # fmt: skip


def alias(a: Alias) -> dict[str, object]:
    return {"name": a.name, "functionVersion": a.function_version, "weights": dict(a.weights),
            "description": a.description}  # fmt: skip


def mapping(m: EventSourceMapping) -> dict[str, object]:
    return {"uuid": m.uuid, "kind": m.kind.value, "source": m.source_arn, "qualifier": m.qualifier,
            "state": m.state.value, "batchSize": m.batch_size, "lastResult": m.last_result}  # fmt: skip


def url(u: FunctionUrlConfig, address: str) -> dict[str, object]:
    return {"qualifier": u.qualifier, "url": address, "authType": str(u.auth_type)}


def rule(bus: str, name: str, qualifier: str | None) -> dict[str, object]:
    return {"bus": bus, "rule": name, "qualifier": qualifier}


def letters(messages: Iterable[OutboxMessage], function_name: str, limit: int) -> list[dict[str, object]]:
    """The newest ``limit`` outbox messages from ``function_name``'s events, newest first."""
    mine = [m for m in messages if m.function == function_name]
    return [
        {"id": m.id, "kind": m.kind, "target": m.target, "requestId": m.request_id,
         "body": m.body[:_BODY_CHARS].decode("utf-8", "replace"), "attributes": m.attributes,
         "createdMs": m.created_ms}
        for m in reversed(mine[-limit:])
    ]  # fmt: skip
