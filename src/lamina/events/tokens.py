"""A pull tokenizer for event patterns that reports positions the way AWS's parser does.

EventBridge validates a pattern while streaming it through Jackson, and its error messages end
with Jackson's location: ``\\n at [Source: (String)"<pattern>"; line: L, column: C]``. To give the
same messages, ``Tokens`` hands out one token at a time and keeps Jackson's notion of "where the
parser is": a field name is read together with the first token of its value; a string value is
read lazily (only its opening quote is consumed until its text is asked for); a number or a
literal is read whole. ``location()`` renders that position; ``TokenError`` carries a message
with it.
"""

from __future__ import annotations

import json
import re
from enum import Enum

_SNIPPET = 500  # Jackson shows at most this many characters of the source
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"')
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_WORD = re.compile(r"[A-Za-z0-9_$.+-]+")
_SPACE = " \t\r\n"


class Tok(Enum):
    START_OBJECT = "{"
    END_OBJECT = "}"
    START_ARRAY = "["
    END_ARRAY = "]"
    FIELD_NAME = "name"
    STRING = "string"
    INT = "int"
    FLOAT = "float"
    TRUE = "true"
    FALSE = "false"
    NULL = "null"
    EOF = "eof"

    @property
    def numeric(self) -> bool:
        return self in (Tok.INT, Tok.FLOAT)


class TokenError(Exception):
    """A pattern that is not valid; ``str(exc)`` is the reason as AWS words it (location included)."""


class Tokens:
    def __init__(self, text: str) -> None:
        self.src = text
        self.pos = 0  # where reading resumes
        self.at = 0  # the position Jackson would report
        self.kind = Tok.EOF
        self.value = ""  # text of the current token (name, string, number or literal)
        self._lazy_end = -1  # end of a string value whose text has not been asked for
        self._pending: tuple[Tok, str, int] | None = None  # a field's value, read with its name
        self._stack: list[list[object]] = []  # [kind, first, start offset] per open container

    # -- public ----------------------------------------------------------------------------
    def next(self) -> Tok:
        if self._pending is not None:
            self.kind, self.value, _ = self._pending
            self._pending = None
            return self.kind
        if self._lazy_end >= 0:
            self.pos, self._lazy_end = self._lazy_end, -1
        self.kind, self.value, self.at = self._read()
        return self.kind

    def text(self) -> str:
        """The current token's text; for a string value this completes reading it, as Jackson does."""
        if self._lazy_end >= 0 and self._pending is None:
            self.pos = self.at = self._lazy_end
            self._lazy_end = -1
        if self.kind in (Tok.START_OBJECT, Tok.END_OBJECT, Tok.START_ARRAY, Tok.END_ARRAY):
            return str(self.kind.value)
        return self.value

    def location(self, offset: int | None = None) -> str:
        offset = self.at if offset is None else offset
        line = self.src.count("\n", 0, offset) + 1
        column = offset - (self.src.rfind("\n", 0, offset) + 1) + 1
        return f"[Source: {self.source()}; line: {line}, column: {column}]"

    def source(self) -> str:
        shown = self.src[:_SNIPPET]
        more = len(self.src) - len(shown)
        return f'(String)"{shown}"' + (f"[truncated {more} chars]" if more > 0 else "")

    def fail(self, message: str, offset: int | None = None) -> TokenError:
        return TokenError(f"{message}\n at {self.location(offset)}")

    # -- reading ---------------------------------------------------------------------------
    def _skip(self) -> None:
        src, i = self.src, self.pos
        while i < len(src) and src[i] in _SPACE:
            i += 1
        self.pos = i

    def _read(self) -> tuple[Tok, str, int]:
        self._skip()
        if not self._stack:
            return self._value()
        frame = self._stack[-1]
        kind, first, start = frame
        assert isinstance(start, int)
        if self.pos >= len(self.src):
            name = "Object" if kind == "object" else "Array"
            raise self.fail(
                f"Unexpected end-of-input: expected close marker for {name} "
                f"(start marker at {self.location(start)})",
                len(self.src),
            )
        c = self.src[self.pos]
        if c == ("}" if kind == "object" else "]"):
            self._stack.pop()
            self.pos += 1
            return (Tok.END_OBJECT if c == "}" else Tok.END_ARRAY), c, self.pos
        if not first:
            if c != ",":
                entries = "Object entries" if kind == "object" else "Array entries"
                raise self._unexpected(f"was expecting comma to separate {entries}")
            self.pos += 1
            self._skip()
        frame[1] = False
        if kind == "object":
            return self._field()
        if self.src.startswith("]", self.pos):
            raise self._unexpected("expected a value")
        return self._value()

    def _field(self) -> tuple[Tok, str, int]:
        m = _STRING.match(self.src, self.pos)
        if m is None:
            if self.src.startswith('"', self.pos):
                raise self._bad_string(self.pos)
            raise self._unexpected("was expecting double-quote to start field name")
        name: str = json.loads(m.group())
        self.pos = m.end()
        self._skip()
        if self.pos >= len(self.src) or self.src[self.pos] != ":":
            raise self._unexpected("was expecting a colon to separate field name and value")
        self.pos += 1
        self._skip()
        kind, value, at = self._value()
        self._pending = (kind, value, at)
        return Tok.FIELD_NAME, name, at

    def _value(self) -> tuple[Tok, str, int]:
        src, i = self.src, self.pos
        if i >= len(src):
            raise self.fail("Unexpected end-of-input: expected some content", i)
        c = src[i]
        if c in "{[":
            self._stack.append(["object" if c == "{" else "array", True, i])
            self.pos = i + 1
            return (Tok.START_OBJECT if c == "{" else Tok.START_ARRAY), c, self.pos
        if c == '"':
            m = _STRING.match(src, i)
            if m is None:
                raise self._bad_string(i)
            self._lazy_end = m.end()
            self.pos = i + 1
            text: str = json.loads(m.group())
            return Tok.STRING, text, i + 1
        if c == "-" or c.isdigit():
            m = _NUMBER.match(src, i)
            if m is None or (m.end() < len(src) and src[m.end()].isdigit()):
                raise self.fail("Invalid numeric value: Leading zeroes not allowed", i + 1)
            self.pos = m.end()
            kind = Tok.FLOAT if (m.group(1) or m.group(2)) else Tok.INT
            return kind, m.group(), self.pos
        word = _WORD.match(src, i)
        if word is not None:
            text = word.group()
            if text in ("true", "false", "null"):
                self.pos = word.end()
                return Tok(text), text, self.pos
            raise self.fail(
                f"Unrecognized token '{text}': was expecting (JSON String, Number, Array, Object or "
                "token 'null', 'true' or 'false')",
                word.end(),
            )
        raise self._unexpected(
            "expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
        )

    def _bad_string(self, start: int) -> TokenError:
        """What is wrong with the string starting at ``start`` (one that ``_STRING`` did not match)."""
        src, i = self.src, start + 1
        while i < len(src):
            c = src[i]
            if c == '"':
                break
            if c == "\\":
                escape = src[i + 1 : i + 2]
                if escape == "u" and not re.fullmatch(r"[0-9a-fA-F]{4}", src[i + 2 : i + 6]):
                    return self.fail("Unexpected character in Unicode escape: expected a hex-digit", i + 2)
                if escape and escape not in '"\\/bfnrtu':
                    return self.fail(f"Unrecognized character escape '{escape}' (code {ord(escape)})", i + 2)
                i += 2
                continue
            if ord(c) < 0x20:
                return self.fail(
                    f"Illegal unquoted character ((CTRL-CHAR, code {ord(c)})): has to be escaped using backslash "
                    "to be included in string value",
                    i + 1,
                )
            i += 1
        return self.fail("Unexpected end-of-input: was expecting closing quote for a string value", len(src))

    def _unexpected(self, expecting: str) -> TokenError:
        if self.pos >= len(self.src):
            return self.fail("Unexpected end-of-input within/between entries", self.pos)
        c = self.src[self.pos]
        return self.fail(f"Unexpected character ('{c}' (code {ord(c)})): {expecting}", self.pos)
