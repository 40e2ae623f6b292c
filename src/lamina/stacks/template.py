"""CloudFormation templates read and checked as CloudFormation does (pure).

A template is JSON or YAML; YAML's short forms (``!Ref``, ``!GetAtt``, ``!Sub``, ...) are read into
the long forms JSON spells (``{"Ref": ...}``, ``{"Fn::GetAtt": [...]}``), so everything after this
module sees one shape. The YAML loader is PyYAML's safe loader with those tags added, and hardened
against hostile documents: aliases are refused (an alias bomb is a few lines expanding to
gigabytes; CloudFormation does not need them), nesting is bounded, dates stay strings
(``AWSTemplateFormatVersion: 2010-09-09``), and anything that is not a JSON value is refused.
Errors carry CloudFormation's wording (``Template format error: ...``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Mapping, NoReturn, Sequence

import re2  # type: ignore[import-untyped]
import yaml

from lamina.hostile_yaml import BoundedLoader
from lamina.stacks.errors import StackValidationError, TemplateError, format_error

MAX_BODY_BYTES = 51_200  # TemplateBody's limit (botocore: length <= 51200)
MAX_URL_BODY_BYTES = 1_000_000  # a template read from the object store (TemplateURL)
MAX_DEPTH = 64  # nesting of maps and lists; real templates stay under 15
MAX_RESOURCES = 500
MAX_PARAMETERS = 200
MAX_OUTPUTS = 200
MAX_MAPPINGS = 200

SECTIONS = ("AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Mappings", "Conditions",
            "Transform", "Resources", "Outputs", "Rules")  # fmt: skip
RESOURCE_KEYS = ("Type", "Properties", "DependsOn", "Condition", "Metadata", "DeletionPolicy",
                 "UpdateReplacePolicy", "CreationPolicy", "UpdatePolicy")  # fmt: skip
PARAMETER_TYPES = ("String", "Number", "List<Number>", "CommaDelimitedList")
_LOGICAL_ID = re.compile(r"[A-Za-z0-9]+")
_RESOURCE_TYPE = re.compile(r"(AWS|Alexa|Custom)::[A-Za-z0-9]+(::[A-Za-z0-9]+)*|Custom::[A-Za-z0-9_@-]+")

# The short forms: tag -> the long form's key.
SHORT_FORMS = {
    "Ref": "Ref", "Condition": "Condition", "GetAtt": "Fn::GetAtt", "Sub": "Fn::Sub", "Join": "Fn::Join",
    "If": "Fn::If", "Equals": "Fn::Equals", "Not": "Fn::Not", "And": "Fn::And", "Or": "Fn::Or",
    "Select": "Fn::Select", "Split": "Fn::Split", "GetAZs": "Fn::GetAZs", "ImportValue": "Fn::ImportValue",
    "FindInMap": "Fn::FindInMap", "Base64": "Fn::Base64", "Cidr": "Fn::Cidr", "ToJsonString": "Fn::ToJsonString",
    "Length": "Fn::Length",
}  # fmt: skip


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    type: str
    default: str | None = None
    allowed_values: tuple[str, ...] | None = None
    allowed_pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    min_value: float | None = None
    max_value: float | None = None
    no_echo: bool = False
    description: str | None = None
    constraint_description: str | None = None

    @property
    def is_list(self) -> bool:
        return self.type.startswith("List<") or self.type == "CommaDelimitedList"


@dataclass(frozen=True)
class ResourceSpec:
    logical_id: str
    type: str
    properties: Mapping[str, Any]
    depends_on: tuple[str, ...] = ()
    condition: str | None = None
    deletion_policy: str = "Delete"


@dataclass(frozen=True)
class OutputSpec:
    name: str
    value: Any
    description: str | None = None
    export_name: Any = None
    condition: str | None = None


@dataclass(frozen=True)
class Template:
    body: str
    description: str | None
    parameters: Mapping[str, ParameterSpec]
    mappings: Mapping[str, Any]
    conditions: Mapping[str, Any]
    resources: Mapping[str, ResourceSpec]  # in the template's order
    outputs: Mapping[str, OutputSpec]
    original: str | None = None  # the template as given, when ``body`` is what its transforms made of it


# -- reading --------------------------------------------------------------------------------------


class _Loader(BoundedLoader):
    """The hostile-input loader (hostile_yaml.py), with CloudFormation's tags."""

    max_depth = MAX_DEPTH

    def refuse_alias(self, mark: Any) -> NoReturn:
        raise format_error(f"YAML aliases are not allowed in CloudFormation templates. "
                           f"(line {mark.line + 1}, column {mark.column + 1})")  # fmt: skip

    def refuse_depth(self) -> NoReturn:
        raise format_error(f"the template is nested deeper than {MAX_DEPTH} levels.")


def _short_form(key: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if key == "Fn::GetAtt" and isinstance(value, str):
                resource, _, attribute = value.partition(".")
                value = [resource, attribute]
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type,unused-ignore]
        return {key: value}

    return construct


for _tag, _key in SHORT_FORMS.items():
    _Loader.add_constructor(f"!{_tag}", _short_form(_key))


def _check_value(value: Any, depth: int = 0) -> Any:
    """``value`` as a JSON value (keys made strings, as CloudFormation reads them), or an error."""
    if depth > MAX_DEPTH:
        raise format_error(f"the template is nested deeper than {MAX_DEPTH} levels.")
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, bool) else str(k).lower(): _check_value(v, depth + 1)
                for k, v in value.items()}  # fmt: skip
    if isinstance(value, list):
        return [_check_value(v, depth + 1) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise format_error(f"unsupported YAML value of type {type(value).__name__}.")


def load(body: str) -> dict[str, Any]:
    """A template's text as a JSON value: JSON if it is JSON, YAML otherwise."""
    if body.lstrip().startswith("{"):
        try:
            document = json.loads(body)
        except json.JSONDecodeError as exc:
            raise format_error(f"JSON not well-formed. (line {exc.lineno}, column {exc.colno})") from None
        except RecursionError:
            raise format_error(f"the template is nested deeper than {MAX_DEPTH} levels.") from None
    else:
        try:
            document = yaml.load(body, Loader=_Loader)  # noqa: S506 (_Loader is a SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
            raise format_error(f"YAML not well-formed.{where}") from None
        except yaml.YAMLError:
            raise format_error("YAML not well-formed.") from None
        except RecursionError:
            raise format_error(f"the template is nested deeper than {MAX_DEPTH} levels.") from None
    document = _check_value(document)
    if not isinstance(document, dict):
        raise format_error("template format error: not a JSON or YAML object.")
    return document


# -- checking -------------------------------------------------------------------------------------


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise format_error(f"{what} must be an object.")
    return value


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise format_error(f"{what} must be a string or a list of strings.")


def _scalar(value: Any) -> str:
    """A parameter's default or allowed value as CloudFormation keeps it: text."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(_scalar(v) for v in value)
    return str(value)


def _number(spec: Mapping[str, Any], key: str, name: str) -> float | None:
    if key not in spec:
        return None
    try:
        return float(spec[key])
    except (TypeError, ValueError):
        raise format_error(f"Parameter '{name}' {key} must be a number.") from None


def _parameter(name: str, raw: Any) -> ParameterSpec:
    spec = _mapping(raw, f"[/Parameters/{name}]")
    kind = spec.get("Type")
    if not isinstance(kind, str):
        raise format_error("Every Parameters object must contain a Type member.")
    if kind not in PARAMETER_TYPES and not kind.startswith(("AWS::", "List<AWS::")):
        raise format_error(f"Unrecognized parameter type: {kind}")
    allowed = spec.get("AllowedValues")
    if allowed is not None and not isinstance(allowed, list):
        raise format_error(f"Every AllowedValues object in Parameters {name} must be a list.")
    lengths = {k: _number(spec, k, name) for k in ("MinLength", "MaxLength")}
    return ParameterSpec(
        name, kind, default=_scalar(spec["Default"]) if "Default" in spec else None,
        allowed_values=tuple(_scalar(v) for v in allowed) if allowed is not None else None,
        allowed_pattern=str(spec["AllowedPattern"]) if "AllowedPattern" in spec else None,
        min_length=int(lengths["MinLength"]) if lengths["MinLength"] is not None else None,
        max_length=int(lengths["MaxLength"]) if lengths["MaxLength"] is not None else None,
        min_value=_number(spec, "MinValue", name), max_value=_number(spec, "MaxValue", name),
        no_echo=_scalar(spec.get("NoEcho", False)).lower() == "true",
        description=str(spec["Description"]) if "Description" in spec else None,
        constraint_description=str(spec["ConstraintDescription"]) if "ConstraintDescription" in spec else None,
    )  # fmt: skip


def _resource(logical_id: str, raw: Any) -> ResourceSpec:
    if not _LOGICAL_ID.fullmatch(logical_id):
        raise format_error(f"Resource name {logical_id} is non alphanumeric.")
    spec = _mapping(raw, f"[/Resources/{logical_id}]")
    kind = spec.get("Type")
    if not isinstance(kind, str):
        raise format_error(f"[/Resources/{logical_id}] Every Resources object must contain a Type member.")
    if not _RESOURCE_TYPE.fullmatch(kind):
        raise format_error(f"Unrecognized resource types: [{kind}]")
    unknown = [k for k in spec if k not in RESOURCE_KEYS]
    if unknown:
        raise format_error(f"[/Resources/{logical_id}] Invalid template resource property '{unknown[0]}'")
    properties = spec.get("Properties", {})
    if not isinstance(properties, dict):
        raise format_error(f"[/Resources/{logical_id}/Properties] Properties must be an object.")
    condition = spec.get("Condition")
    if condition is not None and not isinstance(condition, str):
        raise format_error(f"[/Resources/{logical_id}/Condition] Condition must be a string.")
    policy = spec.get("DeletionPolicy", "Delete")
    if policy not in ("Delete", "Retain", "RetainExceptOnCreate", "Snapshot"):
        raise format_error(f"Unrecognized DeletionPolicy {policy} for resource {logical_id}")
    return ResourceSpec(logical_id, kind, properties, _strings(spec.get("DependsOn", []), "DependsOn"),
                        condition, str(policy))  # fmt: skip


def _output(name: str, raw: Any) -> OutputSpec:
    if not _LOGICAL_ID.fullmatch(name):
        raise format_error(f"Output {name} is malformed. The name of an output must be alphanumeric.")
    spec = _mapping(raw, f"[/Outputs/{name}]")
    if "Value" not in spec:
        raise format_error("Every Outputs member must contain a Value object")
    export = spec.get("Export")
    if export is not None and (not isinstance(export, dict) or "Name" not in export):
        raise format_error(f"[/Outputs/{name}/Export] Every Export member must contain a Name object")
    condition = spec.get("Condition")
    return OutputSpec(name, spec["Value"], str(spec["Description"]) if "Description" in spec else None,
                      export["Name"] if export is not None else None,
                      condition if isinstance(condition, str) else None)  # fmt: skip


def _section(document: Mapping[str, Any], name: str, limit: int) -> Mapping[str, Any]:
    section = document.get(name) or {}
    if not isinstance(section, dict):
        raise format_error(f"{name} must be an object.")
    if len(section) > limit:
        raise format_error(f"Number of {name.lower()} exceeds the limit of {limit}.")
    return section


def check_size(body: str, limit: int = MAX_BODY_BYTES) -> None:
    if len(body.encode("utf-8", "replace")) > limit:
        raise StackValidationError(f"1 validation error detected: Value at 'templateBody' failed to satisfy "
                                   f"constraint: Member must have length less than or equal to {limit}")  # fmt: skip


def parse(body: str, *, limit: int = MAX_BODY_BYTES) -> Template:
    """A template read and checked: its sections' shapes, names, types; references are checked by
    intrinsics.check (they need every section). A template with a ``Transform`` is transform.py's
    to expand first."""
    check_size(body, limit)
    document = load(body)
    unknown = [k for k in document if k not in SECTIONS]
    if unknown:
        raise format_error(f"Invalid template property or properties [{', '.join(unknown)}]")
    if "Transform" in document:
        transforms = document["Transform"]
        names = transforms if isinstance(transforms, list) else [transforms]
        raise format_error(f"Unsupported transform(s): {', '.join(map(str, names))}.")
    resources = _section(document, "Resources", MAX_RESOURCES)
    if not resources:
        raise format_error("At least one Resources member must be defined.")
    description = document.get("Description")
    if description is not None and not isinstance(description, str):
        raise format_error("Every Description member must be a string.")
    conditions = _section(document, "Conditions", MAX_RESOURCES)
    mappings = _section(document, "Mappings", MAX_MAPPINGS)
    for name, mapping in mappings.items():
        if not isinstance(mapping, dict) or not all(isinstance(v, dict) for v in mapping.values()):
            raise format_error(f"Mappings attribute {name} must be a map of maps.")
    return Template(
        body, description,
        {n: _parameter(n, p) for n, p in _section(document, "Parameters", MAX_PARAMETERS).items()},
        mappings, conditions, {n: _resource(n, r) for n, r in resources.items()},
        {n: _output(n, o) for n, o in _section(document, "Outputs", MAX_OUTPUTS).items()},
    )  # fmt: skip


# -- parameters -----------------------------------------------------------------------------------

ParameterValue = str | list[str]


def resolve_parameters(template: Template, given: Mapping[str, str], previous: Mapping[str, str],
                       keep_previous: Sequence[str] = ()) -> dict[str, str]:  # fmt: skip
    """The parameters' values as text (CloudFormation's form: lists comma-joined): those given,
    those kept from the stack's previous values (UsePreviousValue), then the defaults; checked
    against the template's constraints."""
    unknown = [k for k in list(given) + list(keep_previous) if k not in template.parameters]
    if unknown:
        raise StackValidationError(f"Parameters: [{', '.join(unknown)}] do not exist in the template")
    values: dict[str, str] = {}
    missing: list[str] = []
    for name, spec in template.parameters.items():
        if name in given:
            values[name] = given[name]
        elif name in keep_previous and name in previous:
            values[name] = previous[name]
        elif spec.default is not None:
            values[name] = spec.default
        else:
            missing.append(name)
    if missing:
        raise StackValidationError(f"Parameters: [{', '.join(missing)}] must have values")
    for name, value in values.items():
        _check_parameter(template.parameters[name], value)
    return values


def _check_parameter(spec: ParameterSpec, value: str) -> None:
    name = spec.name
    items = value.split(",") if spec.is_list else [value]
    why = spec.constraint_description
    for item in items:
        if spec.allowed_values is not None and item not in spec.allowed_values:
            raise StackValidationError(why or f"Parameter '{name}' must be one of AllowedValues")
        if spec.type in ("Number", "List<Number>"):
            try:
                number = float(item)
            except ValueError:
                raise StackValidationError(f"Parameter '{name}' must be a number.") from None
            if spec.min_value is not None and number < spec.min_value:
                raise StackValidationError(why or f"Parameter '{name}' must be a number not less than "
                                                  f"{_shown(spec.min_value)}")  # fmt: skip
            if spec.max_value is not None and number > spec.max_value:
                raise StackValidationError(why or f"Parameter '{name}' must be a number not greater than "
                                                  f"{_shown(spec.max_value)}")  # fmt: skip
    if spec.allowed_pattern is not None:
        if not _matches(name, spec.allowed_pattern, value):
            raise StackValidationError(why or f"Parameter '{name}' must match pattern {spec.allowed_pattern}")
    if spec.min_length is not None and len(value) < spec.min_length:
        raise StackValidationError(why or f"Parameter '{name}' must contain at least {spec.min_length} characters")
    if spec.max_length is not None and len(value) > spec.max_length:
        raise StackValidationError(why or f"Parameter '{name}' must contain at most {spec.max_length} characters")


def _shown(number: float) -> str:
    return str(int(number)) if number.is_integer() else str(number)


def _matches(name: str, pattern: str, value: str) -> bool:
    """Whether ``value`` matches an AllowedPattern, in linear time (RE2: a template's pattern cannot
    stall the server as a backtracking engine's can); a pattern RE2 does not take (backreferences,
    lookarounds) is refused as invalid."""
    try:
        compiled = re2.compile(pattern, _RE2_OPTIONS)
    except re2.error:
        raise TemplateError(f"Template error: Parameter '{name}' AllowedPattern is not a valid pattern "
                            "(backreferences and lookarounds are not supported)") from None  # fmt: skip
    return compiled.fullmatch(value) is not None


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is the caller's error, not the server's log's
