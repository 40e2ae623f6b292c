"""Constraint violations counted as AWS counts them, and the runtimes Lambda no longer takes (pure).

AWS checks a request's members against its model all at once and names every violation in one
``ValidationException``: ``2 validation errors detected: Value 'x y' at 'functionName' failed to
satisfy constraint: ...; Value 'cobol' at 'runtime' failed to satisfy constraint: ...``, in the
order of the model's members. ``Violation`` is one of them (a ``ValidationError`` on its own, so a
single check raises it as it is); ``collect`` runs a request's checks in order and raises them all.
"""

from __future__ import annotations

import re
from typing import Callable, TypeVar

from lamina.errors import InvalidParameterValue, ValidationError
from lamina.runtime.names import LAMBDA_RUNTIMES, MODEL_RUNTIMES

T = TypeVar("T")

# Runtimes botocore's enum still names that Lambda refuses for new or updated functions.
DEPRECATED_RUNTIMES: frozenset[str] = frozenset({
    "nodejs", "nodejs4.3", "nodejs4.3-edge", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x", "nodejs14.x",
    "nodejs16.x", "java8", "python2.7", "python3.6", "python3.7", "python3.8", "dotnetcore1.0", "dotnetcore2.0",
    "dotnetcore2.1", "dotnetcore3.1", "dotnet6", "go1.x", "ruby2.5", "ruby2.7",
})  # fmt: skip
# Which current runtime Lambda recommends in place of a deprecated one's family.
_FAMILY = re.compile(r"^(nodejs|java|python|dotnet|ruby|go|provided)")
_SUCCESSOR_FAMILY = {"go": "provided"}


class Violation(ValidationError):
    """One member's broken constraint: ``Value '<value>' at '<field>' failed to satisfy constraint: <rule>``."""

    def __init__(self, value: object, field: str, rule: str) -> None:
        shown = "null" if value is None else f"'{value}'"  # a missing member, as AWS shows it
        self.part = f"Value {shown} at '{field}' failed to satisfy constraint: {rule}"
        super().__init__(f"1 validation error detected: {self.part}")


class Violations(ValidationError):
    """Several violations named at once, counted ("2 validation errors detected: ...; ...")."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        parts = "; ".join(v.part for v in violations)
        super().__init__(f"{len(violations)} validation errors detected: {parts}")


def combined(violations: list[Violation]) -> ValidationError:
    """One ``ValidationException`` naming every violation, counted ("1 validation error", "2 ... errors")."""
    return violations[0] if len(violations) == 1 else Violations(violations)


class Checks:
    """A request's checks run in the model's order; ``done`` raises every violation found, at once."""

    def __init__(self) -> None:
        self.violations: list[Violation] = []

    def check(self, run: Callable[[], T]) -> T | None:
        try:
            return run()
        except Violation as violation:
            self.violations.append(violation)
            return None
        except Violations as several:
            self.violations.extend(several.violations)
            return None

    def add(self, violations: list[Violation]) -> None:
        """Violations a check found together (a member breaking its length and its pattern)."""
        self.violations.extend(violations)

    def done(self) -> None:
        if self.violations:
            raise combined(self.violations)


def runtime(value: object) -> str:
    """A runtime identifier as the model checks it: one of its enum (else ``Violation``)."""
    if not isinstance(value, str) or value not in MODEL_RUNTIMES:
        raise Violation(value, "runtime", f"Member must satisfy enum value set: [{', '.join(MODEL_RUNTIMES)}]")
    return value


def check_supported(runtime: str) -> None:
    """After the model's checks: ``InvalidParameterValue`` for a runtime Lambda has deprecated."""
    if runtime in DEPRECATED_RUNTIMES:
        raise InvalidParameterValue(
            f"The runtime parameter of {runtime} is no longer supported for creating or updating AWS Lambda "
            f"functions. We recommend you use the new runtime ({successor(runtime)}) while creating or updating "
            "functions."
        )


def successor(deprecated: str) -> str:
    """The newest current runtime of ``deprecated``'s family (Go's and custom ones: provided.al2023)."""
    match = _FAMILY.match(deprecated)
    family = match[1] if match else "provided"
    family = _SUCCESSOR_FAMILY.get(family, family)
    current = [name for name in LAMBDA_RUNTIMES if name.startswith(family)]
    return current[-1] if current else "provided.al2023"
