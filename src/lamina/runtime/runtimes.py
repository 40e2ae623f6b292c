"""Which Lambda runtimes this host can run: runtime names resolved through the runtime families.

Each family (``runtime/families/``) owns some runtime names and finds what it needs on the host;
the registry asks each once per name and remembers the answer.
"""

from __future__ import annotations

import threading
from types import ModuleType
from typing import Mapping

from lamina.errors import InvalidParameterValue, ValidationError
from lamina.runtime.families import Runtime, dotnet, java, nodejs, provided, python, ruby
from lamina.runtime.names import LAMBDA_RUNTIMES
from lamina.settings import runtime_variable

__all__ = ["LAMBDA_RUNTIMES", "Runtime", "RuntimeRegistry"]


FAMILIES: tuple[ModuleType, ...] = (python, provided, ruby, dotnet, java, nodejs)


class RuntimeRegistry:
    """Resolves runtime names to ``Runtime``s; thread-safe, each name resolved once."""

    def __init__(self, interpreters: Mapping[str, str] | None = None) -> None:
        self._overrides = dict(interpreters or {})
        self._cache: dict[str, Runtime | None] = {}
        self._lock = threading.Lock()

    def _resolve(self, name: str) -> Runtime | None:
        with self._lock:
            if name not in self._cache:
                family = next((f for f in FAMILIES if f.owns(name)), None)
                self._cache[name] = family.resolve(name, self._overrides) if family else None
            return self._cache[name]

    def available(self) -> list[str]:
        return [name for name in LAMBDA_RUNTIMES if self._resolve(name) is not None]

    def get(self, name: str) -> Runtime:
        """The runtime for ``name``; a clear API error if Lambda has no such runtime or this host lacks it."""
        if name not in LAMBDA_RUNTIMES:
            raise ValidationError(
                f"1 validation error detected: Value '{name}' at 'runtime' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(LAMBDA_RUNTIMES)}]"
            )
        runtime = self._resolve(name)
        if runtime is None:
            raise InvalidParameterValue(
                f"The runtime {name} is not available on this Lamina host (no interpreter for it was found). "
                f"Available runtimes: {', '.join(self.available()) or 'none'}. Install it, or point "
                f"{runtime_variable(name)} at its executable."
            )
        return runtime
