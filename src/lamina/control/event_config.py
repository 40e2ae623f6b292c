"""Asynchronous-invocation configuration: retries, maximum event age and destinations, per function
(``$LATEST``) or per version or alias.

Put replaces a configuration, Update changes only what it names. Every configuration is kept in
memory (write-through to the store) so the asynchronous invoker reads it without I/O:
``EventConfigService.event_invoke_config(function, qualifier)``. Destinations are checked and
stored as given: Lambda functions of this server, SQS queues, SNS topics, EventBridge buses (and S3
buckets on failure).
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import replace
from typing import Callable, Mapping

from lamina.control.changes import Change, FunctionDeleted
from lamina.control.targets import LATEST, Targets, parse_function_arn
from lamina.control.validation import constraint
from lamina.errors import InvalidParameterValue, ResourceNotFound
from lamina.model import EventInvokeConfig
from lamina.settings import Settings
from lamina.store.aggregates import ConfigStore

Body = Mapping[str, object]
_DESTINATION = re.compile(
    r"^$|kafka://([^.]([a-zA-Z0-9\-_.]{0,248}))|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:"
    r"((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)$"
)
_DESTINATION_RULE = (
    "Member must satisfy regular expression pattern: $|kafka://([^.]([a-zA-Z0-9\\-_.]{0,248}))|"
    "arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1})?:"
    "(\\d{12})?:(.*)"
)
_SERVICES = {"OnSuccess": ("lambda", "sqs", "sns", "events"), "OnFailure": ("lambda", "sqs", "sns", "events", "s3")}
_FIELDS = {"OnSuccess": "onSuccess", "OnFailure": "onFailure"}


def _integer(body: Body, key: str, field: str, low: int, high: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterValue(f"{key} must be an integer")
    if value < low:
        raise constraint(value, field, f"Member must have value greater than or equal to {low}")
    if value > high:
        raise constraint(value, field, f"Member must have value less than or equal to {high}")
    return value


def _destinations(body: Body) -> dict[str, str | None]:
    """The destinations ``DestinationConfig`` names: {"OnSuccess": arn | None, ...} for each key present."""
    config = body.get("DestinationConfig")
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise InvalidParameterValue("DestinationConfig must be an object with OnSuccess and/or OnFailure")
    found: dict[str, str | None] = {}
    for key in ("OnSuccess", "OnFailure"):
        if key not in config:
            continue
        entry = config[key] if config[key] is not None else {}
        if not isinstance(entry, dict):
            raise InvalidParameterValue(f"DestinationConfig.{key} must be an object: {{\"Destination\": <ARN>}}")
        arn = entry.get("Destination")
        if arn is not None and not isinstance(arn, str):
            raise InvalidParameterValue(f"DestinationConfig.{key}.Destination must be a string")
        if arn is not None and (len(arn) > 350 or not _DESTINATION.match(arn)):
            raise constraint(arn, f"destinationConfig.{_FIELDS[key]}.destination", _DESTINATION_RULE)
        found[key] = arn or None
    return found


def _document(config: EventInvokeConfig, arn: str) -> dict[str, object]:
    """FunctionEventInvokeConfig, the output of Put, Get, Update and each List item."""
    doc: dict[str, object] = {"LastModified": config.last_modified, "FunctionArn": arn}
    if config.maximum_retry_attempts is not None:
        doc["MaximumRetryAttempts"] = config.maximum_retry_attempts
    if config.maximum_event_age_seconds is not None:
        doc["MaximumEventAgeInSeconds"] = config.maximum_event_age_seconds
    doc["DestinationConfig"] = {
        "OnSuccess": {"Destination": config.on_success} if config.on_success else {},
        "OnFailure": {"Destination": config.on_failure} if config.on_failure else {},
    }
    return doc


class EventConfigService:
    """Event-invoke configurations; a deleted function's are forgotten (``follow``, on the change stream)."""

    def __init__(self, store: ConfigStore, targets: Targets, settings: Settings) -> None:
        self._store = store
        self._targets = targets
        self._settings = settings
        self._configs: dict[tuple[str, str], EventInvokeConfig] = {}
        self._lock = asyncio.Lock()  # Update reads, merges and writes
        self._check_role: Callable[[str, str], None] | None = None  # IAM's (check_destinations_with)

    def check_destinations_with(self, check: Callable[[str, str], None]) -> None:
        """Have ``check`` (IAM's: the function's role must be allowed to send to it) approve each
        destination a Put or Update names, with the role of the function (version) it configures."""
        self._check_role = check

    async def load(self) -> None:
        for config in await self._store.list_event_invoke_configs(None):
            self._configs[(config.function, config.qualifier)] = config

    async def reread(self, function: str) -> None:
        """Another server changed ``function``'s configurations in the store this one shares: read
        them again."""
        configs = await self._store.list_event_invoke_configs(function)
        for key in [key for key in self._configs if key[0] == function]:
            del self._configs[key]
        for config in configs:
            self._configs[(config.function, config.qualifier)] = config

    def event_invoke_config(self, function: str, qualifier: str = LATEST) -> EventInvokeConfig | None:
        """What the asynchronous invoker honours for ``function`` at ``qualifier`` (None: Lambda's defaults)."""
        return self._configs.get((function, qualifier))

    # -- following the change stream (control/changes.py) -----------------------------------

    def follow(self, change: Change) -> None:
        if isinstance(change, FunctionDeleted):
            for key in [key for key in self._configs if key[0] == change.name]:
                del self._configs[key]

    # -- the API ---------------------------------------------------------------------------

    def document(self, config: EventInvokeConfig) -> dict[str, object]:
        return _document(config, self._targets.arn(config.function, config.qualifier))

    async def put(self, name: str, qualifier: str | None, body: Body) -> EventInvokeConfig:
        """PutFunctionEventInvokeConfig: replace the configuration; what is not given is unset."""
        retries, age, destinations = self._parse(body)
        key = self._existing_function(name, qualifier)
        self._check_destinations(name, key, destinations)
        config = EventInvokeConfig(
            name, key, retries, age, destinations.get("OnSuccess"), destinations.get("OnFailure"), time.time()
        )
        async with self._lock:
            await self._save(config)
        return config

    async def update(self, name: str, qualifier: str | None, body: Body) -> EventInvokeConfig:
        """UpdateFunctionEventInvokeConfig: change only the settings given."""
        retries, age, destinations = self._parse(body)
        key = self._existing_function(name, qualifier)
        async with self._lock:
            current = self._configs.get((name, key))
            if current is None:
                raise self._missing(name, key)
            self._check_destinations(name, key, destinations)
            changes: dict[str, object] = {"last_modified": time.time()}
            if retries is not None:
                changes["maximum_retry_attempts"] = retries
            if age is not None:
                changes["maximum_event_age_seconds"] = age
            if "OnSuccess" in destinations:
                changes["on_success"] = destinations["OnSuccess"]
            if "OnFailure" in destinations:
                changes["on_failure"] = destinations["OnFailure"]
            config = replace(current, **changes)  # type: ignore[arg-type]
            await self._save(config)
        return config

    def get(self, name: str, qualifier: str | None) -> EventInvokeConfig:
        target = self._targets.find(name, qualifier)
        key = qualifier or LATEST
        config = self._configs.get((name, key)) if target is not None else None
        if config is None:
            raise self._missing(name, key)
        return config

    async def delete(self, name: str, qualifier: str | None) -> None:
        target = self._targets.find(name, qualifier)
        key = qualifier or LATEST
        if target is None or (name, key) not in self._configs:
            raise self._missing(name, qualifier)
        async with self._lock:
            await self._store.delete_event_invoke_config(name, key)
            self._configs.pop((name, key), None)

    def list_configs(self, name: str, marker: str | None, max_items: int) -> tuple[list[EventInvokeConfig], str | None]:
        """A page of the function's configurations by qualifier; the marker is the last qualifier returned."""
        if not self._targets.exists(name):
            raise ResourceNotFound("The function doesn't exist.")
        configs = sorted((c for (fn, _), c in self._configs.items() if fn == name), key=lambda c: c.qualifier)
        if marker:
            configs = [c for c in configs if c.qualifier > marker]
        page = configs[:max_items]
        return page, (page[-1].qualifier if len(configs) > max_items else None)

    # -- internals -------------------------------------------------------------------------

    def _parse(self, body: Body) -> tuple[int | None, int | None, dict[str, str | None]]:
        retries = _integer(body, "MaximumRetryAttempts", "maximumRetryAttempts", 0, 2)
        age = _integer(body, "MaximumEventAgeInSeconds", "maximumEventAgeInSeconds", 60, 21600)
        destinations = _destinations(body)
        if retries is None and age is None and body.get("DestinationConfig") is None:
            raise InvalidParameterValue("You must specify at least one of error handling or destination setting.")
        return retries, age, destinations

    def _existing_function(self, name: str, qualifier: str | None) -> str:
        target = self._targets.find(name, qualifier)
        if target is None:
            raise ResourceNotFound("The function doesn't exist.")
        return target.qualifier

    def _missing(self, name: str, qualifier: str | None) -> ResourceNotFound:
        return ResourceNotFound(f"The function {self._targets.arn(name, qualifier)} doesn't have an EventInvokeConfig")

    def _check_destinations(self, name: str, qualifier: str, destinations: Mapping[str, str | None]) -> None:
        self._check_valid(name, destinations)
        target = self._targets.find(name, qualifier)
        if self._check_role is None or target is None:
            return
        for arn in destinations.values():
            if arn is not None:
                self._check_role(target.function.role, arn)

    def _check_valid(self, name: str, destinations: Mapping[str, str | None]) -> None:
        invalid = False
        for key, arn in destinations.items():
            if arn is None:
                continue
            service = arn.split(":")[2] if arn.startswith("arn:") else ""
            if service not in _SERVICES[key]:
                invalid = True
            elif service == "lambda":
                function = parse_function_arn(arn)
                if function is None:
                    invalid = True
                    continue
                if not function.is_local(self._settings) or (
                    self._targets.find(function.name, function.qualifier) is None
                ):
                    raise InvalidParameterValue(f"The destination ARN {arn} is invalid.")
                if function.name == name:
                    raise InvalidParameterValue("You can't specify the function as a destination for itself.")
        if invalid:
            success, failure = destinations.get("OnSuccess"), destinations.get("OnFailure")
            raise InvalidParameterValue(
                "The provided destination config DestinationConfig("
                f"onSuccess={f'OnSuccess(destination={success})' if success else 'null'}, "
                f"onFailure={f'OnFailure(destination={failure})' if failure else 'null'}) is invalid."
            )

    async def _save(self, config: EventInvokeConfig) -> None:
        await self._store.put_event_invoke_config(config)
        self._configs[(config.function, config.qualifier)] = config
