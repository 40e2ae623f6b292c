"""Tags: up to 50 key/value pairs on a function, set at creation or with TagResource.

Tags are addressed by the function's full, unqualified ARN (versions and aliases have none, as on
Lambda). They are kept in the store, apart from the function's configuration, and go with the
function when it is deleted. Changing them does not change the function's RevisionId.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from typing import Mapping, Protocol

from lamina.control.targets import Targets
from lamina.control.validation import constraint
from lamina.errors import InvalidParameterValue, ResourceNotFound, ValidationError
from lamina.model import FunctionConfig
from lamina.settings import Settings
from lamina.store.aggregates import ConfigStore

MAX_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256
_PUNCTUATION = set("_.:/=+-@")
_TAG_PATTERN = "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*"
# The model's TaggableResource pattern (functions, event source mappings, code signing configs, ...).
_RESOURCE = re.compile(
    r"^arn:(?P<partition>aws[a-zA-Z-]*):lambda:(?P<region>(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}):"
    r"(?P<account>\d{12}):"
    r"(?P<type>function|code-signing-config|event-source-mapping|capacity-provider|network-connector):"
    r"(?P<id>[a-zA-Z0-9-_]+)(:(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?$"
)
_RESOURCE_RULE = (
    "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|"
    "(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:(function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?|"
    "code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    "[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|(capacity-provider|network-connector):[a-zA-Z0-9-_]{1,64})"
)


def _allowed(text: str) -> bool:
    """The model's ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*``: letters, separators, numbers and a little punctuation."""
    return all(ch in _PUNCTUATION or unicodedata.category(ch)[0] in "LZN" for ch in text)


def _java_map(tags: Mapping[str, object]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in tags.items()) + "}"


def check_tags(value: object) -> dict[str, str]:
    """A ``Tags`` map: keys 1-128 and values 0-256 characters of the allowed set, at most 50 pairs."""
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidParameterValue("Tags must be an object mapping tag keys to string values")
    tags: dict[str, str] = value
    for key, val in tags.items():
        if not 1 <= len(key) <= MAX_KEY or not _allowed(key):
            raise constraint(_java_map(tags), "tags", "Map keys must satisfy constraint: [Member must have length less "
                             f"than or equal to {MAX_KEY}, Member must have length greater than or equal to 1, "
                             f"Member must satisfy regular expression pattern: {_TAG_PATTERN}]")  # fmt: skip
        if len(val) > MAX_VALUE or not _allowed(val):
            raise constraint(_java_map(tags), "tags", "Map value must satisfy constraint: [Member must have length "
                             f"less than or equal to {MAX_VALUE}, Member must have length greater than or equal to 0, "
                             f"Member must satisfy regular expression pattern: {_TAG_PATTERN}]")  # fmt: skip
        if key.lower().startswith("aws:"):
            raise InvalidParameterValue(f"The tag key {key} is reserved: keys beginning with aws: are for AWS use.")
    if len(tags) > MAX_TAGS:
        raise InvalidParameterValue("Number of tags exceeds resource tag limit.")
    return dict(tags)


class TaggedResources(Protocol):
    """Another kind of taggable resource (code signing configurations), by ARN: ``tags_of`` raises
    ``ResourceNotFound`` for one that does not exist."""

    def tags_of(self, arn: str) -> Mapping[str, str]: ...

    async def set_tags(self, arn: str, tags: Mapping[str, str]) -> None: ...


class TagService:
    """Tags of functions; also a ``FunctionHook``: CreateFunction's ``Tags`` are checked and stored."""

    def __init__(self, store: ConfigStore, targets: Targets, settings: Settings) -> None:
        self._store = store
        self._targets = targets
        self._settings = settings
        self._lock = asyncio.Lock()  # TagResource and UntagResource read, change and write the whole set
        self._kinds: dict[str, TaggedResources] = {}  # other resource types, by the ARN's type

    def add_kind(self, arn_type: str, resources: TaggedResources) -> None:
        """Serve tags of ARNs of ``arn_type`` (e.g. ``code-signing-config``) from ``resources``."""
        self._kinds[arn_type] = resources

    # -- FunctionHook ----------------------------------------------------------------------

    def check_create(self, body: Mapping[str, object]) -> None:
        if body.get("Tags") is not None:
            check_tags(body["Tags"])

    async def created(self, fn: FunctionConfig, body: Mapping[str, object]) -> None:
        if body.get("Tags"):
            await self._store.put_tags(fn.name, check_tags(body["Tags"]))

    def deleted(self, name: str) -> None:
        pass  # the store removed them with the function

    # -- the API ---------------------------------------------------------------------------

    async def of_function(self, name: str) -> dict[str, str]:
        return await self._store.get_tags(name)

    async def list_tags(self, resource: str) -> dict[str, str]:
        if (other := self._other(resource)) is not None:
            return dict(other.tags_of(resource))
        return await self._store.get_tags(self._function(resource))

    async def tag(self, resource: str, tags: object) -> None:
        other = self._other(resource)
        name = self._function(resource) if other is None else ""
        if not tags:
            raise InvalidParameterValue("An error occurred and the request cannot be processed.")
        new = check_tags(tags)
        if other is not None:
            async with self._lock:
                merged = {**other.tags_of(resource), **new}
                if len(merged) > MAX_TAGS:
                    raise InvalidParameterValue("Number of tags exceeds resource tag limit.")
                await other.set_tags(resource, merged)
            return
        async with self._lock:
            self._function(resource)  # still there once it is our turn
            merged = {**await self._store.get_tags(name), **new}
            if len(merged) > MAX_TAGS:
                raise InvalidParameterValue("Number of tags exceeds resource tag limit.")
            await self._store.put_tags(name, merged)

    async def untag(self, resource: str, keys: list[str]) -> None:
        other = self._other(resource)
        name = self._function(resource) if other is None else ""
        if not keys:
            raise ValidationError(
                "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: "
                "Member must not be null"
            )
        for key in keys:
            if not 1 <= len(key) <= MAX_KEY or not _allowed(key):
                raise constraint(keys, "tagKeys", "Member must satisfy constraint: [Member must have length less "
                                 f"than or equal to {MAX_KEY}, Member must have length greater than or equal to 1, "
                                 f"Member must satisfy regular expression pattern: {_TAG_PATTERN}]")  # fmt: skip
        async with self._lock:
            if other is not None:
                current = dict(other.tags_of(resource))
                if (remaining := {k: v for k, v in current.items() if k not in keys}) != current:
                    await other.set_tags(resource, remaining)
                return
            self._function(resource)
            current = await self._store.get_tags(name)
            remaining = {k: v for k, v in current.items() if k not in keys}
            if remaining != current:
                await self._store.put_tags(name, remaining)

    def _other(self, resource: str) -> TaggedResources | None:
        """Who keeps the tags of ``resource`` if it is not a function (None: it is one, or malformed)."""
        match = _RESOURCE.match(resource)
        if len(resource) > 10000 or not match or match["type"] not in self._kinds:
            return None
        return self._kinds[match["type"]]

    def _function(self, resource: str) -> str:
        """The name of the function ``resource`` (a full, unqualified function ARN) designates."""
        match = _RESOURCE.match(resource)
        if len(resource) > 10000 or not match:
            raise constraint(resource, "resource", _RESOURCE_RULE)
        if match["type"] != "function":
            raise ResourceNotFound("The resource you requested does not exist.")  # Lamina has none of the others yet
        if match["qualifier"] is not None:
            raise InvalidParameterValue(
                "Tags on function aliases and versions are not supported. Please specify a function ARN."
            )
        name = match["id"]
        own = (match["region"], match["account"]) == (self._settings.region, self._settings.account_id)
        if not own or not self._targets.exists(name):
            raise ResourceNotFound(f"Function not found: {resource}")
        return name
