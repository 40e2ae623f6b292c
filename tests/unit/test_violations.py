"""Constraint violations counted and worded as AWS's, and deprecated runtimes (pure)."""

from __future__ import annotations

import pytest

from lamina.control import validation as v
from lamina.control import violations as vs
from lamina.errors import InvalidParameterValue, ValidationError


def test_one_violation_is_raised_as_it_is() -> None:
    checks = vs.Checks()
    assert checks.check(lambda: v.function_name("ok")) == "ok"
    checks.check(lambda: v.function_name("not ok"))
    with pytest.raises(ValidationError) as raised:
        checks.done()
    assert raised.value.message.startswith("1 validation error detected: Value 'not ok' at 'functionName' failed "
                                           "to satisfy constraint: Member must satisfy regular expression pattern: "
                                           "(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?")  # fmt: skip


def test_several_violations_are_counted_and_joined_in_order() -> None:
    checks = vs.Checks()
    checks.check(lambda: v.function_name("x" * 65))
    checks.check(lambda: vs.runtime("cobol"))
    with pytest.raises(ValidationError) as raised:
        checks.done()
    first, second = raised.value.message.split("; ")
    assert first == (f"2 validation errors detected: Value '{'x' * 65}' at 'functionName' failed to satisfy "
                     "constraint: Member must have length less than or equal to 64")  # fmt: skip
    assert second.startswith("Value 'cobol' at 'runtime' failed to satisfy constraint: Member must satisfy enum "
                             "value set: [nodejs, nodejs4.3, ")  # fmt: skip


def test_no_violation_raises_nothing() -> None:
    vs.Checks().done()


@pytest.mark.parametrize(("value", "rule"), [
    ("", "Member must have length greater than or equal to 1"),
    ("a" * 141, "Member must have length less than or equal to 140"),
    ("a" * 65, "Member must have length less than or equal to 64"),
    ("with.dot", "Member must satisfy regular expression pattern: " + v.FUNCTION_NAME_PATTERN),
])  # fmt: skip
def test_function_names(value: str, rule: str) -> None:
    with pytest.raises(vs.Violation) as raised:
        v.function_name(value)
    assert raised.value.part == f"Value '{value}' at 'functionName' failed to satisfy constraint: {rule}"


@pytest.mark.parametrize(("runtime", "successor"), [
    ("python2.7", "python3.14"), ("python3.8", "python3.14"), ("nodejs16.x", "nodejs24.x"),
    ("dotnetcore3.1", "dotnet10"), ("go1.x", "provided.al2023"), ("ruby2.7", "ruby3.4"), ("java8", "java25"),
])  # fmt: skip
def test_deprecated_runtimes_name_a_successor(runtime: str, successor: str) -> None:
    assert vs.runtime(runtime) == runtime
    with pytest.raises(InvalidParameterValue) as raised:
        vs.check_supported(runtime)
    assert raised.value.message == (
        f"The runtime parameter of {runtime} is no longer supported for creating or updating AWS Lambda functions. "
        f"We recommend you use the new runtime ({successor}) while creating or updating functions."
    )


def test_current_runtimes_pass() -> None:
    vs.check_supported(vs.runtime("python3.12"))


@pytest.mark.parametrize(("shape", "value", "expected"), [
    (v.NAMESPACED, "with.dot", ("with.dot", None)),
    (v.NAMESPACED, "f:$LATEST.PUBLISHED", ("f", "$LATEST.PUBLISHED")),
    (v.NAMESPACED, "a" * 256, ("a" * 256, None)),
    (v.FUNCTION_NAME, "a" * 140, ("a" * 140, None)),
    (v.URL, "arn:aws:lambda:us-east-1:123456789012:function:f:live", ("f", "live")),
    (v.UNQUALIFIED, "123456789012:function:f", ("f", None)),
])  # fmt: skip
def test_names_each_shape_lets_through(shape: v.NameShape, value: str, expected: tuple[str, str | None]) -> None:
    assert v.function_identifier(value, shape) == expected


@pytest.mark.parametrize(("shape", "value", "rules"), [
    (v.FUNCTION_NAME, "with.dot", ["pattern"]),
    (v.FUNCTION_NAME, "a" * 141, ["length 140"]),
    (v.NAMESPACED, "a" * 257, ["length 256"]),
    (v.NAMESPACED, "b c" * 86, ["length 256", "pattern"]),
    (v.URL, "u" * 65, ["pattern"]),
    (v.URL, "f:1", ["pattern"]),
    (v.UNQUALIFIED, "f:live", ["pattern"]),
    (v.FUNCTION_NAME, "f:a:b", ["pattern"]),
])  # fmt: skip
def test_names_each_shape_refuses(shape: v.NameShape, value: str, rules: list[str]) -> None:
    words = {"pattern": f"Member must satisfy regular expression pattern: {shape.pattern}",
             "length 140": "Member must have length less than or equal to 140",
             "length 256": "Member must have length less than or equal to 256"}  # fmt: skip
    parts = [f"Value '{value}' at 'functionName' failed to satisfy constraint: {words[rule]}" for rule in rules]
    with pytest.raises(ValidationError) as raised:
        v.function_identifier(value, shape)
    count = "1 validation error" if len(parts) == 1 else f"{len(parts)} validation errors"
    assert raised.value.message == f"{count} detected: {'; '.join(parts)}"


def test_a_qualifier_is_checked_with_its_function_name() -> None:
    with pytest.raises(ValidationError) as raised:
        v.function_identifier("f", v.NAMESPACED, "")
    assert raised.value.message == (
        "2 validation errors detected: Value '' at 'qualifier' failed to satisfy constraint: Member must have length "
        "greater than or equal to 1; Value '' at 'qualifier' failed to satisfy constraint: Member must satisfy "
        f"regular expression pattern: {v.NAMESPACED.qualifier_pattern}")  # fmt: skip
    assert v.function_identifier("f", v.FUNCTION_NAME, "7") == ("f", None)


def test_a_missing_member_is_shown_as_null() -> None:
    with pytest.raises(vs.Violation) as raised:
        v.required(None, "code")
    assert raised.value.part == "Value null at 'code' failed to satisfy constraint: Member must not be null"
    v.required({}, "code")


def test_code_sources_name_their_members_in_the_model_order() -> None:
    found = v.code_source({"S3ObjectStorageMode": "MOVE", "S3Key": "k" * 1025, "S3Bucket": "ok-bucket"}, "code.")
    assert [violation.part for violation in found] == [
        "Value '" + "k" * 1025 + "' at 'code.s3Key' failed to satisfy constraint: Member must have length less than "
        "or equal to 1024",
        "Value 'MOVE' at 'code.s3ObjectStorageMode' failed to satisfy constraint: Member must satisfy enum value set: "
        "[COPY, REFERENCE]",
    ]  # fmt: skip
    assert v.code_source({"S3Bucket": "my-bucket", "S3Key": "k", "S3ObjectVersion": "1"}) == []
    assert [x.part for x in v.kms_key_arn("key", "sourceKMSKeyArn")] == [
        "Value 'key' at 'sourceKMSKeyArn' failed to satisfy constraint: Member must satisfy regular expression "
        f"pattern: {v.KMS_KEY_ARN_PATTERN}"]  # fmt: skip


def test_a_check_naming_several_violations_adds_them_all() -> None:
    checks = vs.Checks()
    checks.check(lambda: v.function_identifier("b c" * 86, v.NAMESPACED))
    checks.check(lambda: vs.runtime("cobol"))
    with pytest.raises(ValidationError) as raised:
        checks.done()
    assert raised.value.message.startswith("3 validation errors detected: Value '" + "b c" * 86 + "' at 'functionName'")
    assert len(raised.value.message.split("; Value ")) == 3
