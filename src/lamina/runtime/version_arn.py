"""A runtime's version: its RuntimeVersionConfig's RuntimeVersionArn, and the version name the
``INIT_START`` log line gives with it.

Lambda names each runtime build ``arn:aws:lambda:<region>::runtime:<64 hex>`` and numbers it
``<language>:<release>.v<N>`` (``python:3.12.v38``, ``nodejs:20.v25``, ``provided:al2023.v85``).
Lamina's runtimes are the interfaces it ships (runtime/python, runtime/nodejs, ...) on the host's
interpreters, so its build of a runtime is named by the runtime identifier and Lamina's version:
the same for every function on that runtime until Lamina changes, and numbered by Lamina's version
(``major * 10000 + minor * 100 + patch``: 0.1.0 is v100, and it grows with each release) (pure).
"""

from __future__ import annotations

import hashlib
import re

from lamina import __version__

# A runtime identifier's language and release: python3.12, nodejs20.x, java8.al2, dotnet8,
# ruby3.3, provided.al2023, provided.
_IDENTIFIER = re.compile(r"^(python|nodejs|java|dotnet|ruby|provided)\.?(.*?)(\.x)?$")


def runtime_version_arn(region: str, runtime: str, build: str = __version__) -> str:
    digest = hashlib.sha256(f"{runtime}\n{build}".encode()).hexdigest()
    return f"arn:aws:lambda:{region}::runtime:{digest}"


def runtime_version_name(runtime: str, build: str = __version__) -> str:
    """The runtime version as Lambda names it in ``INIT_START``: ``python3.12`` -> ``python:3.12.v<N>``."""
    match = _IDENTIFIER.match(runtime)
    language, release = (match.group(1), match.group(2)) if match else (runtime, "")
    numbers = [int(part) if part.isdigit() else 0 for part in (build.split("+")[0].split(".") + ["0", "0"])[:3]]
    number = numbers[0] * 10000 + numbers[1] * 100 + numbers[2]
    return f"{language}:{release}.v{number}" if release else f"{language}:v{number}"
