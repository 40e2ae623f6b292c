"""Checks of API input against Lambda's constraints, as AWS words its errors.

Each function takes raw JSON values and returns typed ones or raises ``ValidationError`` (the
value breaks the API model: pattern, range, length) or ``InvalidParameterValue`` (well-formed
but not acceptable).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from lamina.control.violations import Violation, combined
from lamina.errors import InvalidParameterValue
from lamina.runtime.variables import OUTBOUND_VARIABLE, reserved_keys_used
from lamina.settings import switch
from lamina.settings import Limits

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_PATTERN = "Member must satisfy regular expression pattern: "
_PREFIX = (
    "(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?"
)
# botocore's FunctionName pattern, as AWS quotes it (a name, a partial ARN or an ARN, with a qualifier).
FUNCTION_NAME_PATTERN = _PREFIX + "([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
_FUNCTION_NAME = re.compile(FUNCTION_NAME_PATTERN)


@dataclass(frozen=True)
class NameShape:
    """How one operation's model constrains its FunctionName and Qualifier members (botocore's shapes
    FunctionName, NamespacedFunctionName, FunctionUrlFunctionName, UnqualifiedFunctionName)."""

    pattern: str
    max_length: int
    qualifier_pattern: str

    def violations(self, value: str, qualifier: str | None) -> list[Violation]:
        """Every broken constraint of the two members, in the model's order (AWS names each one)."""
        found = []
        if len(value) > self.max_length:
            rule = f"Member must have length less than or equal to {self.max_length}"
            found.append(constraint(value, "functionName", rule))
        if not re.fullmatch(self.pattern, value):
            found.append(constraint(value, "functionName", _PATTERN + self.pattern))
        if qualifier is not None:
            if not 1 <= len(qualifier) <= 128:
                bound = "greater than or equal to 1" if not qualifier else "less than or equal to 128"
                found.append(constraint(qualifier, "qualifier", f"Member must have length {bound}"))
            if not re.fullmatch(self.qualifier_pattern, qualifier):
                found.append(constraint(qualifier, "qualifier", "Member must satisfy regular expression pattern: "
                                        + self.qualifier_pattern))  # fmt: skip
        return found


# The plain FunctionName: CreateFunction, Update*, PublishVersion, aliases, concurrency.
FUNCTION_NAME = NameShape(FUNCTION_NAME_PATTERN, 140, "(|[a-zA-Z0-9$_-]+)")
# Reads, deletes, Invoke, policies, event-invoke and code-signing configurations: dots, $LATEST.PUBLISHED.
NAMESPACED = NameShape(
    _PREFIX + "([a-zA-Z0-9-_\\.]+)(:(\\$LATEST(\\.PUBLISHED)?|[a-zA-Z0-9-_]+))?", 256,
    "\\$(LATEST(\\.PUBLISHED)?)|[a-zA-Z0-9-_$]+",
)
# Function URLs: a name of at most 64 characters, an alias qualifier (never a version number).
URL = NameShape(
    _PREFIX + "([a-zA-Z0-9-_]{1,64})(:((?!\\d+$)[0-9a-zA-Z-_]+))?", 140, "((?!^\\d+$)^[0-9a-zA-Z-_]+$)"
)
# Recursion and scaling configurations: no qualifier in the name.
UNQUALIFIED = NameShape(_PREFIX + "([a-zA-Z0-9-_]+)", 140, "(\\$LATEST\\.PUBLISHED|[0-9]+)")

# A function identifier in a path: a name, a partial ARN or a full ARN, each with an optional qualifier.
# It reads whatever any shape above lets through (a name no function can have is then not found).
_IDENTIFIER = re.compile(
    r"^(?:arn:(?:aws[a-zA-Z-]*):lambda:(?P<region>(?:eusc-)?[a-z]{2}(?:(?:-gov)|(?:-iso[a-z]?))?-[a-z]+-\d{1}):)?"
    r"(?:(?P<account>\d{12}):)?(?:function:)?"
    r"(?P<name>[a-zA-Z0-9_.-]+)(?::(?P<qualifier>\$LATEST(?:\.PUBLISHED)?|[a-zA-Z0-9_-]+))?$"
)
_ROLE = re.compile(r"^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
_HANDLER = re.compile(r"^[^\s]+$")
_ENV_KEY = re.compile(r"^[a-zA-Z]([a-zA-Z0-9_])+$")
_RESOURCE_ARN = re.compile(r"^(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()$")
_DEAD_LETTER_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:(sqs|sns):[a-z0-9-]+:\d{12}:[a-zA-Z0-9_.-]{1,256}$")
ENV_MAX_BYTES = 4096


def constraint(value: object, field: str, rule: str) -> Violation:
    return Violation(value, field, rule)


def function_name(value: object) -> str:
    """A name for a new function: the model's FunctionName (at most 140 characters, its pattern), then
    Lambda's own limit of 64 characters for a function's name."""
    if not isinstance(value, str) or not value:
        raise constraint(value, "functionName", "Member must have length greater than or equal to 1")
    if len(value) > 140:
        raise constraint(value, "functionName", "Member must have length less than or equal to 140")
    if not _FUNCTION_NAME.fullmatch(value):
        raise constraint(value, "functionName", f"Member must satisfy regular expression pattern: {FUNCTION_NAME_PATTERN}")
    if not _NAME.match(value):
        raise constraint(value, "functionName", "Member must have length less than or equal to 64")
    return value


def function_identifier(
    value: str, shape: NameShape = FUNCTION_NAME, qualifier: str | None = None
) -> tuple[str, str | None]:
    """(name, qualifier) of a name, partial ARN or ARN in a FunctionName path, checked with the request's
    Qualifier against ``shape`` (the operation's model) as AWS checks them: a ``ValidationError`` names
    every broken constraint."""
    violations = shape.violations(value, qualifier)
    match = _IDENTIFIER.match(value)
    if not violations and not match:  # the model's pattern matched a prefix only (a name with ':')
        violations = [constraint(value, "functionName", _PATTERN + shape.pattern)]
    if violations or not match:
        raise combined(violations)
    return match["name"], match["qualifier"]


def function_region(value: str) -> str | None:
    """The region a full function ARN names (None for a name or a partial ARN, or no identifier at all)."""
    match = _IDENTIFIER.match(value)
    return match["region"] if match else None


def function_account(value: str) -> str | None:
    """The account a full or partial function ARN names (None for a plain name, or no identifier at all)."""
    match = _IDENTIFIER.match(value)
    return match["account"] if match else None


def required(value: object, field: str) -> None:
    """A member the model requires: ``Value null at '<field>' ... Member must not be null`` when missing."""
    if value is None:
        raise constraint(None, field, "Member must not be null")


S3_BUCKET_PATTERN = "[0-9A-Za-z\\.\\-_]*(?<!\\.)"
KMS_KEY_ARN_PATTERN = "(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()"
_STORAGE_MODES = ("COPY", "REFERENCE")


def _text(value: object, field: str, low: int, high: int, pattern: str | None) -> list[Violation]:
    """A string member's length and pattern violations, each named (AWS lists both when both fail)."""
    text = str(value)
    found = []
    if len(text) < low:
        found.append(constraint(text, field, f"Member must have length greater than or equal to {low}"))
    if len(text) > high:
        found.append(constraint(text, field, f"Member must have length less than or equal to {high}"))
    if pattern is not None and not re.fullmatch(pattern, text):
        found.append(constraint(text, field, f"Member must satisfy regular expression pattern: {pattern}"))
    return found


def code_source(code: Mapping[str, object], prefix: str = "") -> list[Violation]:
    """The model's constraints on a code source's S3 members (FunctionCode, LayerVersionContentInput,
    UpdateFunctionCode's own), in the model's order; ``prefix`` places them (``code.``, ``content.``)."""
    found = []
    if code.get("S3Bucket") is not None:
        found += _text(code["S3Bucket"], f"{prefix}s3Bucket", 3, 63, S3_BUCKET_PATTERN)
    for key, field in (("S3Key", "s3Key"), ("S3ObjectVersion", "s3ObjectVersion")):
        if code.get(key) is not None:
            found += _text(code[key], prefix + field, 1, 1024, ".*")
    mode = code.get("S3ObjectStorageMode")
    if mode is not None and mode not in _STORAGE_MODES:
        found.append(constraint(mode, f"{prefix}s3ObjectStorageMode",
                                f"Member must satisfy enum value set: [{', '.join(_STORAGE_MODES)}]"))  # fmt: skip
    return found


def kms_key_arn(value: object, field: str) -> list[Violation]:
    """A KMSKeyArn member (absent: nothing to check)."""
    return [] if value is None else _text(value, field, 0, 10000, KMS_KEY_ARN_PATTERN)


def enum(value: object, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise constraint(value, field, f"Member must satisfy enum value set: [{', '.join(allowed)}]")
    return str(value)


def role(value: object) -> str:
    required(value, "role")
    if not isinstance(value, str) or not _ROLE.match(value):
        raise constraint(value, "role", "Member must satisfy regular expression pattern: "
                          "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+")  # fmt: skip
    return value


def handler(value: object) -> str:
    if not isinstance(value, str) or not _HANDLER.match(value) or len(value) > 128:
        raise constraint(value, "handler", "Member must satisfy regular expression pattern: [^\\s]+ "
                          "and have length less than or equal to 128")  # fmt: skip
    return value


def _integer(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterValue(f"{field} must be an integer, got {value!r}")
    if value < low:
        raise constraint(value, field, f"Member must have value greater than or equal to {low}")
    if value > high:
        raise constraint(value, field, f"Member must have value less than or equal to {high}")
    return value


def memory_size(value: object, limits: Limits) -> int:
    return _integer(value, "memorySize", limits.memory_min_mb, limits.memory_max_mb)


def timeout(value: object, limits: Limits) -> int:
    return _integer(value, "timeout", 1, limits.timeout_max_seconds)


def ephemeral_storage(value: object, limits: Limits) -> int:
    if not isinstance(value, dict) or "Size" not in value:
        raise InvalidParameterValue("EphemeralStorage must be an object with a Size in MB, e.g. {\"Size\": 512}")
    return _integer(value["Size"], "ephemeralStorage.size", limits.ephemeral_min_mb, limits.ephemeral_max_mb)


def description(value: object) -> str:
    if not isinstance(value, str) or len(value) > 256:
        raise constraint(value, "description", "Member must have length less than or equal to 256")
    return value


def environment(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise InvalidParameterValue("Environment must be an object: {\"Variables\": {\"KEY\": \"value\"}}")
    variables = value.get("Variables") or {}
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise InvalidParameterValue("Environment.Variables must map names to string values")
    for key in variables:
        if not isinstance(key, str) or not _ENV_KEY.match(key):
            raise constraint(key, "environment.variables", "Member must satisfy regular expression pattern: "
                              "[a-zA-Z]([a-zA-Z0-9_])+")  # fmt: skip
    reserved = reserved_keys_used(variables)
    if reserved:
        raise InvalidParameterValue(
            "Lambda was unable to configure your environment variables because the environment variables you "
            "have provided contains reserved keys that are currently not supported for modification. "
            f"Reserved keys used in this request: {', '.join(reserved)}"
        )
    if OUTBOUND_VARIABLE in variables and switch(variables[OUTBOUND_VARIABLE]) is None:
        raise InvalidParameterValue(f"{OUTBOUND_VARIABLE} must be on or off, not {variables[OUTBOUND_VARIABLE]!r}")
    size = sum(len(k.encode()) + len(v.encode()) for k, v in variables.items())
    if size > ENV_MAX_BYTES:
        raise InvalidParameterValue(
            "Lambda was unable to configure your environment variables because the environment variables you "
            f"have provided exceeded the 4KB limit. String measured: {size} bytes"
        )
    return dict(variables)


def dead_letter_target(value: object, *, removable: bool) -> str | None:
    """DeadLetterConfig's TargetArn: an SQS queue or SNS topic ARN; an empty one removes the target on an
    update (``removable``) and is refused on a create, as AWS does."""
    if not isinstance(value, dict):
        raise InvalidParameterValue("DeadLetterConfig must be an object: {\"TargetArn\": <SQS queue or SNS topic ARN>}")
    arn = value.get("TargetArn") or ""
    if not isinstance(arn, str) or len(arn) > 10000 or not _RESOURCE_ARN.match(arn):
        raise constraint(arn, "deadLetterConfig.targetArn", "Member must satisfy regular expression pattern: "
                          "(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()")  # fmt: skip
    if not arn and removable:
        return None
    if not arn.startswith("arn:"):
        raise InvalidParameterValue("Invalid dead letter queue ARN: ARNs must start with 'arn:'")
    if not _DEAD_LETTER_ARN.match(arn):
        raise InvalidParameterValue(
            f"Invalid dead letter queue ARN: {arn}: the target must be an Amazon SQS queue or Amazon SNS topic "
            "(arn:aws:sqs:<region>:<account>:<queue> or arn:aws:sns:<region>:<account>:<topic>)"
        )
    return arn


def architectures(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) != 1 or value[0] not in ("x86_64", "arm64"):
        raise constraint(value, "architectures", "Member must have length 1 and satisfy enum value set: "
                          "[x86_64, arm64]")  # fmt: skip
    return (str(value[0]),)


def string(body: Mapping[str, object], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidParameterValue(f"{key} must be a string")
    return value
