"""Code signing configurations: which signing profiles a function's code must be signed by, and
what a deployment that is not does (``UntrustedArtifactOnDeployment``: Warn or Enforce).

Configurations and which function uses which are kept in memory and written through the store's
resources (kinds ``lambda/code-signing-config``, by id, and ``lambda/function-code-signing``, by
function name). Lamina cannot verify AWS Signer's signatures, and the code it takes (a ZipFile in
the request) carries none: every deployment to a function with a configuration is an unsigned
artifact. With ``Enforce`` it is refused as AWS refuses one (CodeVerificationFailedException);
with ``Warn`` it is deployed and a warning logged, as AWS deploys it with a warning.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import string
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Mapping

from lamina.control.changes import Change, FunctionDeleted
from lamina.control.validation import constraint
from lamina.errors import ApiError, InvalidParameterValue, ResourceConflict, ResourceNotFound
from lamina.model import FunctionConfig, LayerRef
from lamina.settings import Settings
from lamina.store.base import Resource
from lamina.store.aggregates import ResourceStore

log = logging.getLogger(__name__)

CONFIGS = "lambda/code-signing-config"
BINDINGS = "lambda/function-code-signing"
KINDS = (CONFIGS, BINDINGS)
WARN, ENFORCE = "Warn", "Enforce"
MAX_PROFILES = 20
_ALPHABET = string.ascii_lowercase + string.digits
_ARN = re.compile(
    r"^arn:(aws[a-zA-Z-]*)?:lambda:(?P<region>(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}):"
    r"(?P<account>\d{12}):code-signing-config:(?P<id>csc-[a-z0-9]{17})$"
)
_ARN_RULE = (
    "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|"
    "(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:code-signing-config:csc-[a-z0-9]{17}"
)
_PROFILE = re.compile(
    r"^arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)$"
)


class CodeVerificationFailed(ApiError):
    code = "CodeVerificationFailedException"
    status = 400


class CodeSigningConfigNotFound(ApiError):
    code = "CodeSigningConfigNotFoundException"
    status = 404


@dataclass(frozen=True)
class CodeSigningConfig:
    id: str
    arn: str
    description: str
    profiles: tuple[str, ...]  # AllowedPublishers.SigningProfileVersionArns
    policy: str  # CodeSigningPolicies.UntrustedArtifactOnDeployment
    last_modified: str
    tags: Mapping[str, str]

    def shape(self) -> dict[str, object]:
        """The API's CodeSigningConfig."""
        return {
            "CodeSigningConfigId": self.id, "CodeSigningConfigArn": self.arn, "Description": self.description,
            "AllowedPublishers": {"SigningProfileVersionArns": list(self.profiles)},
            "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": self.policy},
            "LastModified": self.last_modified,
        }  # fmt: skip

    def doc(self) -> dict[str, object]:
        return {**self.shape(), "Tags": dict(self.tags)}


def from_doc(doc: Mapping[str, object]) -> CodeSigningConfig:
    publishers, policies, tags = doc["AllowedPublishers"], doc["CodeSigningPolicies"], doc.get("Tags") or {}
    assert isinstance(publishers, dict) and isinstance(policies, dict) and isinstance(tags, dict)
    return CodeSigningConfig(
        id=str(doc["CodeSigningConfigId"]), arn=str(doc["CodeSigningConfigArn"]), description=str(doc["Description"]),
        profiles=tuple(publishers["SigningProfileVersionArns"]), policy=str(policies["UntrustedArtifactOnDeployment"]),
        last_modified=str(doc["LastModified"]), tags={str(k): str(v) for k, v in tags.items()},
    )  # fmt: skip


def profiles(value: object) -> tuple[str, ...]:
    """AllowedPublishers: 1-20 signing profile version ARNs."""
    arns = value.get("SigningProfileVersionArns") if isinstance(value, Mapping) else None
    if not isinstance(arns, list) or not all(isinstance(arn, str) for arn in arns):
        raise InvalidParameterValue("AllowedPublishers.SigningProfileVersionArns must be a list of ARNs")
    if not 1 <= len(arns) <= MAX_PROFILES:
        raise constraint(arns, "allowedPublishers.signingProfileVersionArns", "Member must have length less than "
                         f"or equal to {MAX_PROFILES}, Member must have length greater than or equal to 1")  # fmt: skip
    for arn in arns:
        if len(arn) > 10000 or not _PROFILE.match(arn):
            raise constraint(arn, "allowedPublishers.signingProfileVersionArns.member", "Member must satisfy regular "
                             "expression pattern: arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:((eusc-)?[a-z]{2}((-gov)|"
                             "(-iso([a-z]?)))?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)")  # fmt: skip
    return tuple(arns)


def policy(value: object) -> str:
    """CodeSigningPolicies.UntrustedArtifactOnDeployment (Warn when absent, as on AWS)."""
    if value is None:
        return WARN
    chosen = value.get("UntrustedArtifactOnDeployment", WARN) if isinstance(value, Mapping) else value
    if chosen not in (WARN, ENFORCE):
        raise constraint(chosen, "codeSigningPolicies.untrustedArtifactOnDeployment",
                         "Member must satisfy enum value set: [Warn, Enforce]")  # fmt: skip
    return str(chosen)


def description(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidParameterValue("Description must be a string")
    if len(value) > 256:
        raise constraint(value, "description", "Member must have length less than or equal to 256")
    return value


def new_id() -> str:
    return "csc-" + "".join(secrets.choice(_ALPHABET) for _ in range(17))


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


class CodeSigning:
    """The code signing configurations of one cell and the functions that use them.

    Also a ``FunctionHook`` (CreateFunction's ``CodeSigningConfigArn``) and a deployment check
    (UpdateFunctionCode, UpdateFunctionConfiguration's Layers); follows the change stream (a
    deleted function's configuration goes with it)."""

    def __init__(self, store: ResourceStore, settings: Settings) -> None:
        self._store = store
        self._settings = settings
        self._configs: dict[str, CodeSigningConfig] = {}  # by ARN, in creation order
        self._bindings: dict[str, str] = {}  # function name -> configuration ARN
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        configs: dict[str, CodeSigningConfig] = {}
        for res in await self._store.list_resources(CONFIGS):
            config = from_doc(res.doc)
            configs[config.arn] = config
        bindings = {res.key: str(res.doc["CodeSigningConfigArn"]) for res in await self._store.list_resources(BINDINGS)}
        self._configs, self._bindings = configs, bindings

    async def reread(self) -> None:
        """Read every configuration and function's binding again (another server changed one)."""
        async with self._lock:  # after this server's writes, which change the store then memory
            await self.load()

    # -- configurations ----------------------------------------------------------------------

    def arn(self, csc_id: str) -> str:
        s = self._settings
        return f"arn:aws:lambda:{s.region}:{s.account_id}:code-signing-config:{csc_id}"

    async def create(self, body: Mapping[str, object], tags: Mapping[str, str]) -> CodeSigningConfig:
        if "AllowedPublishers" not in body:
            raise constraint(None, "allowedPublishers", "Member must not be null")
        csc_id = new_id()
        config = CodeSigningConfig(
            id=csc_id, arn=self.arn(csc_id), description=description(body.get("Description")),
            profiles=profiles(body["AllowedPublishers"]), policy=policy(body.get("CodeSigningPolicies")),
            last_modified=_now(), tags=dict(tags),
        )  # fmt: skip
        async with self._lock:
            await self._store.change_resources(puts=[Resource(CONFIGS, config.id, config.doc())])
            self._configs[config.arn] = config
        return config

    def get(self, arn: str) -> CodeSigningConfig:
        if len(arn) > 200 or not _ARN.match(arn):
            raise constraint(arn, "codeSigningConfigArn", _ARN_RULE)
        config = self._configs.get(arn)
        if config is None:
            raise ResourceNotFound(f"The code signing configuration cannot be found. Check that the provided "
                                   f"configuration is not deleted: {arn}.")  # fmt: skip
        return config

    def exists(self, arn: str) -> bool:
        return arn in self._configs

    async def update(self, arn: str, body: Mapping[str, object]) -> CodeSigningConfig:
        async with self._lock:
            config = self.get(arn)
            changed = replace(config, last_modified=_now())
            if "Description" in body:
                changed = replace(changed, description=description(body["Description"]))
            if "AllowedPublishers" in body:
                changed = replace(changed, profiles=profiles(body["AllowedPublishers"]))
            if "CodeSigningPolicies" in body:
                changed = replace(changed, policy=policy(body["CodeSigningPolicies"]))
            await self._store.change_resources(puts=[Resource(CONFIGS, changed.id, changed.doc())])
            self._configs[arn] = changed
        return changed

    async def set_tags(self, arn: str, tags: Mapping[str, str]) -> None:
        async with self._lock:
            changed = replace(self.get(arn), tags=dict(tags))
            await self._store.change_resources(puts=[Resource(CONFIGS, changed.id, changed.doc())])
            self._configs[arn] = changed

    async def delete(self, arn: str) -> None:
        async with self._lock:
            config = self.get(arn)
            if arn in self._bindings.values():
                raise ResourceConflict(f"The code signing configuration {arn} cannot be deleted because it is "
                                       "used by one or more functions.")  # fmt: skip
            await self._store.change_resources(deletes=[(CONFIGS, config.id)])
            del self._configs[arn]

    def configs(self) -> list[CodeSigningConfig]:
        return list(self._configs.values())

    def functions_of(self, arn: str) -> list[str]:
        """The names of the functions that use the configuration ``arn``, sorted."""
        self.get(arn)
        return sorted(name for name, bound in self._bindings.items() if bound == arn)

    # -- functions' configurations -------------------------------------------------------------

    def of_function(self, name: str) -> str | None:
        return self._bindings.get(name)

    def _usable(self, arn: object) -> str:
        """A configuration ARN a function may use: this account's, existing."""
        if not isinstance(arn, str) or len(arn) > 200 or not _ARN.match(arn):
            raise constraint(arn, "codeSigningConfigArn", _ARN_RULE)
        if arn not in self._configs:
            raise CodeSigningConfigNotFound(f"The code signing configuration cannot be found. Check that the "
                                            f"provided configuration is not deleted: {arn}.")  # fmt: skip
        return arn

    async def put_function(self, name: str, arn: object) -> str:
        chosen = self._usable(arn)
        async with self._lock:
            self._usable(chosen)
            await self._store.change_resources(puts=[Resource(BINDINGS, name, {"CodeSigningConfigArn": chosen})])
            self._bindings[name] = chosen
        return chosen

    async def delete_function(self, name: str) -> None:
        async with self._lock:
            if self._bindings.pop(name, None) is not None:
                await self._store.change_resources(deletes=[(BINDINGS, name)])

    async def follow(self, change: Change) -> None:
        if isinstance(change, FunctionDeleted):
            await self.delete_function(change.name)

    # -- deployments ---------------------------------------------------------------------------

    def _deploy(self, arn: str, function: str, what: str) -> None:
        """An unsigned artifact (``what``) deployed to ``function`` under ``arn``'s policy."""
        config = self._configs.get(arn)
        if config is None:
            return
        if config.policy == ENFORCE:
            raise CodeVerificationFailed(
                "Lambda cannot deploy the function. The function or layer might be signed using a signature that "
                f"the client is not configured to accept. Check the provided signature for {function}."
            )
        log.warning("deploying %s to %s without a signature: its code signing configuration %s warns", what,
                    function, arn)  # fmt: skip

    def check_create(self, body: Mapping[str, object]) -> None:
        """FunctionHook: CreateFunction's CodeSigningConfigArn must exist; its code is unsigned."""
        arn = body.get("CodeSigningConfigArn")
        if arn is None:
            return
        self._deploy(self._usable(arn), self._settings.function_arn(str(body.get("FunctionName"))), "the code")

    async def created(self, fn: FunctionConfig, body: Mapping[str, object]) -> None:
        if body.get("CodeSigningConfigArn") is not None:
            await self.put_function(fn.name, body["CodeSigningConfigArn"])

    def check_code(self, name: str) -> None:
        """UpdateFunctionCode: the new code is unsigned."""
        if (arn := self._bindings.get(name)) is not None:
            self._deploy(arn, self._settings.function_arn(name), "the code")

    def check_layers(self, name: str, layers: tuple[LayerRef, ...]) -> None:
        """UpdateFunctionConfiguration's Layers: every layer is unsigned."""
        if layers and (arn := self._bindings.get(name)) is not None:
            self._deploy(arn, self._settings.function_arn(name), "layers")

    # -- tags (control/tags.py's TaggedResources) ------------------------------------------------

    def tags_of(self, arn: str) -> Mapping[str, str]:
        config = self._configs.get(arn)
        if config is None:
            raise ResourceNotFound(f"The code signing configuration cannot be found. Check that the provided "
                                   f"configuration is not deleted: {arn}.")  # fmt: skip
        return config.tags
