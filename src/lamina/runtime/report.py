"""What this host runs each Lambda runtime on, as values: the answers of ``GET /lamina/v1/runtimes``
and ``lamina runtimes``, and the "runtime not available" message (all pure).

A runtime is either available (its interpreter's path and version, and a warning when that version
is not the one AWS runs for the name) or not (what is missing, what was found instead, and the
command that installs it).
"""

from __future__ import annotations

from typing import Required, Sequence, TypedDict

from lamina.runtime.families import Missing, Runtime

# Where ``lamina runtimes`` and the error point a user who wants the whole picture.
LISTING_HINT = "`lamina runtimes` lists what this host runs."


class RuntimeReport(TypedDict, total=False):
    runtime: Required[str]  # "python3.12"
    available: Required[bool]
    family: str  # "python" (available ones)
    interpreter: str  # its real path ("" for a custom runtime: the package's bootstrap)
    version: str  # "3.12.1", "20.20.2", "Mono 6.8.0.105"
    warning: str  # the version is not AWS's for this name
    missing: str  # what is missing (unavailable ones)
    found: str  # what was found instead, or what an override names
    install: str  # the command that installs it


def report_of(name: str, found: Runtime | Missing) -> RuntimeReport:
    if isinstance(found, Missing):
        report: RuntimeReport = {"runtime": name, "available": False, "missing": found.what, "install": found.install}
        if found.found:
            report["found"] = found.found
        return report
    report = {"runtime": name, "available": True, "family": found.family, "interpreter": found.interpreter,
              "version": found.version}  # fmt: skip
    if found.mismatch:
        report["warning"] = found.mismatch
    return report


def unavailable_message(name: str, missing: Missing, available: Sequence[str] | None = None) -> str:
    """The InvalidParameterValueException message of CreateFunction, UpdateFunctionConfiguration and
    an invocation when ``name`` cannot run here (with the runtimes it can run, when they are known)."""
    others = f" Available runtimes: {', '.join(available) or 'none'}." if available is not None else ""
    return f"The runtime {name} is not available on this Lamina host: {missing.sentence()}.{others} {LISTING_HINT}"
