"""Identifiers Lamina makes up per request: request ids (UUID version 4, as Lambda's) and X-Ray
trace ids. They must be unique, not secret, so they come from a pseudo-random generator seeded
once from the operating system rather than from a system call per id (measurable on the invoke path).
"""

from __future__ import annotations

import random
import time
import uuid

_random = random.Random()  # seeded from os.urandom


def request_id() -> str:
    return str(uuid.UUID(int=_random.getrandbits(128), version=4))


def trace_root() -> str:
    """An X-Ray trace id's root: ``1-<epoch seconds, hex>-<96 random bits, hex>``."""
    return f"1-{int(time.time()):08x}-{_random.getrandbits(96):024x}"


def trace_id() -> str:
    """A whole ``_X_AMZN_TRACE_ID`` value for a new, unsampled trace."""
    return f"Root={trace_root()};Parent={_random.getrandbits(64):016x};Sampled=0;Lineage=1"
