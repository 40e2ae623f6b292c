"""The rule SQL of AWS IoT, for the common cases, parsed into a value (``Query``); pure.

Supported::

    SELECT *                                    the whole payload
    SELECT a, b.c AS d, c[0], *, topic(2) AS t  attributes (nested, array elements), aliases
    FROM 'topic/+/filter/#'                     one MQTT topic filter, single- or double-quoted
    WHERE a > 1 AND (b.c = 'x' OR NOT d <> 2)   =, <>, !=, <, <=, >, >=, AND, OR, NOT, + - * / %

Literals are strings (single quotes, '' for a quote), numbers, ``true``, ``false`` and ``null``;
keywords are case-insensitive. The functions are those of ``FUNCTIONS``. A statement this parser
cannot read is ``SqlParseError`` with the line and column, as AWS's ``SqlParseException`` reports
them. Evaluation is ``evaluate.py``'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from lamina.iot.topics import filter_problem

# Name: the arguments it takes (a range), in evaluate.py.
FUNCTIONS: dict[str, tuple[int, int]] = {
    "topic": (0, 1), "timestamp": (0, 0), "clientid": (0, 0), "principal": (0, 0), "newuuid": (0, 0),
    "encode": (2, 2), "lower": (1, 1), "upper": (1, 1), "concat": (2, 8), "abs": (1, 1),
}  # fmt: skip
MAX_SQL_CHARS = 20_000  # the model's limit on a rule's sql
MAX_DEPTH = 100  # parentheses and NOTs nested: beyond, refused rather than a deep recursion


class SqlParseError(Exception):
    """The statement could not be parsed; ``str()`` is the message AWS-style (``Line 1:9 ...``)."""


@dataclass(frozen=True)
class Literal:
    value: object  # str, int, float, bool or None


@dataclass(frozen=True)
class Path:
    """An attribute of the payload: ``a.b[0].c`` is ("a", "b", 0, "c")."""

    parts: tuple[str | int, ...]


@dataclass(frozen=True)
class Star:
    """``*``: the whole payload (in a SELECT list, or as a function's argument)."""


@dataclass(frozen=True)
class Call:
    name: str  # lower case
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Unary:
    op: str  # "not" or "-"
    operand: Expr


@dataclass(frozen=True)
class Binary:
    op: str  # "and", "or", "=", "<>", "<", "<=", ">", ">=", "+", "-", "*", "/", "%"
    left: Expr
    right: Expr


Expr = Union[Literal, Path, Star, Call, Unary, Binary]


@dataclass(frozen=True)
class Item:
    """One member of the SELECT list: ``expr`` under ``name`` (a Star has none: it is merged)."""

    expr: Expr
    name: str | None


@dataclass(frozen=True)
class Query:
    select: tuple[Item, ...]
    topic_filter: str
    where: Expr | None


_TOKEN = re.compile(
    r"""(?P<space>\s+)
      |(?P<number>\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+(?:[eE][+-]?\d+)?)
      |(?P<string>'(?:[^']|'')*')
      |(?P<dstring>"(?:[^"\\]|\\.)*")
      |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
      |(?P<op><>|!=|<=|>=|[=<>+\-*/%(),.\[\]])""",
    re.VERBOSE,
)
_KEYWORDS = {"select", "from", "where", "as", "and", "or", "not", "true", "false", "null"}
_COMPARISONS = {"=", "<>", "!=", "<", "<=", ">", ">="}


@dataclass(frozen=True)
class _Tok:
    kind: str  # "number", "string", "name", "keyword", "op", "end"
    text: str
    column: int  # 0-based, as ANTLR reports it
    line: int


def _tokens(sql: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos, line, line_start = 0, 1, 0
    while pos < len(sql):
        m = _TOKEN.match(sql, pos)
        if m is None:
            raise SqlParseError(f"Line {line}:{pos - line_start} token recognition error at: '{sql[pos]}'")
        kind = m.lastgroup or ""
        text = m.group()
        if kind == "space":
            for i, ch in enumerate(text):
                if ch == "\n":
                    line, line_start = line + 1, pos + i + 1
        else:
            if kind == "name" and text.lower() in _KEYWORDS:
                kind = "keyword"
            elif kind == "dstring":
                kind = "string"
            out.append(_Tok(kind, text, pos - line_start, line))
        pos = m.end()
    out.append(_Tok("end", "<EOF>", pos - line_start, line))
    return out


def parse(sql: str) -> Query:
    """``sql`` as a ``Query``; ``SqlParseError`` if it is not a statement Lamina can run."""
    if len(sql) > MAX_SQL_CHARS:
        raise SqlParseError(f"The SQL statement is longer than {MAX_SQL_CHARS} characters")
    return _Parser(_tokens(sql)).query()


class _Parser:
    def __init__(self, tokens: list[_Tok]) -> None:
        self._t = tokens
        self._i = 0
        self._depth = 0

    # Tokens

    def _peek(self) -> _Tok:
        return self._t[self._i]

    def _next(self) -> _Tok:
        tok = self._t[self._i]
        if tok.kind != "end":
            self._i += 1
        return tok

    def _is(self, *words: str) -> bool:
        tok = self._peek()
        return tok.kind in ("keyword", "op") and tok.text.lower() in words

    def _fail(self, expecting: str, tok: _Tok | None = None) -> SqlParseError:
        tok = tok or self._peek()
        return SqlParseError(f"Line {tok.line}:{tok.column} mismatched input '{tok.text}' expecting {expecting}")

    def _expect(self, word: str) -> _Tok:
        if not self._is(word):
            raise self._fail(word.upper() if word.isalpha() else f"'{word}'")
        return self._next()

    # Grammar

    def query(self) -> Query:
        self._expect("select")
        items = [self._item(1)]
        while self._is(","):
            self._next()
            items.append(self._item(len(items) + 1))
        self._expect("from")
        tok = self._next()
        if tok.kind != "string":
            raise self._fail("a quoted topic filter, e.g. 'sensors/+/temperature'", tok)
        topic_filter = _unquote(tok.text)
        problem = filter_problem(topic_filter)
        if problem is not None:
            raise SqlParseError(f"Line {tok.line}:{tok.column} invalid topic filter '{topic_filter}': {problem}")
        where = None
        if self._is("where"):
            self._next()
            where = self._expr()
        if self._peek().kind != "end":
            raise self._fail("<EOF>")
        return Query(tuple(items), topic_filter, where)

    def _item(self, number: int) -> Item:
        if self._is("*"):
            self._next()
            return Item(Star(), None)
        expr = self._expr()
        if self._is("as"):
            self._next()
            tok = self._next()
            if tok.kind not in ("name", "string"):
                raise self._fail("an alias after AS", tok)
            return Item(expr, _unquote(tok.text) if tok.kind == "string" else tok.text)
        return Item(expr, _default_name(expr, number))

    def _expr(self) -> Expr:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise SqlParseError(f"The expression is nested more than {MAX_DEPTH} levels deep")
        try:
            return self._or()
        finally:
            self._depth -= 1

    def _or(self) -> Expr:
        left = self._and()
        while self._is("or"):
            self._next()
            left = Binary("or", left, self._and())
        return left

    def _and(self) -> Expr:
        left = self._not()
        while self._is("and"):
            self._next()
            left = Binary("and", left, self._not())
        return left

    def _not(self) -> Expr:
        if self._is("not"):
            self._next()
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise SqlParseError(f"The expression is nested more than {MAX_DEPTH} levels deep")
            try:
                return Unary("not", self._not())
            finally:
                self._depth -= 1
        return self._comparison()

    def _comparison(self) -> Expr:
        left = self._additive()
        if self._peek().kind == "op" and self._peek().text in _COMPARISONS:
            op = self._next().text
            left = Binary("<>" if op == "!=" else op, left, self._additive())
        return left

    def _additive(self) -> Expr:
        left = self._multiplicative()
        while self._is("+", "-"):
            left = Binary(self._next().text, left, self._multiplicative())
        return left

    def _multiplicative(self) -> Expr:
        left = self._unary()
        while self._is("*", "/", "%"):
            left = Binary(self._next().text, left, self._unary())
        return left

    def _unary(self) -> Expr:
        if self._is("-"):
            self._next()
            operand = self._unary()
            if isinstance(operand, Literal) and isinstance(operand.value, (int, float)):
                return Literal(-operand.value)
            return Unary("-", operand)
        return self._primary()

    def _primary(self) -> Expr:
        tok = self._next()
        if tok.kind == "number":
            return Literal(float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text))
        if tok.kind == "string":
            return Literal(_unquote(tok.text))
        if tok.kind == "keyword" and tok.text.lower() in ("true", "false", "null"):
            return Literal({"true": True, "false": False, "null": None}[tok.text.lower()])
        if tok.kind == "op" and tok.text == "(":
            expr = self._expr()
            self._expect(")")
            return expr
        if tok.kind == "name":
            if self._is("("):
                return self._call(tok)
            return self._path(tok.text)
        raise self._fail("an expression", tok)

    def _call(self, name_tok: _Tok) -> Call:
        name = name_tok.text.lower()
        self._next()  # (
        args: list[Expr] = []
        if not self._is(")"):
            args.append(self._argument())
            while self._is(","):
                self._next()
                args.append(self._argument())
        self._expect(")")
        arity = FUNCTIONS.get(name)
        if arity is None:
            supported = ", ".join(f"{f}()" for f in sorted(FUNCTIONS))
            raise SqlParseError(f"Line {name_tok.line}:{name_tok.column} unknown function '{name_tok.text}' "
                                f"(Lamina supports {supported})")  # fmt: skip
        if not arity[0] <= len(args) <= arity[1]:
            raise SqlParseError(f"Line {name_tok.line}:{name_tok.column} wrong number of arguments to "
                                f"'{name_tok.text}': {len(args)}")  # fmt: skip
        return Call(name, tuple(args))

    def _argument(self) -> Expr:
        if self._is("*") and self._t[self._i + 1].text in (",", ")"):
            self._next()
            return Star()
        return self._expr()

    def _path(self, first: str) -> Path:
        parts: list[str | int] = [first]
        while self._is(".", "["):
            if self._next().text == ".":
                tok = self._next()
                if tok.kind not in ("name", "keyword"):
                    raise self._fail("an attribute name", tok)
                parts.append(tok.text)
            else:
                tok = self._next()
                if tok.kind != "number" or not tok.text.isdigit():
                    raise self._fail("an array index", tok)
                parts.append(int(tok.text))
                self._expect("]")
        return Path(tuple(parts))


def _unquote(text: str) -> str:
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def _default_name(expr: Expr, number: int) -> str:
    """The key of an item without AS: an attribute's last name, a function's name, else ``_<n>``."""
    if isinstance(expr, Path):
        for part in reversed(expr.parts):
            if isinstance(part, str):
                return part
    if isinstance(expr, Call):
        return expr.name
    return f"_{number}"
