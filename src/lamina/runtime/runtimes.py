"""Which Lambda runtimes this host can run: runtime names resolved through the runtime families.

Each family (``runtime/families/``) owns some runtime names and finds what it needs on the host.
The registry remembers each answer. A runtime found is kept while the files it needs are there
(a few ``stat`` calls when an environment is created, never on an invocation that reuses one);
when one is gone the runtime is looked for again. A runtime not found is looked for again once
its answer is ``recheck_seconds`` old, so that a toolchain installed while Lamina runs
(``apt-get install ruby``, ``scripts/install/java.sh``) is found by the next CreateFunction
without a restart, while a function whose runtime is missing costs no probing on every attempt.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Callable, Mapping

from lamina.errors import InvalidParameterValue, InvalidRuntime, ValidationError
from lamina.runtime.families import Missing, Runtime, dotnet, java, nodejs, provided, python, ruby
from lamina.runtime.names import LAMBDA_RUNTIMES
from lamina.runtime.report import RuntimeReport, report_of, unavailable_message

__all__ = ["LAMBDA_RUNTIMES", "Runtime", "RuntimeRegistry"]

log = logging.getLogger(__name__)

FAMILIES: tuple[ModuleType, ...] = (python, provided, ruby, dotnet, java, nodejs)

# How a runtime is looked for: a name and the interpreters the settings name -> the answer.
Finder = Callable[[str, Mapping[str, str]], "Runtime | Missing | None"]


def find(name: str, overrides: Mapping[str, str]) -> Runtime | Missing | None:
    """The family's answer for ``name`` (None: no family owns it)."""
    family = next((f for f in FAMILIES if f.owns(name)), None)
    found: Runtime | Missing | None = family.find(name, overrides) if family else None
    return found


@dataclass(frozen=True)
class _Answer:
    found: Runtime | Missing
    at: float  # the clock's time when it was found


class RuntimeRegistry:
    """Resolves runtime names to ``Runtime``s; thread-safe (each name looked for by one thread at a time)."""

    def __init__(
        self, interpreters: Mapping[str, str] | None = None, *, recheck_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic, finder: Finder = find,
    ) -> None:  # fmt: skip
        self._overrides = dict(interpreters or {})
        self._recheck = recheck_seconds
        self._clock = clock
        self._find = finder
        self._answers: dict[str, _Answer] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def lookup(self, name: str) -> Runtime | Missing:
        """The runtime for ``name``, or what this host lacks for it; looks again when the answer
        is a missing runtime's and old, or a runtime's whose files are gone."""
        answer = self._answers.get(name)
        if answer is not None and self._current(answer):
            return answer.found
        with self._lock(name):
            answer = self._answers.get(name)
            if answer is not None and self._current(answer):
                return answer.found
            found = self._find(name, self._overrides) or Missing(f"a runtime for {name}", "none: Lamina has no family for it")
            self._announce(name, answer.found if answer else None, found)
            self._answers[name] = _Answer(found, self._clock())
            return found

    def _current(self, answer: _Answer) -> bool:
        if isinstance(answer.found, Runtime):
            return answer.found.present()
        return self._clock() - answer.at < self._recheck

    def _lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def _announce(self, name: str, before: Runtime | Missing | None, now: Runtime | Missing) -> None:
        """Log what changed: a runtime found (with its mismatch and note), or gone."""
        if isinstance(now, Runtime):
            if not isinstance(before, Runtime) or before != now:
                on = f" on {now.interpreter} ({now.version})" if now.interpreter else ""
                log.info("runtime %s found%s", name, on)
            if now.mismatch and before != now:
                log.warning("%s", now.mismatch)
            if now.note and before != now:
                log.warning("runtime %s: %s", name, now.note)
        elif isinstance(before, Runtime):
            log.warning("runtime %s went away: %s", name, now.sentence())

    def available(self) -> list[str]:
        return [name for name in LAMBDA_RUNTIMES if isinstance(self.lookup(name), Runtime)]

    def report(self) -> list[RuntimeReport]:
        """Every runtime Lambda has, as this host runs it (or why it cannot): ``lamina runtimes``."""
        return [report_of(name, self.lookup(name)) for name in LAMBDA_RUNTIMES]

    def get(self, name: str, *, invoking: bool = False) -> Runtime:
        """The runtime for ``name``; a clear API error if Lambda has no such runtime or this host lacks
        it: what is missing and the command that installs it, in CreateFunction's and
        UpdateFunctionConfiguration's InvalidParameterValueException with the runtimes this host has
        (finding those may probe every interpreter: not from the event loop); ``invoking`` (an
        environment's start), in Invoke's InvalidRuntimeException, as AWS answers an invocation of a
        function whose runtime it no longer runs."""
        if name not in LAMBDA_RUNTIMES:
            raise ValidationError(
                f"1 validation error detected: Value '{name}' at 'runtime' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(LAMBDA_RUNTIMES)}]"
            )
        found = self.lookup(name)
        if isinstance(found, Missing):
            if invoking:
                raise InvalidRuntime(unavailable_message(name, found))
            raise InvalidParameterValue(unavailable_message(name, found, self.available()))
        return found
