"""Broker URLs shown in errors and logs without their passwords (pure)."""

from __future__ import annotations

import re

_PASSWORD = re.compile(r"(//[^:/@]*:)[^@]*@")


def without_password(url: str) -> str:
    """``url`` with any password replaced by ``***`` (``amqp://user:***@host``)."""
    return _PASSWORD.sub(r"\1***@", url)
