"""Custom runtimes (``provided.al2023``, ``provided.al2``, ``provided``): the package's own
``bootstrap`` executable speaks the Runtime API (Go's aws-lambda-go, AWS's runtime interface
clients, a shell script...)."""

from __future__ import annotations

from typing import Mapping

from lamina.runtime.families import Missing, Runtime, runtime_of

NAMES = frozenset({"provided", "provided.al2", "provided.al2023"})


def owns(name: str) -> bool:
    return name in NAMES


def find(name: str, overrides: Mapping[str, str]) -> Runtime | Missing | None:
    """Always here: the package brings its own runtime."""
    if name not in NAMES:
        return None
    # Lambda's /var/runtime is there, and empty, for a custom runtime; without a sandbox it is the code's.
    return Runtime(name, "provided", ("{task_root}/bootstrap",))


def resolve(name: str, overrides: Mapping[str, str]) -> Runtime | None:
    return runtime_of(find(name, overrides))
