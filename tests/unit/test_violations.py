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
