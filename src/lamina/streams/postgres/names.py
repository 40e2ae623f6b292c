"""Names the reader deals in (pure): the tables a mapping's Topics name, and what it names in the
database after the mapping (its publication and replication slot).

Only plain identifiers are accepted ("schema.table" or "table", meaning schema ``public``; letters,
digits and underscores, not starting with a digit, at most 63 bytes each), taken exactly as written
(so ``Orders`` is the table created as ``"Orders"``). Anything else is refused before any SQL
is built; the SQL still quotes every identifier (``psycopg.sql.Identifier``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from lamina.streams.change import ChangesUnavailable

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_MAX_IDENTIFIER = 63  # NAMEDATALEN - 1
PREFIX = "lamina_"


@dataclass(frozen=True, slots=True)
class TableName:
    topic: str  # as the mapping's Topics name it
    schema: str
    name: str

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


def parse_table(topic: str) -> TableName:
    """``topic`` as a table name; ChangesUnavailable when it is not plain."""
    parts = topic.split(".")
    if len(parts) == 1:
        parts = ["public", parts[0]]
    if len(parts) != 2 or not all(_PLAIN.fullmatch(part) for part in parts):
        shown = topic if len(topic) <= 200 else topic[:200] + "..."
        raise ChangesUnavailable(
            f"Table name {shown!r} is not a plain schema.table name (letters, digits and underscores, "
            "not starting with a digit, at most 63 characters each)"
        )
    return TableName(topic, parts[0], parts[1])


def object_name(name: str) -> str:
    """The publication's and replication slot's name for the mapping ``name``: ``lamina_`` and the
    name in lower case with anything but letters, digits and underscores as ``_`` (what a slot's name
    may hold), shortened with a hash of the whole when it would pass 63 characters."""
    cleaned = re.sub(r"[^a-z0-9_]", "_", name.lower())
    full = PREFIX + cleaned
    if len(full) <= _MAX_IDENTIFIER:
        return full
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return full[: _MAX_IDENTIFIER - len(digest) - 1] + "_" + digest
