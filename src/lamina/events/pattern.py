"""EventBridge's event pattern language: a pattern compiled once, matched against events.

``compile_pattern(text)`` parses and validates a pattern (a JSON object), raising
``InvalidEventPattern`` with AWS's message for one that is not valid; ``Pattern.matches(event)``
is pure and answers whether an event (a JSON object: the envelope with ``detail``) matches.

This first version knows exact values only (a field's list of allowed values, nested objects);
the rest of the language (../shared/aws/docs/eventbridge/) follows behind the same interface.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping

from lamina.errors import ApiError


class InvalidEventPattern(ApiError):
    code = "InvalidEventPatternException"
    status = 400


@dataclass(frozen=True)
class Pattern:
    """A compiled pattern: field name -> allowed values, or a nested pattern."""

    fields: Mapping[str, "tuple[object, ...] | Pattern"]

    def matches(self, event: Mapping[str, object]) -> bool:
        for name, rule in self.fields.items():
            if name not in event:
                return False
            value = event[name]
            if isinstance(rule, Pattern):
                if not isinstance(value, Mapping) or not rule.matches(value):
                    return False
            elif isinstance(value, list):
                if not any(item in rule for item in value):
                    return False
            elif value not in rule:
                return False
        return True


def compile_pattern(text: str) -> Pattern:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InvalidEventPattern(f"Event pattern is not valid. Reason: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidEventPattern("Event pattern is not valid. Reason: Filter is not an object")
    return _compile(doc)


def _compile(doc: Mapping[str, object]) -> Pattern:
    fields: dict[str, tuple[object, ...] | Pattern] = {}
    for name, rule in doc.items():
        if isinstance(rule, dict):
            fields[name] = _compile(rule)
        elif isinstance(rule, list):
            fields[name] = tuple(rule)
        else:
            raise InvalidEventPattern(
                f'Event pattern is not valid. Reason: "{name}" must be an object or an array'
            )
    return Pattern(fields)
