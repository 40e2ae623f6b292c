"""Whether a function's environments may fork from a fork server, or must start a fresh process.

A Python environment forks from a zygote of its interpreter (``sandbox/forkserver.py``) that was
started, and imported the runtime, before the function's variables existed. Most of them are read
when they are used, and so take effect in the child all the same: ``PYTHONPATH`` (the runtime puts
it on ``sys.path``), ``TZ`` (the child calls ``time.tzset()``), ``PYTHONDONTWRITEBYTECODE``,
``AWS_*``, anything the function's code reads. Some are read once, when a process starts: by the
dynamic loader and the C library (``LD_PRELOAD``, ``LD_LIBRARY_PATH``, ``GLIBC_TUNABLES``,
``MALLOC_*``), by the interpreter (``PYTHONWARNINGS``, ``PYTHONHASHSEED``, ``PYTHONUTF8`` ...) or for
its locale (``LANG``, ``LC_ALL``, ``LC_CTYPE``). A child cannot change what its parent was started
with, so a function that sets one of those starts each environment the slow way, as a fresh
interpreter (docs/runtimes/python.md measures the cost). Other runtimes always start a fresh
process (a fork server's child execs them), so every variable takes effect there.

A wrapper script (``AWS_LAMBDA_EXEC_WRAPPER``, AWS's "Modifying the runtime environment") is such
a variable too: it is handed the runtime's whole command and runs it, so a Python function with
one starts a fresh interpreter under it (``wrapped``). Node.js's and Java's bootstraps exec their
runtime under it themselves.

Pure: a decision on the configuration's values.
"""

from __future__ import annotations

from typing import Mapping

# Read by the dynamic loader and the C library when a process starts.
LOADER_VARIABLES = frozenset({"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_BIND_NOW", "LD_AUDIT", "GLIBC_TUNABLES"})
LOADER_PREFIXES = ("MALLOC_",)
LOCALE_VARIABLES = frozenset({"LANG", "LC_ALL", "LC_CTYPE"})
# PYTHON* variables the interpreter reads later, or that the fork server and the runtime apply to the
# child: every other one is read at interpreter start-up.
PYTHON_READ_LATER = frozenset({
    "PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONBREAKPOINT", "PYTHONASYNCIODEBUG",
    "PYTHONSTARTUP",
})  # fmt: skip


EXEC_WRAPPER = "AWS_LAMBDA_EXEC_WRAPPER"
# The families whose command Lamina puts under the wrapper (the others' bootstraps do it themselves;
# a custom runtime's bootstrap is the function's own).
WRAPPED_BY_LAMINA = frozenset({"python", "ruby", "dotnet"})


def read_at_start(family: str, name: str) -> bool:
    """Whether a runtime of ``family`` reads ``name`` only when its process starts, before a fork
    server's child could set it."""
    if family != "python":
        return False
    if name == EXEC_WRAPPER or name in LOADER_VARIABLES or name in LOCALE_VARIABLES or name.startswith(LOADER_PREFIXES):
        return True
    return name.startswith("PYTHON") and name not in PYTHON_READ_LATER


def needs_fresh_process(family: str, variables: Mapping[str, str]) -> list[str]:
    """The function's variables (``variables``, its configuration's) that a forked environment
    could not honour, sorted; empty when its environments may fork from a fork server."""
    return sorted(name for name in variables if read_at_start(family, name))


def wrapped(family: str, variables: Mapping[str, str], argv: list[str]) -> list[str]:
    """The runtime's command ``argv`` under the function's wrapper script, if it names one and
    Lamina starts that family's runtime itself; else ``argv`` as it is."""
    wrapper = variables.get(EXEC_WRAPPER, "")
    return [wrapper, *argv] if wrapper and family in WRAPPED_BY_LAMINA else argv
