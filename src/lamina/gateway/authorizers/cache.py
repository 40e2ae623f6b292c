"""Authorizers' answers kept for their TTL, by authorizer and identity-source values.

What is kept is the authorizer's answer, not the decision: a kept IAM policy is evaluated again
for each request (``policy.evaluate``), as API Gateway does. Pure: the caller passes ``now``
(monotonic seconds). At most ``max_entries`` answers are kept; the oldest go first.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, Hashable, TypeVar

V = TypeVar("V")


class AnswerCache(Generic[V]):
    def __init__(self, max_entries: int = 10_000) -> None:
        self._max = max_entries
        self._entries: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()

    def get(self, key: Hashable, now: float) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if now >= expires:
            del self._entries[key]
            return None
        return value

    def put(self, key: Hashable, value: V, ttl_seconds: float, now: float) -> None:
        if ttl_seconds <= 0:
            return
        self._entries.pop(key, None)
        self._entries[key] = (now + ttl_seconds, value)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def forget(self, prefix: Hashable) -> None:
        """Drop every answer of one authorizer (keys are ``(authorizer_id, values)``): it changed."""
        for key in [k for k in self._entries if isinstance(k, tuple) and k[:1] == (prefix,)]:
            del self._entries[key]
