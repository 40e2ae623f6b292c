"""AWS IoT's topic rules, the control plane: kept in memory, written through the store (kind
``iot/rule``), loaded at start. Whoever acts on rules (the MQTT subscriber) follows changes with
``watch``: it is called after each change is stored, and reads ``enabled()`` again."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from datetime import datetime, timezone
from typing import Callable, Mapping

from lamina.errors import ApiError
from lamina.iot.errors import IotInvalidRequest, IotResourceAlreadyExists, IotUnauthorized
from lamina.iot.model import NAME_PATTERN, RULE_KIND, TopicRule, check_name, from_payload
from lamina.settings import Settings
from lamina.store.base import Resource
from lamina.store.aggregates import ResourceStore

log = logging.getLogger(__name__)

MAX_RESULTS = 10_000


class TopicRules:
    def __init__(self, store: ResourceStore, settings: Settings, now: Callable[[], datetime] | None = None) -> None:
        self._store = store
        self._settings = settings
        self._now = now or (lambda: datetime.now(timezone.utc))
        self._rules: dict[str, TopicRule] = {}
        self._lock = asyncio.Lock()
        self._watchers: list[Callable[[], None]] = []

    async def load(self) -> None:
        for resource in await self._store.list_resources(RULE_KIND):
            try:
                rule = TopicRule.from_doc(resource.doc)
            except (ApiError, ValueError, KeyError, TypeError) as exc:
                log.error("IoT rule %s is kept but not loaded: %s", resource.key, exc)
                continue
            self._rules[rule.name] = rule

    def watch(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (synchronously, on the event loop) after every stored change."""
        self._watchers.append(callback)

    def enabled(self) -> list[TopicRule]:
        return [rule for _, rule in sorted(self._rules.items()) if not rule.disabled]

    def arn(self, rule: TopicRule) -> str:
        return rule.arn(self._settings.region, self._settings.account_id)

    async def create(self, name: str, payload: Mapping[str, object]) -> TopicRule:
        check_name(name)
        async with self._lock:
            if name in self._rules:
                raise IotResourceAlreadyExists(f"Rule {name} already exists")
            rule = from_payload(name, payload, self._now())
            await self._put(rule)
        return rule

    async def replace(self, name: str, payload: Mapping[str, object]) -> TopicRule:
        async with self._lock:
            existing = self.get(name)
            rule = from_payload(name, payload, existing.created_at)
            await self._put(rule)
        return rule

    def get(self, name: str) -> TopicRule:
        check_name(name)
        rule = self._rules.get(name)
        if rule is None:
            raise IotUnauthorized(f"Rule {name} does not exist or you are not authorized to access it")
        return rule

    async def delete(self, name: str) -> None:
        async with self._lock:
            self.get(name)
            await self._store.change_resources(deletes=[(RULE_KIND, name)])
            del self._rules[name]
        self._changed()

    async def set_disabled(self, name: str, disabled: bool) -> None:
        async with self._lock:
            rule = self.get(name)
            if rule.disabled != disabled:
                await self._put(TopicRule(
                    name=rule.name, sql=rule.sql, function_arn=rule.function_arn, created_at=rule.created_at,
                    disabled=disabled, description=rule.description, sql_version=rule.sql_version,
                    error_function_arn=rule.error_function_arn, actions=rule.actions,
                ))  # fmt: skip

    def list(self, topic: str | None, disabled: bool | None, max_results: int, token: str | None,
             ) -> tuple[list[TopicRule], str | None]:  # fmt: skip
        """A page of rules by name (those of ``topic`` pattern, and enabled or not as asked) and
        the token of the next page; the token is the last name given, so pages survive deletions."""
        after = _after(token)
        chosen = [rule for name, rule in sorted(self._rules.items())
                  if (after is None or name > after)
                  and (topic is None or rule.topic_filter == topic)
                  and (disabled is None or rule.disabled == disabled)]  # fmt: skip
        page = chosen[:max_results]
        more = len(chosen) > max_results
        return page, (_token(page[-1].name) if more else None)

    async def _put(self, rule: TopicRule) -> None:
        await self._store.change_resources([Resource(RULE_KIND, rule.name, rule.doc())])
        self._rules[rule.name] = rule
        self._changed()

    def _changed(self) -> None:
        for watcher in self._watchers:
            watcher()


def _token(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode()


def _after(token: str | None) -> str | None:
    if token is None:
        return None
    try:
        name = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True).decode()
    except (ValueError, binascii.Error, UnicodeError):
        name = ""
    if not NAME_PATTERN.match(name):
        raise IotInvalidRequest("Invalid nextToken")
    return name
