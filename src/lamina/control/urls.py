"""Function URLs: create, read, update, delete and list them, and find one by its url-id.

``UrlService`` is the only writer of function URL records. It keeps every URL in memory, by
function and qualifier and by url-id (serving a request never touches the store), and writes
through to the store before it answers. A URL belongs to its function: deleting the function
deletes its URLs (the store drops the rows with the function; ``follow``, on the change stream
(``control/changes.py``), forgets them here).

Qualifiers: AWS attaches a URL to the unqualified function (``$LATEST``) or to an alias, never to
a version, and ``$LATEST`` cannot be named. Whether an alias exists is asked of ``alias_exists``
(the server passes the function service's aliases; without it, no alias exists). A URL of an alias
invokes the alias (its routing included); once the alias is deleted, its URL answers 403.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timezone
from typing import Callable, Mapping

from lamina.control.changes import Change, FunctionDeleted
from lamina.control.validation import URL, constraint, function_identifier
from lamina.errors import InvalidParameterValue, ResourceConflict, ResourceNotFound, ValidationError, url_exists
from lamina.model import LATEST, FunctionConfig, FunctionUrlConfig, InvokeMode, UrlAuthType, UrlCors
from lamina.settings import Settings
from lamina.store.aggregates import UrlStore
from lamina.store.errors import Conflict, NotFound
from lamina.urls.addresses import new_url_id

Body = Mapping[str, object]
MAX_LIST_ITEMS = 50
_ALIAS = re.compile(r"^[0-9a-zA-Z_-]{1,128}$")
_NO_FUNCTION = "Function does not exist"
_NO_RESOURCE = "The resource you requested does not exist."
_AUTH_TYPES = "[AWS_IAM, NONE]"
_INVOKE_MODES = "[RESPONSE_STREAM, BUFFERED]"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _no_aliases(function: str, alias: str) -> bool:
    return False


class UrlService:
    def __init__(
        self,
        store: UrlStore,
        functions: Callable[[str], FunctionConfig],
        settings: Settings,
        alias_exists: Callable[[str, str], bool] = _no_aliases,
    ) -> None:
        self._store = store
        self._function = functions  # FunctionService.get: raises ResourceNotFound
        self._settings = settings
        self._alias_exists = alias_exists
        self._by_target: dict[tuple[str, str], FunctionUrlConfig] = {}
        self._by_id: dict[str, FunctionUrlConfig] = {}

    async def load(self) -> None:
        for url in await self._store.list_function_urls():
            self._remember(url)

    async def reread(self, function: str) -> None:
        """Another server changed ``function``'s URLs in the store this one shares: read them again."""
        urls = [url for url in await self._store.list_function_urls() if url.function == function]
        for key in [key for key in self._by_target if key[0] == function]:
            self._forget(self._by_target[key])
        for url in urls:
            self._remember(url)

    # -- following the change stream (control/changes.py) -----------------------------------

    def follow(self, change: Change) -> None:
        if isinstance(change, FunctionDeleted):
            for key in [key for key in self._by_target if key[0] == change.name]:
                self._forget(self._by_target[key])

    # -- reading ---------------------------------------------------------------------------

    def resolve(self, url_id: str) -> FunctionUrlConfig | None:
        """The URL a request names, for serving (None: no such URL, as far as anyone can tell)."""
        return self._by_id.get(url_id)

    def function_arn(self, url: FunctionUrlConfig) -> str:
        return self._settings.function_arn(url.function, None if url.qualifier == LATEST else url.qualifier)

    def get(self, identifier: str, qualifier: str | None) -> FunctionUrlConfig:
        name, qualifier = self._target(identifier, qualifier, missing=_NO_RESOURCE)
        return self._existing(name, qualifier)

    def list(
        self, identifier: str, marker: str | None, max_items: str | None
    ) -> tuple[list[FunctionUrlConfig], str | None]:
        """A page of the function's URLs (Marker: the position a previous page gave)."""
        name, _ = function_identifier(identifier, URL)
        raw = max_items or str(MAX_LIST_ITEMS)
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIST_ITEMS:
            raise constraint(raw, "maxItems", f"Member must have value between 1 and {MAX_LIST_ITEMS}")
        if marker is not None and not marker.isdigit():
            raise InvalidParameterValue(f"Invalid Marker: {marker}")
        self._exists(name, _NO_FUNCTION)
        urls = sorted((u for (fn, _), u in self._by_target.items() if fn == name), key=lambda u: u.qualifier)
        start, size = int(marker or 0), int(raw)
        more = start + size < len(urls)
        return urls[start : start + size], str(start + size) if more else None

    # -- writing ---------------------------------------------------------------------------

    async def create(self, identifier: str, qualifier: str | None, body: Body) -> FunctionUrlConfig:
        auth_type = _auth_type(body.get("AuthType"))
        cors = _cors(body["Cors"]) if body.get("Cors") is not None else None
        invoke_mode = _invoke_mode(body.get("InvokeMode", InvokeMode.BUFFERED.value))
        name, qualifier = self._target(identifier, qualifier, missing=_NO_FUNCTION, new=True)
        if (name, qualifier) in self._by_target:
            raise self._exists_already(name, qualifier)
        url_id = new_url_id()
        while url_id in self._by_id:  # ~165 random bits: this never loops, but ids must be unique
            url_id = new_url_id()
        now = _now()
        url = FunctionUrlConfig(name, qualifier, url_id, auth_type, invoke_mode, cors, created=now, last_modified=now)
        try:
            await self._store.create_function_url(url)
        except Conflict:
            raise self._exists_already(name, qualifier) from None
        except NotFound:
            raise ResourceNotFound(_NO_FUNCTION) from None
        self._exists(name, _NO_FUNCTION)  # deleted while the row was written: the store dropped it too
        self._remember(url)
        return url

    async def update(self, identifier: str, qualifier: str | None, body: Body) -> FunctionUrlConfig:
        changes: dict[str, object] = {}
        if body.get("AuthType") is not None:
            changes["auth_type"] = _auth_type(body["AuthType"])
        if body.get("Cors") is not None:
            changes["cors"] = _cors(body["Cors"])
        if body.get("InvokeMode") is not None:
            changes["invoke_mode"] = _invoke_mode(body["InvokeMode"])
        name, qualifier = self._target(identifier, qualifier, missing=_NO_FUNCTION)
        current = self._existing(name, qualifier)
        updated = dataclasses.replace(current, **changes, last_modified=_now())  # type: ignore[arg-type]
        try:
            await self._store.put_function_url(updated)
        except NotFound:
            raise ResourceNotFound(_NO_RESOURCE) from None
        # Store writes run in call order and finish in that order: the last one to finish is the stored one.
        if self._still(updated):
            self._remember(updated)
        return updated

    async def delete(self, identifier: str, qualifier: str | None) -> None:
        name, qualifier = self._target(identifier, qualifier, missing=_NO_RESOURCE)
        url = self._existing(name, qualifier)
        await self._store.delete_function_url(name, qualifier)
        if self._still(url):
            self._forget(url)

    # -- internals -------------------------------------------------------------------------

    def _remember(self, url: FunctionUrlConfig) -> None:
        self._by_target[(url.function, url.qualifier)] = url
        self._by_id[url.url_id] = url

    def _forget(self, url: FunctionUrlConfig) -> None:
        self._by_target.pop((url.function, url.qualifier), None)
        self._by_id.pop(url.url_id, None)

    def _still(self, url: FunctionUrlConfig) -> bool:
        """Whether ``url`` (by its url-id) is still the one in memory for its function and qualifier."""
        known = self._by_target.get((url.function, url.qualifier))
        return known is not None and known.url_id == url.url_id

    def _exists(self, name: str, message: str) -> None:
        try:
            self._function(name)
        except ResourceNotFound:
            raise ResourceNotFound(message) from None

    def _existing(self, name: str, qualifier: str) -> FunctionUrlConfig:
        url = self._by_target.get((name, qualifier))
        if url is None:
            raise ResourceNotFound(_NO_RESOURCE)
        return url

    def _exists_already(self, name: str, qualifier: str) -> ResourceConflict:
        return url_exists(self._settings.function_arn(name, None if qualifier == LATEST else qualifier))

    def _target(self, identifier: str, qualifier: str | None, *, missing: str, new: bool = False) -> tuple[str, str]:
        """(function, qualifier) a request names: the function exists; the qualifier is absent, or an alias
        name (for a ``new`` URL, an alias that exists: a URL outlives its alias, and can still be read,
        changed and deleted)."""
        name, embedded = function_identifier(identifier, URL)
        if embedded and qualifier and embedded != qualifier:
            raise InvalidParameterValue(
                "The derived qualifier from the function name does not match the specified qualifier."
            )
        qualifier = qualifier or embedded
        if qualifier is not None:
            _check_qualifier(qualifier)
        self._exists(name, missing)
        if qualifier is None:
            return name, LATEST
        if new and not self._alias_exists(name, qualifier):
            raise ResourceNotFound(missing)
        return name, qualifier


def _check_qualifier(qualifier: str) -> None:
    """A URL's qualifier names an alias: not ``$LATEST``, not a version number."""
    if qualifier == LATEST or not _ALIAS.match(qualifier):
        raise constraint(qualifier, "qualifier", "Member must satisfy regular expression pattern: "
                          "((?!^\\d+$)^[0-9a-zA-Z-_]+$)")  # fmt: skip
    if qualifier.isdigit():
        raise constraint(qualifier, "qualifier", "Member must satisfy regular expression pattern: "
                          "(^\\$LATEST$)|((?!^[0-9]+$)([a-zA-Z0-9-_]+))")  # fmt: skip


def _auth_type(value: object) -> UrlAuthType:
    if value is None:
        raise ValidationError("1 validation error detected: Value null at 'authType' failed to satisfy constraint: "
                              "Member must not be null")  # fmt: skip
    if not isinstance(value, str) or value not in tuple(UrlAuthType):
        raise constraint(value, "authType", f"Member must satisfy enum value set: {_AUTH_TYPES}")
    return UrlAuthType(value)


def _invoke_mode(value: object) -> InvokeMode:
    if not isinstance(value, str) or value not in tuple(InvokeMode):
        raise constraint(value, "invokeMode", f"Member must satisfy enum value set: {_INVOKE_MODES}")
    return InvokeMode(value)


def _string_list(cors: Mapping[str, object], key: str, field: str, max_items: int, min_len: int,
                 max_len: int) -> tuple[str, ...] | None:  # fmt: skip
    value = cors.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidParameterValue(f"Cors.{key} must be a list of strings")
    if len(value) > max_items:
        raise constraint(value, f"cors.{field}", f"Member must have length less than or equal to {max_items}")
    for item in value:
        if not min_len <= len(item) <= max_len:
            raise constraint(value, f"cors.{field}", "Member must satisfy constraint: [Member must have length "
                              f"less than or equal to {max_len}, Member must have length greater than or equal to "
                              f"{min_len}]")  # fmt: skip
    return tuple(value)


def _cors(value: object) -> UrlCors:
    if not isinstance(value, dict):
        raise InvalidParameterValue("Cors must be an object: {\"AllowOrigins\": [...], \"AllowMethods\": [...], ...}")
    credentials = value.get("AllowCredentials")
    if credentials is not None and not isinstance(credentials, bool):
        raise InvalidParameterValue("Cors.AllowCredentials must be a boolean")
    max_age = value.get("MaxAge")
    if max_age is not None:
        if isinstance(max_age, bool) or not isinstance(max_age, int):
            raise InvalidParameterValue("Cors.MaxAge must be an integer")
        if not 0 <= max_age <= 86400:
            raise constraint(max_age, "cors.maxAge", "Member must have value between 0 and 86400")
    return UrlCors(
        allow_credentials=credentials,
        allow_headers=_string_list(value, "AllowHeaders", "allowHeaders", 100, 0, 1024),
        allow_methods=_string_list(value, "AllowMethods", "allowMethods", 6, 0, 6),
        allow_origins=_string_list(value, "AllowOrigins", "allowOrigins", 100, 1, 253),
        expose_headers=_string_list(value, "ExposeHeaders", "exposeHeaders", 100, 0, 1024),
        max_age=max_age,
    )
