"""Patch operations (``patchOperations``) as Update* operations of ``apigateway`` receive them."""

from __future__ import annotations

from dataclasses import dataclass

from lamina.gateway.rest.errors import BadRequest

OPS = ("add", "remove", "replace", "move", "copy", "test")


@dataclass(frozen=True)
class Patch:
    op: str
    path: str
    value: str | None = None

    def invalid(self) -> BadRequest:
        # Two spaces after "path", as AWS writes it.
        return BadRequest(f"Invalid patch path  '{self.path}' specified for op '{self.op}'. Please choose supported operations")


def parse_patches(raw: object) -> list[Patch]:
    """The request's ``patchOperations``; BadRequest for one AWS could not read."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise BadRequest("Invalid patch operations specified")
    patches = []
    for item in raw:
        if not isinstance(item, dict):
            raise BadRequest("Invalid patch operations specified")
        op, path, value = item.get("op"), item.get("path"), item.get("value")
        if op not in OPS:
            raise BadRequest(f"Invalid patch operation specified. Must be one of: [{', '.join(OPS)}]")
        if not isinstance(path, str) or not path.startswith("/"):
            raise BadRequest("Invalid patch path specified")
        patches.append(Patch(str(op), path, value if isinstance(value, str) else None))
    return patches
