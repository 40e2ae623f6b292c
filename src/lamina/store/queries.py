"""Named SQL: each aggregate's statements in a ``.sql`` file of its dialect, read once at import.

A file (``store/sql/<dialect>/<aggregate>.sql``) is a header of comments, then blocks::

    -- name: get_function
    SELECT config FROM functions WHERE name = ?

A block runs from its ``-- name:`` line to the next one (or the end of the file); its text, trimmed,
is the statement (comments inside it are kept: the database ignores them). ``load`` binds a file to
a frozen dataclass whose fields are ``str``, one per statement, so that callers read
``SQL.get_function`` and mypy checks the name: a statement the dataclass names and the file lacks, one
the file has twice, or one the file has and the dataclass does not name, fails the import of the
module that loads it, never a request. Parsing is pure (``parse``, ``bind``); ``load`` only reads.
"""

from __future__ import annotations

import dataclasses
import re
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Q = TypeVar("Q", bound="DataclassInstance")

# A statement file is ours, shipped with the package; anything this large is not one of them.
MAX_FILE_BYTES = 256 * 1024
_NAME_LINE = re.compile(r"^--\s*name:\s*(?P<name>.*?)\s*$")
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
_PART = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class QueryFileError(ValueError):
    """A statement file that cannot be bound: malformed, or not matching its dataclass."""


def parse(text: str, source: str) -> dict[str, str]:
    """The statements of a file's ``text``, by name (``source`` names it in errors)."""
    if len(text.encode()) > MAX_FILE_BYTES:
        raise QueryFileError(f"{source}: larger than {MAX_FILE_BYTES} bytes")
    if "\x00" in text:
        raise QueryFileError(f"{source}: holds a NUL character")
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        found = _NAME_LINE.match(line)
        if found is not None:
            name = found["name"]
            if not _NAME.match(name):
                raise QueryFileError(f"{source}:{number}: {name!r} is not a statement name")
            if name in blocks:
                raise QueryFileError(f"{source}:{number}: {name!r} is named twice")
            current = blocks[name] = []
        elif current is not None:
            current.append(line)
        elif line.strip() and not line.lstrip().startswith("--"):
            raise QueryFileError(f"{source}:{number}: a statement before any '-- name:' line")
    statements = {name: "\n".join(lines).strip() for name, lines in blocks.items()}
    for name, sql in statements.items():
        if not _without_comments(sql):
            raise QueryFileError(f"{source}: {name!r} is empty")
    return statements


def bind(shape: type[Q], statements: dict[str, str], source: str) -> Q:
    """``statements`` as an instance of ``shape`` (a dataclass of ``str`` fields), which must name
    exactly the statements there are."""
    fields = [field.name for field in dataclasses.fields(shape)]
    missing = sorted(set(fields) - set(statements))
    unknown = sorted(set(statements) - set(fields))
    if missing:
        raise QueryFileError(f"{source}: no statement named {', '.join(missing)}")
    if unknown:
        raise QueryFileError(f"{source}: {', '.join(unknown)} not named by {shape.__name__}")
    values: dict[str, Any] = {name: statements[name] for name in fields}
    return shape(**values)


def load(shape: type[Q], dialect: str, aggregate: str) -> Q:
    """The statements of ``store/sql/<dialect>/<aggregate>.sql`` bound to ``shape``."""
    if not _PART.match(dialect) or not _PART.match(aggregate):
        raise QueryFileError(f"not a statement file: {dialect}/{aggregate}")
    source = f"{dialect}/{aggregate}.sql"
    entry = resources.files("lamina.store") / "sql" / dialect / f"{aggregate}.sql"
    data = entry.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise QueryFileError(f"{source}: larger than {MAX_FILE_BYTES} bytes")
    try:
        text = data.decode()
    except UnicodeDecodeError as exc:
        raise QueryFileError(f"{source}: not UTF-8") from exc
    return bind(shape, parse(text, source), source)


def _without_comments(sql: str) -> str:
    return "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--")).strip()
