"""Functions, their versions, layers, aliases, configurations and URLs in memory (``FunctionStore``,
``LayerStore``, ``AliasStore``, ``ConfigStore``, ``UrlStore``)."""

from __future__ import annotations

import dataclasses
from typing import Mapping

from lamina.model import Alias, EventInvokeConfig, FunctionConfig, FunctionPolicy, FunctionUrlConfig, LayerVersion
from lamina.model import ProvisionedConcurrencyConfig
from lamina.store.errors import ALIAS, FUNCTION, FUNCTION_URL, POLICY, Conflict, NotFound, StaleRevision
from lamina.store.memory.state import MemoryState


class MemoryFunctions(MemoryState):
    async def create_function(self, fn: FunctionConfig) -> None:
        if fn.name in self._functions:
            raise Conflict(FUNCTION, fn.name)
        self._functions[fn.name] = fn

    async def get_function(self, name: str) -> FunctionConfig | None:
        return self._functions.get(name)

    async def list_functions(self, after: str | None, limit: int) -> list[FunctionConfig]:
        names = sorted(n for n in self._functions if n > (after or ""))
        return [self._functions[n] for n in names[:limit]]

    async def put_function(self, fn: FunctionConfig, *, expected_revision: str | None = None) -> None:
        current = self._functions.get(fn.name)
        if current is None:
            raise NotFound(FUNCTION, fn.name)
        if expected_revision is not None and current.revision_id != expected_revision:
            raise StaleRevision(FUNCTION, fn.name)
        self._functions[fn.name] = fn

    async def delete_function(self, name: str) -> FunctionConfig | None:
        self._versions = {key: fn for key, fn in self._versions.items() if key[0] != name}
        self._aliases = {key: alias for key, alias in self._aliases.items() if key[0] != name}
        self._last_version.pop(name, None)
        self._reserved.pop(name, None)
        self._provisioned = {key: c for key, c in self._provisioned.items() if key[0] != name}
        for key in [key for key in self._urls if key[0] == name]:
            del self._urls[key]
        self._tags.pop(name, None)
        for key in [key for key in (*self._policies, *self._event_invoke_configs) if key[0] == name]:
            self._policies.pop(key, None)
            self._event_invoke_configs.pop(key, None)
        return self._functions.pop(name, None)

    async def code_in_use(self) -> set[str]:
        used = {fn.code.digest for fn in self._functions.values()}
        used.update(layer.code.digest for fn in self._functions.values() for layer in fn.layers)
        used.update(layer.code.digest for layer in self._layers.values())
        for version in self._versions.values():
            used.add(version.code.digest)
            used.update(layer.code.digest for layer in version.layers)
        return used

    async def put_version(self, fn: FunctionConfig) -> None:
        self._owner(fn.name)
        number = int(fn.version)
        self._versions[(fn.name, number)] = fn
        self._last_version[fn.name] = max(number, self._last_version.get(fn.name, 0))

    async def list_versions(self, function: str) -> list[FunctionConfig]:
        return [fn for (name, _), fn in sorted(self._versions.items()) if name == function]

    async def last_version(self, function: str) -> int:
        return self._last_version.get(function, 0)

    async def delete_version(self, function: str, version: str) -> None:
        self._versions.pop((function, int(version)), None)



class MemoryLayers(MemoryState):
    async def publish_layer(self, layer: LayerVersion) -> LayerVersion:
        version = self._last_layer_version.get(layer.name, 0) + 1
        self._last_layer_version[layer.name] = version
        numbered = dataclasses.replace(layer, version=version)
        self._layers[(layer.name, version)] = numbered
        return numbered

    async def get_layer(self, name: str, version: int) -> LayerVersion | None:
        return self._layers.get((name, version))

    async def list_layer_versions(self, name: str | None) -> list[LayerVersion]:
        found = [layer for (n, _), layer in self._layers.items() if name is None or n == name]
        return sorted(found, key=lambda layer: (layer.name, -layer.version))

    async def delete_layer(self, name: str, version: int) -> None:
        self._layers.pop((name, version), None)



class MemoryAliases(MemoryState):
    async def create_alias(self, alias: Alias) -> None:
        self._owner(alias.function)
        if (alias.function, alias.name) in self._aliases:
            raise Conflict(ALIAS, alias.function, alias.name)
        self._aliases[(alias.function, alias.name)] = alias

    async def put_alias(self, alias: Alias, *, expected_revision: str) -> None:
        current = self._aliases.get((alias.function, alias.name))
        if current is None:
            raise NotFound(ALIAS, alias.function, alias.name)
        if current.revision_id != expected_revision:
            raise StaleRevision(ALIAS, alias.function, alias.name)
        self._aliases[(alias.function, alias.name)] = alias

    async def list_aliases(self, function: str) -> list[Alias]:
        return [alias for (name, _), alias in sorted(self._aliases.items()) if name == function]

    async def delete_alias(self, function: str, name: str) -> None:
        self._aliases.pop((function, name), None)



class MemoryConfigs(MemoryState):
    async def get_tags(self, function: str) -> dict[str, str]:
        return dict(sorted(self._tags.get(function, {}).items()))

    async def put_tags(self, function: str, tags: Mapping[str, str]) -> None:
        self._owner(function)
        self._tags[function] = dict(tags)

    async def get_policy(self, function: str, qualifier: str) -> FunctionPolicy | None:
        return self._policies.get((function, qualifier))

    async def put_policy(self, policy: FunctionPolicy, *, expected_revision: str | None) -> None:
        self._owner(policy.function)
        key = (policy.function, policy.qualifier)
        current = self._policies.get(key)
        if (current.revision_id if current else None) != expected_revision:
            raise StaleRevision(POLICY, *key)
        if policy.statements:
            self._policies[key] = policy
        else:
            self._policies.pop(key, None)

    async def put_event_invoke_config(self, config: EventInvokeConfig) -> None:
        self._owner(config.function)
        self._event_invoke_configs[(config.function, config.qualifier)] = config

    async def delete_event_invoke_config(self, function: str, qualifier: str) -> None:
        self._event_invoke_configs.pop((function, qualifier), None)

    async def list_event_invoke_configs(self, function: str | None) -> list[EventInvokeConfig]:
        return [
            config for key, config in sorted(self._event_invoke_configs.items())
            if function is None or key[0] == function
        ]  # fmt: skip

    async def put_reserved_concurrency(self, function: str, reserved: int | None) -> None:
        if reserved is None:
            self._reserved.pop(function, None)
            return
        self._owner(function)
        self._reserved[function] = reserved

    async def list_reserved_concurrency(self) -> dict[str, int]:
        return dict(sorted(self._reserved.items()))

    async def put_provisioned_concurrency(self, config: ProvisionedConcurrencyConfig) -> None:
        self._owner(config.function)
        self._provisioned[(config.function, config.qualifier)] = config

    async def delete_provisioned_concurrency(self, function: str, qualifier: str) -> None:
        self._provisioned.pop((function, qualifier), None)

    async def list_provisioned_concurrency(self) -> list[ProvisionedConcurrencyConfig]:
        return [config for _, config in sorted(self._provisioned.items())]



class MemoryUrls(MemoryState):
    async def create_function_url(self, url: FunctionUrlConfig) -> None:
        self._owner(url.function)
        key = (url.function, url.qualifier)
        if key in self._urls or any(u.url_id == url.url_id for u in self._urls.values()):
            raise Conflict(FUNCTION_URL, url.function, url.qualifier)
        self._urls[key] = url

    async def put_function_url(self, url: FunctionUrlConfig) -> None:
        key = (url.function, url.qualifier)
        if key not in self._urls:
            raise NotFound(FUNCTION_URL, url.function, url.qualifier)
        self._urls[key] = url

    async def delete_function_url(self, function: str, qualifier: str) -> None:
        self._urls.pop((function, qualifier), None)

    async def list_function_urls(self) -> list[FunctionUrlConfig]:
        return [url for _, url in sorted(self._urls.items())]
