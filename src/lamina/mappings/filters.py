"""FilterCriteria: which records reach the function (pure).

Each filter is an event pattern (``lamina.events.pattern``); a record is kept when any filter
matches it, or when there are no filters. The record a filter sees is the source's *filter view*:
for SQS, the record with ``body`` parsed when it is a JSON object, as
../shared/aws/docs/invocation-eventfiltering.md describes. A plain-string body meets a pattern
that looks into ``body`` as an object (and a JSON body one that expects a string) without
matching: Lambda drops those records, and so do the patterns.
"""

from __future__ import annotations

import json
from typing import Mapping

from lamina.events.pattern import compile_pattern


class Filters:
    """A mapping's compiled FilterCriteria (its patterns were checked when it was created or updated)."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.patterns = patterns
        self._compiled = tuple(compile_pattern(p) for p in patterns)

    def keeps(self, view: Mapping[str, object]) -> bool:
        return not self._compiled or any(p.matches(view) for p in self._compiled)


def parsed_body(body: str) -> object:
    """An SQS body as filters see it: the JSON object it holds, or the string itself."""
    if not body.lstrip().startswith("{"):
        return body
    try:
        value = json.loads(body)
    except ValueError:
        return body
    return value if isinstance(value, dict) else body

