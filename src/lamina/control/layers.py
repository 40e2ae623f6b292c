"""Layers: published, immutable bundles of code that functions mount at /opt, in order.

A layer version is stored like function code (content-addressed, checked for hostile zips) and
never changes. Deleting a version does not take it from functions that use it: a function keeps
the code it was configured with, as on Lambda.

Another account's layer version is found in that account's cell (``find_others_with``, set by the
cells' registry) and may be read and used only if its policy (``control/layer_policy.py``) allows
this cell's account ``lambda:GetLayerVersion``; its package is then copied into this cell's code
store, where the function's /opt is merged from.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timezone
from typing import Callable, Mapping, Optional

from lamina.control.layer_policy import ACTION, LayerPolicies, allows, document
from lamina.control.validation import architectures, code_source, constraint, required, string
from lamina.control.violations import Checks
from lamina.errors import AccessDenied, InvalidParameterValue, ResourceNotFound
from lamina.model import Code, LayerRef, LayerVersion
from lamina.runtime.names import MODEL_RUNTIMES
from lamina.settings import Settings
from lamina.store.aggregates import Store
from lamina.store.code import CodeStore

MAX_LAYERS = 5
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_LAYER_ARN = re.compile(
    r"^arn:[a-zA-Z0-9-]+:lambda:(?P<region>[a-zA-Z0-9-]+):(?P<account>\d{12}):layer:(?P<name>[a-zA-Z0-9_-]+):(?P<version>\d+)$"
)
_UNVERSIONED_ARN = re.compile(r"^arn:[a-zA-Z0-9-]+:lambda:(?P<region>[a-zA-Z0-9-]+):(?P<account>\d{12}):layer:")
# Another cell's layers, by (account, region); None: no such cell.
Elsewhere = Callable[[str, str], Optional["LayerService"]]


def layer_owner(value: str) -> tuple[str, str] | None:
    """(region, account) of a LayerName that is a layer ARN; None for a plain name."""
    match = _UNVERSIONED_ARN.match(value)
    return None if match is None else (match["region"], match["account"])


def layer_name(value: str) -> str:
    """A layer name from a path: a name or a layer ARN (without version)."""
    if value.startswith("arn:"):
        value = value.rsplit(":", 1)[-1]
    if not _NAME.match(value):
        raise constraint(value, "layerName", "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+")
    return value


def check_content(body: Mapping[str, object]) -> None:
    """PublishLayerVersion's Content as the model constrains it (required; its S3 members), checked
    before any package is stored."""
    checks = Checks()
    checks.check(lambda: required(body.get("Content"), "content"))
    content = body.get("Content")
    if isinstance(content, Mapping):
        checks.add(code_source(content, "content."))
    checks.done()


def parse_version_arn(arn: object) -> tuple[str, int]:
    _, _, name, version = parse_full_arn(arn)
    return name, version


def parse_full_arn(arn: object) -> tuple[str, str, str, int]:
    """(region, account, name, version) of a layer version ARN."""
    if not isinstance(arn, str) or not (match := _LAYER_ARN.match(arn)):
        raise constraint(arn, "layers", "Member must satisfy regular expression pattern: "
                          "arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+")  # fmt: skip
    return match["region"], match["account"], match["name"], int(match["version"])


class LayerService:
    def __init__(self, store: Store, settings: Settings, code: CodeStore | None = None) -> None:
        self._store = store
        self._settings = settings
        self._code = code
        self.policies = LayerPolicies(store)
        self._elsewhere: Elsewhere = lambda account, region: None

    def find_others_with(self, elsewhere: Elsewhere) -> None:
        """Find other accounts' layers with ``elsewhere`` (the server's cells)."""
        self._elsewhere = elsewhere

    async def load(self) -> None:
        await self.policies.load()

    def layer_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self._settings.region}:{self._settings.account_id}:layer:{name}"

    def version_arn(self, layer: LayerVersion) -> str:
        return f"{self.layer_arn(layer.name)}:{layer.version}"

    async def publish(self, name: str, body: Mapping[str, object], code: Code) -> LayerVersion:
        runtimes = body.get("CompatibleRuntimes", [])
        if not isinstance(runtimes, list) or len(runtimes) > 15 or any(r not in MODEL_RUNTIMES for r in runtimes):
            raise constraint(runtimes, "compatibleRuntimes", "Member must have length less than or equal to 15 and "
                              f"each member must satisfy enum value set: [{', '.join(MODEL_RUNTIMES)}]")  # fmt: skip
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
        await self.policies.forget(name, version)

    async def shared(self, region: str, account: str, name: str, version: int) -> tuple[LayerService, LayerVersion]:
        """A layer version as this cell's account may read and use it, and the cell's layers that own it:
        its own, or another account's whose policy allows it (``AccessDenied`` otherwise, as AWS, also
        for one that does not exist). Another account's package is copied into this cell's code store."""
        s = self._settings
        if (region, account) == (s.region, s.account_id):
            return self, await self.get(name, version)
        if account == s.account_id:  # the account's own layers of another region: not found here
            raise ResourceNotFound("The resource you requested does not exist.")
        resource = f"arn:aws:lambda:{region}:{account}:layer:{name}:{version}"
        owner = self._elsewhere(account, region) if region == s.region else None
        layer = None if owner is None else await owner._store.get_layer(name, version)
        if owner is None or layer is None or not allows(owner.policies.statements(name, version), s.account_id):
            raise AccessDenied(f"User: arn:aws:iam::{s.account_id}:root is not authorized to perform: {ACTION} on "
                               f"resource: {resource} because no resource-based policy allows the {ACTION} action")  # fmt: skip
        await self._copy(owner, layer.code)
        return owner, layer

    async def policy_document(self, arn: str) -> str | None:
        """The layer version policy of ``arn`` (this account's or another's, of this region) as a
        policy document, or None if it has no statement or no such layer version is known here."""
        try:
            region, account, name, version = parse_full_arn(arn)
        except InvalidParameterValue:
            return None
        s = self._settings
        owner = self if (region, account) == (s.region, s.account_id) else (
            self._elsewhere(account, region) if region == s.region else None)  # fmt: skip
        statements = owner.policies.statements(name, version) if owner is not None else []
        return document(statements) if statements else None

    async def _copy(self, owner: LayerService, code: Code) -> None:
        if self._code is None or owner._code is None or self._code.zip_path(code.digest).exists():
            return
        data = await asyncio.to_thread(owner._code.read, code.digest)
        await asyncio.to_thread(self._code.put, data)

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
            region, account, name, version = parse_full_arn(arn)
            try:
                owner, layer = await self.shared(region, account, name, version)
            except ResourceNotFound:
                raise InvalidParameterValue(f"Layer version {arn} does not exist.") from None
            refs.append(LayerRef(owner.version_arn(layer), layer.code))
        if len({ref.arn.rsplit(":", 1)[0] for ref in refs}) != len(refs):
            raise InvalidParameterValue("Two different versions of the same layer are not allowed to be referenced "
                                        "in the same function.")  # fmt: skip
        return tuple(refs)
