"""Layers: published, immutable bundles of code that functions mount at /opt, in order.

A layer version is stored like function code (content-addressed, checked for hostile zips) and
never changes. Deleting a version does not take it from functions that use it: a function keeps
the code it was configured with, as on Lambda.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Mapping

from lamina.control.validation import architectures, constraint, string
from lamina.errors import InvalidParameterValue, ResourceNotFound
from lamina.model import Code, LayerRef, LayerVersion
from lamina.runtime.names import LAMBDA_RUNTIMES
from lamina.settings import Settings
from lamina.store.base import Store

MAX_LAYERS = 5
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_LAYER_ARN = re.compile(
    r"^arn:[a-zA-Z0-9-]+:lambda:(?P<region>[a-zA-Z0-9-]+):(?P<account>\d{12}):layer:(?P<name>[a-zA-Z0-9_-]+):(?P<version>\d+)$"
)


def layer_name(value: str) -> str:
    """A layer name from a path: a name or a layer ARN (without version)."""
    if value.startswith("arn:"):
        value = value.rsplit(":", 1)[-1]
    if not _NAME.match(value):
        raise constraint(value, "layerName", "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+")
    return value


def parse_version_arn(arn: object) -> tuple[str, int]:
    if not isinstance(arn, str) or not (match := _LAYER_ARN.match(arn)):
        raise constraint(arn, "layers", "Member must satisfy regular expression pattern: "
                          "arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+")  # fmt: skip
    return match["name"], int(match["version"])


class LayerService:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings

    def layer_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self._settings.region}:{self._settings.account_id}:layer:{name}"

    def version_arn(self, layer: LayerVersion) -> str:
        return f"{self.layer_arn(layer.name)}:{layer.version}"

    async def publish(self, name: str, body: Mapping[str, object], code: Code) -> LayerVersion:
        runtimes = body.get("CompatibleRuntimes", [])
        if not isinstance(runtimes, list) or len(runtimes) > 15 or any(r not in LAMBDA_RUNTIMES for r in runtimes):
            raise constraint(runtimes, "compatibleRuntimes", "Member must have length less than or equal to 15 and "
                              f"each member must satisfy enum value set: [{', '.join(LAMBDA_RUNTIMES)}]")  # fmt: skip
        arches = body.get("CompatibleArchitectures", [])
        if not isinstance(arches, list) or len(arches) > 2:
            raise constraint(arches, "compatibleArchitectures", "Member must have length less than or equal to 2")
        for arch in arches:
            architectures([arch])
        description = string(body, "Description") or ""
        if len(description) > 256:
            raise constraint(description, "description", "Member must have length less than or equal to 256")
        created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
        layer = LayerVersion(
            name=name, version=0, code=code, description=description, compatible_runtimes=tuple(runtimes),
            compatible_architectures=tuple(arches), license_info=string(body, "LicenseInfo") or "", created=created,
        )  # fmt: skip
        return await self._store.publish_layer(layer)

    async def get(self, name: str, version: int) -> LayerVersion:
        layer = await self._store.get_layer(name, version)
        if layer is None:
            raise ResourceNotFound("The resource you requested does not exist.")
        return layer

    async def delete(self, name: str, version: int) -> None:
        await self._store.delete_layer(name, version)

    async def versions(self, name: str | None) -> list[LayerVersion]:
        return await self._store.list_layer_versions(name)

    async def resolve(self, arns: object) -> tuple[LayerRef, ...]:
        """A function's ``Layers`` parameter: version ARNs, in order, each existing."""
        if not isinstance(arns, list):
            raise InvalidParameterValue("Layers must be a list of layer version ARNs")
        if len(arns) > MAX_LAYERS:
            raise InvalidParameterValue(f"Cannot reference more than {MAX_LAYERS} layers.")
        refs = []
        for arn in arns:
            name, version = parse_version_arn(arn)
            layer = await self._store.get_layer(name, version)
            if layer is None:
                raise InvalidParameterValue(f"Layer version {arn} does not exist.")
            refs.append(LayerRef(self.version_arn(layer), layer.code))
        if len({ref.arn.rsplit(":", 1)[0] for ref in refs}) != len(refs):
            raise InvalidParameterValue("Two different versions of the same layer are not allowed to be referenced "
                                        "in the same function.")  # fmt: skip
        return tuple(refs)
