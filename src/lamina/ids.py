"""Identifiers Lamina makes up per request: request ids (UUID version 4, as Lambda's) and X-Ray
trace ids. They must be unique, not secret, so they come from a pseudo-random generator seeded
once from the operating system rather than from a system call per id (measurable on the invoke path).
"""

from __future__ import annotations

import random
import time

_random = random.Random()  # seeded from os.urandom


_VERSION_4 = 0x4000 << 64  # the version nibble, 4
_VARIANT = 0x8000 << 48  # the RFC 4122 variant bits, 10
_FIXED = (0xF000 << 64) | (0xC000 << 48)


def request_id() -> str:
    """What ``str(uuid.UUID(int=<random>, version=4))`` gives, without building a ``UUID``."""
    h = f"{_random.getrandbits(128) & ~_FIXED | _VERSION_4 | _VARIANT:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def trace_root() -> str:
    """An X-Ray trace id's root: ``1-<epoch seconds, hex>-<96 random bits, hex>``."""
    return f"1-{int(time.time()):08x}-{_random.getrandbits(96):024x}"


def trace_id(now: float | None = None, *, sampled: bool = False) -> str:
    """A whole ``_X_AMZN_TRACE_ID`` value for a new trace, unsampled unless ``sampled`` (a function
    whose TracingConfig is Active) (``now``: the epoch time, if the caller has read it already).
    One random draw: 96 bits of root, 64 of parent."""
    bits = _random.getrandbits(160)
    seconds = int(time.time() if now is None else now)
    return (
        f"Root=1-{seconds:08x}-{bits >> 64:024x};Parent={bits & 0xFFFFFFFFFFFFFFFF:016x};"
        f"Sampled={int(sampled)};Lineage=1"
    )
