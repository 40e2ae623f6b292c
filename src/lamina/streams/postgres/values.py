"""Column values as pgoutput sends them (text, as the column's type prints it) turned into Python
values (pure).

The reader's session fixes how types print (``bytea_output = hex``, ``DateStyle = ISO``,
``TimeZone = UTC``), so the text here is always in those forms. Types not listed stay the text
PostgreSQL printed (text, varchar, uuid, timestamps, dates, intervals, arrays, enums, ...).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

from lamina.streams.change import Value
from lamina.streams.postgres.pgoutput import Cell, Column, RelationColumn

# Type OIDs (pg_type.dat): fixed in every PostgreSQL.
BOOL = 16
BYTEA = 17
INT8 = 20
INT2 = 21
INT4 = 23
OID = 26
JSON = 114
FLOAT4 = 700
FLOAT8 = 701
NUMERIC = 1700
JSONB = 3802


def _bool(text: str) -> Value:
    return text == "t"


def _bytea(text: str) -> Value:
    if text.startswith("\\x"):
        return bytes.fromhex(text[2:])
    raise ValueError("bytea not in hex form")  # the session sets bytea_output = hex


def _json(text: str) -> Value:
    # Decimal keeps a JSON number's digits, as DynamoDB's N would.
    parsed: Value = json.loads(text, parse_float=Decimal)
    return parsed


def _int(text: str) -> Value:
    return int(text)


def _float(text: str) -> Value:
    return float(text)  # also 'NaN', 'Infinity', '-Infinity'


def _numeric(text: str) -> Value:
    return Decimal(text)  # also 'NaN', 'Infinity', '-Infinity'


_CONVERTERS: Mapping[int, Callable[[str], Value]] = {
    BOOL: _bool,
    BYTEA: _bytea,
    INT2: _int,
    INT4: _int,
    INT8: _int,
    OID: _int,
    JSON: _json,
    JSONB: _json,
    FLOAT4: _float,
    FLOAT8: _float,
    NUMERIC: _numeric,
}


def convert(type_oid: int, text: str) -> Value:
    """``text`` (a column of type ``type_oid`` as PostgreSQL printed it) as a Python value."""
    converter = _CONVERTERS.get(type_oid)
    return text if converter is None else converter(text)


class RowReader:
    """Tuples of one relation as column name -> value, each column's conversion looked up once."""

    __slots__ = ("_columns",)

    def __init__(self, columns: Sequence[RelationColumn]) -> None:
        self._columns = [(column.name, _CONVERTERS.get(column.type_oid)) for column in columns]

    def __call__(self, tuple_: Sequence[Column], fallback: Mapping[str, Value] | None = None) -> dict[str, Value]:
        """An unchanged TOASTed value ('u') is not in the message: it is taken from ``fallback``
        (the old row, where the table's REPLICA IDENTITY FULL sent it) and otherwise left out of
        the row, since there is nowhere else to take it from."""
        values: dict[str, Value] = {}
        for (name, converter), (kind, data) in zip(self._columns, tuple_):
            if kind is _TEXT:
                assert data is not None
                text = data.decode("utf-8", errors="replace")
                values[name] = text if converter is None else converter(text)
            elif kind is _NULL:
                values[name] = None
            elif kind is _UNCHANGED:
                if fallback is not None and name in fallback:
                    values[name] = fallback[name]
            else:  # binary, which the reader never asks for
                assert data is not None
                values[name] = bytes(data)
        return values


_TEXT, _NULL, _UNCHANGED = Cell.TEXT, Cell.NULL, Cell.UNCHANGED_TOAST


def row(columns: Sequence[RelationColumn], tuple_: Sequence[Column],
        fallback: Mapping[str, Value] | None = None) -> dict[str, Value]:  # fmt: skip
    """A tuple as column name -> value (``RowReader``'s, for one row)."""
    return RowReader(columns)(tuple_, fallback)
