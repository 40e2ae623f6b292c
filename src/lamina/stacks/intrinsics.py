"""Intrinsic functions, conditions and the dependency graph (pure).

``evaluate`` computes a template value against a ``Scope``: the parameters (pseudo parameters
included), the conditions' results, the mappings, and what the stack's resources answer to
``Ref`` and ``Fn::GetAtt`` so far. ``AWS::NoValue`` removes the property or list item it stands in.
``dependencies`` and ``order`` build the graph CloudFormation creates resources in: an edge for
each ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` reference and ``DependsOn``; deletion runs it backwards.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

from lamina.stacks.errors import TemplateError, format_error
from lamina.stacks.template import Template

PSEUDO = ("AWS::Region", "AWS::AccountId", "AWS::StackName", "AWS::StackId", "AWS::Partition",
          "AWS::URLSuffix", "AWS::NoValue", "AWS::NotificationARNs")  # fmt: skip
FUNCTIONS = ("Ref", "Condition", "Fn::GetAtt", "Fn::Sub", "Fn::Join", "Fn::If", "Fn::Equals", "Fn::Not",
             "Fn::And", "Fn::Or", "Fn::Select", "Fn::Split", "Fn::GetAZs", "Fn::ImportValue",
             "Fn::FindInMap", "Fn::Base64", "Fn::ToJsonString", "Fn::Length")  # fmt: skip
_SUB = re.compile(r"\$\{([^}]*)\}")


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()


def pseudo_parameters(region: str, account_id: str, stack_name: str, stack_id: str) -> dict[str, Any]:
    return {"AWS::Region": region, "AWS::AccountId": account_id, "AWS::StackName": stack_name,
            "AWS::StackId": stack_id, "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE, "AWS::NotificationARNs": []}  # fmt: skip


def _no_attributes(logical_id: str, attribute: str) -> Any:
    raise TemplateError(f"Template error: resource {logical_id} has not been created")


@dataclass(frozen=True)
class Scope:
    """What intrinsic functions are evaluated against."""

    parameters: Mapping[str, Any]  # the template's (lists as lists) and the pseudo parameters
    mappings: Mapping[str, Any] = field(default_factory=dict)
    conditions: Mapping[str, bool] = field(default_factory=dict)
    refs: Mapping[str, str] = field(default_factory=dict)  # logical id -> its Ref value
    attribute: Callable[[str, str], Any] = _no_attributes  # (logical id, attribute) -> value
    exports: Mapping[str, str] = field(default_factory=dict)  # export name -> value


def parameter_values(template: Template, values: Mapping[str, str]) -> dict[str, Any]:
    """Parameters as ``Ref`` answers them: list types as lists, the others as text."""
    return {name: values[name].split(",") if spec.is_list else values[name]
            for name, spec in template.parameters.items() if name in values}  # fmt: skip


def _args(name: str, value: Any, count: int | None = None) -> list[Any]:
    if not isinstance(value, list) or (count is not None and len(value) != count):
        shape = f"a list of {count} elements" if count is not None else "a list"
        raise TemplateError(f"Template error: every {name} object requires {shape}")
    return value


def _text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (str, int, float)):
        return str(value)
    raise TemplateError(f"Template error: every {name} argument must resolve to a string")


def evaluate(value: Any, scope: Scope) -> Any:
    """``value`` with every intrinsic function computed (NO_VALUE where ``AWS::NoValue`` stood)."""
    if isinstance(value, dict):
        if len(value) == 1:
            (key, arg), = value.items()
            if key in FUNCTIONS:
                return _call(key, arg, scope)
            if key.startswith("Fn::"):
                raise TemplateError(f"Template error: {key} is not supported by Lamina")
        out = {}
        for k, v in value.items():
            result = evaluate(v, scope)
            if result is not NO_VALUE:
                out[k] = result
        return out
    if isinstance(value, list):
        return [r for r in (evaluate(v, scope) for v in value) if r is not NO_VALUE]
    return value


def condition(name: str, scope: Scope) -> bool:
    if name not in scope.conditions:
        raise TemplateError(f"Template error: unresolved condition dependency {name} in Fn::If")
    return bool(scope.conditions[name])


def _ref(name: Any, scope: Scope) -> Any:
    if not isinstance(name, str):
        raise TemplateError("Template error: every Ref object must have a single String value.")
    if name in scope.parameters:
        return scope.parameters[name]
    if name in scope.refs:
        return scope.refs[name]
    raise format_error(f"Unresolved resource dependencies [{name}] in the Resources block of the template")


def _get_att(arg: Any, scope: Scope) -> Any:
    if isinstance(arg, str):
        arg = arg.split(".", 1)
    resource, attribute = _args("Fn::GetAtt", arg, 2)
    attribute = evaluate(attribute, scope)
    if not isinstance(resource, str) or not isinstance(attribute, str):
        raise TemplateError("Template error: every Fn::GetAtt object requires two non-empty parameters")
    return scope.attribute(resource, attribute)


def _sub(arg: Any, scope: Scope) -> str:
    if isinstance(arg, str):
        text, variables = arg, {}
    else:
        text, raw = _args("Fn::Sub", arg, 2)
        if not isinstance(text, str) or not isinstance(raw, dict):
            raise TemplateError("Template error: One or more Fn::Sub intrinsic functions don't specify expected "
                                "arguments. Specify a string as first argument, and an optional second argument "
                                "to specify a mapping of values to replace in the string")  # fmt: skip
        variables = {k: evaluate(v, scope) for k, v in raw.items()}

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        if inner.startswith("!"):
            return "${" + inner[1:] + "}"
        name = inner.strip()
        if name in variables:
            return _text("Fn::Sub", variables[name])
        if "." in name and name.split(".", 1)[0] not in scope.parameters:
            resource, attribute = name.split(".", 1)
            return _text("Fn::Sub", scope.attribute(resource, attribute))
        found = _ref(name, scope)
        return ",".join(found) if isinstance(found, list) else _text("Fn::Sub", found)

    return _SUB.sub(replace, text)


def _call(name: str, arg: Any, scope: Scope) -> Any:  # noqa: C901 (one branch a function, as the table reads)
    if name == "Ref":
        return _ref(arg, scope)
    if name == "Condition":
        return condition(_text("Condition", arg), scope)
    if name == "Fn::GetAtt":
        return _get_att(arg, scope)
    if name == "Fn::Sub":
        return _sub(arg, scope)
    if name == "Fn::If":
        test, yes, no = _args(name, arg, 3)
        return evaluate(yes if condition(_text(name, test), scope) else no, scope)
    if name == "Fn::Equals":
        left, right = (evaluate(v, scope) for v in _args(name, arg, 2))
        return _comparable(left) == _comparable(right)
    if name == "Fn::Not":
        (only,) = _args(name, arg, 1)
        return not _boolean(name, evaluate(only, scope))
    if name in ("Fn::And", "Fn::Or"):
        items = _args(name, arg)
        if not 2 <= len(items) <= 10:
            raise TemplateError(f"Template error: every {name} object requires a list of at least 2 "
                                f"and at most 10 boolean parameters.")  # fmt: skip
        results = [_boolean(name, evaluate(v, scope)) for v in items]
        return all(results) if name == "Fn::And" else any(results)
    evaluated = evaluate(arg, scope)
    if name == "Fn::Join":
        delimiter, items = _args(name, evaluated, 2)
        if not isinstance(items, list):
            raise TemplateError("Template error: every Fn::Join object requires two parameters, (1) a string "
                                "delimiter and (2) a list of strings to be joined or a function that returns a "
                                "list of strings (such as Fn::GetAZs) to be joined.")  # fmt: skip
        return _text(name, delimiter).join(_text(name, v) for v in items)
    if name == "Fn::Select":
        index, items = _args(name, evaluated, 2)
        if isinstance(items, str):
            items = items.split(",")
        try:
            return _args(name, items)[int(index)]
        except (ValueError, IndexError, TypeError):
            raise TemplateError("Template error: Fn::Select cannot select nonexistent value at index "
                                f"{index}") from None  # fmt: skip
    if name == "Fn::Split":
        delimiter, text = _args(name, evaluated, 2)
        if not _text(name, delimiter):
            raise TemplateError("Template error: Fn::Split requires a non-empty delimiter")
        return _text(name, text).split(_text(name, delimiter))
    if name == "Fn::GetAZs":
        region = _text(name, evaluated) or scope.parameters["AWS::Region"]
        return [f"{region}{zone}" for zone in "abc"]
    if name == "Fn::ImportValue":
        export = _text(name, evaluated)
        if export not in scope.exports:
            raise TemplateError(f"No export named {export} found.")
        return scope.exports[export]
    if name == "Fn::FindInMap":
        items = _args(name, evaluated)
        if len(items) not in (3, 4):
            raise TemplateError("Template error: every Fn::FindInMap object requires three parameters, the "
                                "map name, map key and the attribute for return value")  # fmt: skip
        map_name, top, second = (_text(name, v) for v in items[:3])
        try:
            return scope.mappings[map_name][top][second]
        except (KeyError, TypeError):
            if len(items) == 4 and isinstance(items[3], dict) and "DefaultValue" in items[3]:
                return items[3]["DefaultValue"]
            raise TemplateError(f"Template error: Unable to get mapping for {map_name}::{top}::{second}") from None
    if name == "Fn::Base64":
        return base64.b64encode(_text(name, evaluated).encode()).decode()
    if name == "Fn::ToJsonString":
        return json.dumps(evaluated, separators=(",", ":"))
    if name == "Fn::Length":
        return len(_args(name, evaluated))
    raise TemplateError(f"Template error: unsupported function {name}")  # not reached: FUNCTIONS lists those above


def _comparable(value: Any) -> Any:
    return _text("Fn::Equals", value) if isinstance(value, (bool, int, float)) else value


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise TemplateError(f"Template error: every {name} object requires boolean parameters")


def evaluate_conditions(template: Template, scope: Scope) -> dict[str, bool]:
    """Every condition's result; a condition may name another (``{"Condition": name}``), not itself."""
    results: dict[str, bool] = {}
    evaluating: list[str] = []

    class Lazy(dict[str, bool]):
        def __contains__(self, key: object) -> bool:
            return key in template.conditions

        def __getitem__(self, key: str) -> bool:
            if key not in results:
                if key in evaluating:
                    raise format_error(f"Circular dependency between conditions: [{', '.join(evaluating)}]")
                evaluating.append(key)
                results[key] = _boolean("Condition", evaluate(template.conditions[key], scoped))
                evaluating.pop()
            return results[key]

    scoped = Scope(scope.parameters, scope.mappings, Lazy(), exports=scope.exports)
    for name in template.conditions:
        _ = scoped.conditions[name]
    return results


# -- references and order -------------------------------------------------------------------------


def _references(value: Any) -> Iterator[tuple[str, str]]:
    """(function, name) of every Ref, Fn::GetAtt and Fn::Sub variable in ``value``."""
    if isinstance(value, list):
        for item in value:
            yield from _references(item)
    elif isinstance(value, dict):
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref" and isinstance(arg, str):
                yield "Ref", arg
                return
            if key == "Fn::GetAtt":
                parts = arg.split(".", 1) if isinstance(arg, str) else arg
                if isinstance(parts, list) and parts and isinstance(parts[0], str):
                    yield "Fn::GetAtt", parts[0]
                    yield from _references(parts[1:])
                return
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1]) if (
                    isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], dict)) else ("", {})
                yield from _references(list(variables.values()))
                for match in _SUB.finditer(text if isinstance(text, str) else ""):
                    inner = match.group(1).strip()
                    head, dot, _ = inner.partition(".")
                    if not inner.startswith("!") and head not in variables:
                        yield ("Fn::GetAtt" if dot else "Ref"), head
                return
        for item in value.values():
            yield from _references(item)


def dependencies(template: Template) -> dict[str, list[str]]:
    """Each resource's resources it needs, checked: every name a reference uses exists."""
    known = set(template.parameters) | set(PSEUDO)
    graph: dict[str, list[str]] = {}
    for logical_id, spec in template.resources.items():
        needs: list[str] = []
        for function, name in _references(spec.properties):
            if name in template.resources:
                if name not in needs:
                    needs.append(name)
            elif function == "Fn::GetAtt":
                raise TemplateError(f"Template error: instance of Fn::GetAtt references undefined resource {name}")
            elif name not in known:
                raise format_error(f"Unresolved resource dependencies [{name}] in the Resources block of the template")
        for name in spec.depends_on:
            if name not in template.resources:
                raise format_error(f"Unresolved resource dependencies [{name}] in the Resources block of the template")
            if name not in needs:
                needs.append(name)
        if spec.condition is not None and spec.condition not in template.conditions:
            raise format_error(f"Unresolved condition dependency {spec.condition} in the Resources block "
                               f"of the template")  # fmt: skip
        graph[logical_id] = needs
    for name, output in template.outputs.items():
        for function, ref in _references([output.value, output.export_name]):
            if ref not in template.resources and (function == "Fn::GetAtt" or ref not in known):
                raise format_error(f"Unresolved resource dependencies [{ref}] in the Outputs block of the template")
    return graph


def order(graph: Mapping[str, Sequence[str]]) -> list[str]:
    """The resources in an order each comes after what it needs (the template's order where free);
    a cycle is refused with CloudFormation's words."""
    done: list[str] = []
    placed: set[str] = set()
    remaining = list(graph)
    while remaining:
        ready = [name for name in remaining if all(need in placed for need in graph[name])]
        if not ready:
            raise format_error(f"Circular dependency between resources: [{', '.join(sorted(remaining))}]")
        for name in ready:
            placed.add(name)
            done.append(name)
        remaining = [name for name in remaining if name not in placed]
    return done


def check(template: Template) -> list[str]:
    """The template's references checked and its resources' creation order."""
    return order(dependencies(template))
