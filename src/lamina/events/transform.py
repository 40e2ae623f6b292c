"""What a rule's target receives: the event, or its Input, InputPath or InputTransformer.

``TargetInput.of(target)`` validates a PutTargets target's input members (raising
``ValidationError`` in AWS's words) and compiles them once; ``render(event, rule)`` is pure and
gives the bytes the target is invoked with. ``render_input(target, event, rule)`` does both.

- No input member: the event itself, as JSON.
- ``Input``: that JSON text, as given.
- ``InputPath``: the JSON of what the path selects in the event (``null`` if nothing).
- ``InputTransformer``: ``InputPathsMap`` names up to 100 variables, each a path into the event;
  ``InputTemplate`` is text with ``<variable>`` placeholders. In a template that is JSON (it
  starts with ``{`` or ``[``), a placeholder where a JSON value goes is replaced by the value's
  JSON (a string in quotes), one inside a string literal by the value's text (a string without
  quotes, not escaped: AWS does not escape it either). In any other template (a quoted string,
  plain text) every placeholder is replaced by the value's text. A variable whose path finds
  nothing is replaced by nothing, wherever it is (as AWS documents it; in a JSON template, the
  result may then not be JSON). Predefined variables:
  ``aws.events.rule-arn``, ``aws.events.rule-name``, ``aws.events.event.ingestion-time`` (the
  event's ``time`` unless given), ``aws.events.event`` (the event without ``detail``, its
  ``detail-type`` named ``detailType``) and ``aws.events.event.json`` (the whole event); the last
  two only where a JSON value goes in a template that is a JSON object.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypedDict

from lamina.errors import ValidationError
from lamina.events import jsonpath

MAX_PATHS = 100
RULE_ARN, RULE_NAME = "aws.events.rule-arn", "aws.events.rule-name"
INGESTION_TIME, EVENT, EVENT_JSON = "aws.events.event.ingestion-time", "aws.events.event", "aws.events.event.json"
PREDEFINED = frozenset([RULE_ARN, RULE_NAME, INGESTION_TIME, EVENT, EVENT_JSON])
_JSON_ONLY = frozenset([EVENT, EVENT_JSON])
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")


class InputTransformerSpec(TypedDict, total=False):
    InputPathsMap: dict[str, str]
    InputTemplate: str


class TargetSpec(TypedDict, total=False):
    """A PutTargets target's members that decide its input, as the API names them."""

    Id: str
    Input: str
    InputPath: str
    InputTransformer: InputTransformerSpec


@dataclass(frozen=True, slots=True)
class RuleRef:
    name: str
    arn: str


@dataclass(frozen=True, slots=True)
class _Slot:
    name: str
    as_json: bool  # where a JSON value goes (else: text, inside a string or a non-JSON template)


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _segments(template: str, target_id: str, names: frozenset[str]) -> tuple[str | _Slot, ...]:
    """The template as literal text and slots, each slot knowing whether a JSON value goes there."""
    is_json = template.lstrip().startswith(("{", "["))
    is_object = template.lstrip().startswith("{")
    parts: list[str | _Slot] = []
    in_string, escaped, start, i = False, False, 0, 0
    while i < len(template):
        c = template[i]
        if in_string and escaped:
            escaped = False
        elif in_string and c == "\\":
            escaped = True
        elif c == '"':
            in_string = not in_string
        elif c == "<" and (m := _PLACEHOLDER.match(template, i)):
            name = m.group(1)
            if name not in names and name not in PREDEFINED:
                raise ValidationError(f"InputTemplate for target {target_id} contains invalid placeholder {name}.")
            as_json = is_json and not in_string
            if name in _JSON_ONLY and not (is_object and as_json):
                raise ValidationError(
                    f"InputTemplate for target {target_id} contains placeholder {name} valid only for JSON template."
                )
            parts += [template[start:i], _Slot(name, as_json)]
            i = start = m.end()
            continue
        i += 1
    parts.append(template[start:])
    return tuple(p for p in parts if p != "")


@dataclass(frozen=True, slots=True)
class TargetInput:
    """A target's input members, validated and compiled."""

    input: str | None = None
    path: jsonpath.JsonPath | None = None
    paths: tuple[tuple[str, jsonpath.JsonPath], ...] = ()
    template: tuple[str | _Slot, ...] | None = None

    @classmethod
    def of(cls, target: TargetSpec) -> TargetInput:
        target_id = target.get("Id", "")
        given = [key for key in ("Input", "InputPath", "InputTransformer") if key in target]
        if len(given) > 1:
            raise ValidationError(
                f"Only one of Input, InputPath, or InputTransformer must be provided for target {target_id}."
            )
        if "Input" in target:
            try:
                json.loads(target["Input"])
            except (ValueError, RecursionError):
                raise ValidationError(f"Input for target {target_id} is not valid JSON text.") from None
            return cls(input=target["Input"])
        if "InputPath" in target:
            return cls(path=_path(target["InputPath"], target_id))
        if "InputTransformer" not in target:
            return cls()
        transformer = target["InputTransformer"]
        paths = transformer.get("InputPathsMap", {})
        if len(paths) > MAX_PATHS:
            raise ValidationError(
                f"InputPathsMap for target {target_id} has {len(paths)} entries; at most {MAX_PATHS} are allowed."
            )
        for name in paths:
            if name in PREDEFINED:
                raise ValidationError(
                    f"InputPathsMap for target {target_id} contains reserved variable name {name}."
                )
        compiled = tuple((name, _path(text, target_id)) for name, text in paths.items())
        template = _segments(transformer.get("InputTemplate", ""), target_id, frozenset(paths))
        return cls(paths=compiled, template=template)

    def render(self, event: Mapping[str, object], rule: RuleRef, ingestion_time: str | None = None) -> bytes:
        if self.input is not None:
            return self.input.encode()
        if self.path is not None:
            found, value = self.path.select(event)
            return _dumps(value if found else None).encode()
        if self.template is None:
            return _dumps(event).encode()
        values: dict[str, object] = {}
        for name, path in self.paths:
            found, value = path.select(event)
            if found:
                values[name] = value
        values[RULE_ARN], values[RULE_NAME] = rule.arn, rule.name
        values[INGESTION_TIME] = ingestion_time if ingestion_time is not None else event.get("time", "")
        out: list[str] = []
        for part in self.template:
            if isinstance(part, str):
                out.append(part)
            elif part.name == EVENT:
                out.append(_dumps({("detailType" if k == "detail-type" else k): v
                                   for k, v in event.items() if k != "detail"}))  # fmt: skip
            elif part.name == EVENT_JSON:
                out.append(_dumps(event))
            elif part.name not in values:
                continue  # AWS: such a variable "isn't created and won't appear in the output"
            else:
                value = values[part.name]
                out.append(_dumps(value) if part.as_json or not isinstance(value, str) else value)
        return "".join(out).encode()


def _path(text: str, target_id: str) -> jsonpath.JsonPath:
    try:
        return jsonpath.parse(text)
    except jsonpath.InvalidPath:
        raise ValidationError(f"Invalid JSONPath {text} for target {target_id}.") from None


def render_input(
    target: TargetSpec, event: Mapping[str, object], rule: RuleRef, ingestion_time: str | None = None
) -> bytes:
    """The bytes ``target`` receives for ``event`` matched by ``rule`` (validating the target first)."""
    return TargetInput.of(target).render(event, rule, ingestion_time)
