"""RuntimeVersionConfig's RuntimeVersionArn: which build of a runtime a function runs.

Lambda names each runtime build ``arn:aws:lambda:<region>::runtime:<64 hex>``. Lamina's runtimes are
the interfaces it ships (runtime/python, runtime/nodejs, ...) on the host's interpreters, so its
build of a runtime is named by the runtime identifier and Lamina's version: the same for every
function on that runtime until Lamina changes (pure).
"""

from __future__ import annotations

import hashlib

from lamina import __version__


def runtime_version_arn(region: str, runtime: str, build: str = __version__) -> str:
    digest = hashlib.sha256(f"{runtime}\n{build}".encode()).hexdigest()
    return f"arn:aws:lambda:{region}::runtime:{digest}"
