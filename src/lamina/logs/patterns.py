"""CloudWatch Logs' filter pattern syntax (FilterLogEvents' ``filterPattern``, and subscription
filters'), parsed once into a matcher of one log event's message. Pure.

Three forms, as CloudWatch Logs reads them:

- Terms: ``ERROR``, ``"exact phrase"``, several (all must be in the message), ``?ERROR ?WARN``
  (any of them), ``-term`` (none of those); case-sensitive, matched anywhere in the message. An
  empty pattern matches every event.
- JSON, ``{ <expression> }``: ``$.a.b[0] = "value"`` (``*`` as a wildcard in strings), ``!=``,
  ``<``, ``>``, ``<=``, ``>=`` against numbers, ``IS TRUE``/``IS FALSE``/``IS NULL``,
  ``NOT EXISTS``/``EXISTS``, joined with ``&&`` and ``||`` and grouped with parentheses. A message
  that is not a JSON object matches no JSON pattern.
- Space-delimited, ``[ field, field = value, ..., field > 10 ]``: the message split on spaces
  (a ``"..."`` or ``[...]`` is one field), each named field optionally compared as above (with
  ``&&``/``||`` between comparisons of one field); ``...`` stands for any number of fields.

``FilterPatternError`` (with the reason) for what does not parse: the API answers it as
InvalidParameterException.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Callable

MAX_PATTERN = 1024  # CloudWatch Logs' limit on filterPattern's length

Matcher = Callable[[str], bool]


class FilterPatternError(ValueError):
    pass


def compile_pattern(pattern: str) -> Matcher:
    """``pattern`` as a function of a message (its trailing newline ignored)."""
    if len(pattern) > MAX_PATTERN:
        raise FilterPatternError(f"the filter pattern is longer than {MAX_PATTERN} characters")
    text = pattern.strip()
    if not text:
        return lambda message: True
    if text.startswith("{"):
        if not text.endswith("}"):
            raise FilterPatternError("a JSON filter pattern ends with }")
        expression = _Parser(_tokens(text[1:-1])).whole()
        return lambda message: _json_match(expression, message)
    if text.startswith("["):
        if not text.endswith("]"):
            raise FilterPatternError("a space-delimited filter pattern ends with ]")
        return _columns(text[1:-1])
    return _terms(text)


# -- terms ---------------------------------------------------------------------------------------

_TERM = re.compile(r'\s*([?-]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))')


def _terms(text: str) -> Matcher:
    required: list[str] = []
    optional: list[str] = []
    excluded: list[str] = []
    position = 0
    while position < len(text):
        found = _TERM.match(text, position)
        if found is None:
            if text[position:].strip():
                raise FilterPatternError(f"unexpected text at {text[position:][:20]!r}")
            break
        position = found.end()
        sign, quoted, bare = found.group(1), found.group(2), found.group(3)
        term = _unescape(quoted) if quoted is not None else bare
        if bare is not None and '"' in bare:
            raise FilterPatternError(f"an unbalanced quote in {bare[:20]!r}")
        {"?": optional, "-": excluded, "": required}[sign].append(term)

    def match(message: str) -> bool:
        return (all(t in message for t in required) and (not optional or any(t in message for t in optional))
                and not any(t in message for t in excluded))  # fmt: skip

    return match


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


# -- JSON expressions ----------------------------------------------------------------------------

_TOKEN = re.compile(
    r'\s*(?:(?P<op>&&|\|\||!=|<=|>=|=|<|>|\(|\))|"(?P<string>(?:[^"\\]|\\.)*)"|(?P<word>[^\s()=!<>&|"]+))'
)
_SELECTOR = re.compile(r"\$((?:\.[A-Za-z0-9_@$-]+|\[\d+\]|\.\*)*)")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


@dataclass(frozen=True)
class _Token:
    kind: str  # op, string, word
    text: str


def _tokens(text: str) -> list[_Token]:
    tokens, position = [], 0
    while position < len(text):
        if not text[position:].strip():
            break
        found = _TOKEN.match(text, position)
        if found is None:
            raise FilterPatternError(f"unexpected text at {text[position:][:20]!r}")
        position = found.end()
        kind = found.lastgroup or "word"
        tokens.append(_Token(kind, found.group(kind) if kind != "string" else _unescape(found.group(kind))))
    return tokens


@dataclass(frozen=True)
class _Compare:
    path: tuple[str | int, ...]
    op: str  # = != < > <= >=, or IS TRUE / IS FALSE / IS NULL / EXISTS / NOT EXISTS
    value: str | float | None = None
    quoted: bool = False


@dataclass(frozen=True)
class _Both:
    left: _Expression
    right: _Expression


@dataclass(frozen=True)
class _Either:
    left: _Expression
    right: _Expression


_Expression = _Compare | _Both | _Either


class _Parser:
    """expression := and ('||' and)* ; and := primary ('&&' primary)* ; primary := '(' expression ')' | comparison"""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.at = 0
        self.depth = 0

    def whole(self) -> _Expression:
        if not self.tokens:
            raise FilterPatternError("a JSON filter pattern needs an expression")
        expression = self.expression()
        if self.at != len(self.tokens):
            raise FilterPatternError(f"unexpected {self.tokens[self.at].text!r}")
        return expression

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise FilterPatternError("the expression ends too soon")
        self.at += 1
        return token

    def expression(self) -> _Expression:
        left = self.conjunction()
        while (token := self.peek()) is not None and token.kind == "op" and token.text == "||":
            self.at += 1
            left = _Either(left, self.conjunction())
        return left

    def conjunction(self) -> _Expression:
        left = self.primary()
        while (token := self.peek()) is not None and token.kind == "op" and token.text == "&&":
            self.at += 1
            left = _Both(left, self.primary())
        return left

    def primary(self) -> _Expression:
        token = self.take()
        if token.kind == "op" and token.text == "(":
            self.depth += 1
            if self.depth > 32:
                raise FilterPatternError("parentheses nested too deep")
            inner = self.expression()
            closing = self.take()
            if closing.text != ")":
                raise FilterPatternError("a ( without its )")
            self.depth -= 1
            return inner
        if token.kind != "word":
            raise FilterPatternError(f"expected a selector such as $.field, not {token.text!r}")
        path = _path(token.text)
        operator = self.take()
        if operator.kind == "word" and operator.text.upper() in ("IS", "NOT", "EXISTS"):
            return self.keyword(path, operator.text.upper())
        if operator.kind != "op" or operator.text not in ("=", "!=", "<", ">", "<=", ">="):
            raise FilterPatternError(f"expected a comparison after {token.text}, not {operator.text!r}")
        value = self.take()
        if value.kind == "op":
            raise FilterPatternError(f"expected a value after {operator.text}, not {value.text!r}")
        if value.kind == "word" and _NUMBER.fullmatch(value.text):
            return _Compare(path, operator.text, float(value.text))
        if operator.text not in ("=", "!="):
            raise FilterPatternError(f"{operator.text} compares numbers, not {value.text!r}")
        return _Compare(path, operator.text, value.text, quoted=value.kind == "string")

    def keyword(self, path: tuple[str | int, ...], first: str) -> _Compare:
        if first == "EXISTS":
            return _Compare(path, "EXISTS")
        second = self.take().text.upper()
        if first == "NOT" and second == "EXISTS":
            return _Compare(path, "NOT EXISTS")
        if first == "IS" and second in ("TRUE", "FALSE", "NULL"):
            return _Compare(path, f"IS {second}")
        raise FilterPatternError(f"unknown keyword {first} {second}")


def _path(selector: str) -> tuple[str | int, ...]:
    if _SELECTOR.fullmatch(selector) is None or selector == "$":
        raise FilterPatternError(f"{selector[:40]!r} is not a selector such as $.field or $.list[0]")
    return tuple(int(part[1:-1]) if part.startswith("[") else part[1:]
                 for part in re.findall(r"\.[^.\[]+|\[\d+\]", selector[1:]))  # fmt: skip


_MISSING = object()


def _lookup(doc: object, path: tuple[str | int, ...]) -> object:
    for part in path:
        if isinstance(part, int):
            if not isinstance(doc, list) or part >= len(doc):
                return _MISSING
            doc = doc[part]
        elif isinstance(doc, dict) and part in doc:
            doc = doc[part]
        else:
            return _MISSING
    return doc


def _json_match(expression: _Expression, message: str) -> bool:
    text = message.rstrip("\n")
    if not text.lstrip().startswith("{"):
        return False
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return False
    return isinstance(doc, dict) and _evaluate(expression, doc)


def _evaluate(expression: _Expression, doc: object, *, text: bool = False) -> bool:
    """Whether ``doc`` satisfies ``expression``; ``text``: its values are a line's fields, compared
    with numbers as numbers when they read as one."""
    if isinstance(expression, _Both):
        return _evaluate(expression.left, doc, text=text) and _evaluate(expression.right, doc, text=text)
    if isinstance(expression, _Either):
        return _evaluate(expression.left, doc, text=text) or _evaluate(expression.right, doc, text=text)
    found = _lookup(doc, expression.path)
    if text and isinstance(expression.value, float) and isinstance(found, str) and _NUMBER.fullmatch(found):
        found = float(found)
    return _compare(found, expression.op, expression.value)


def _compare(found: object, op: str, value: str | float | None) -> bool:
    if op == "EXISTS":
        return found is not _MISSING
    if op == "NOT EXISTS":
        return found is _MISSING
    if op == "IS NULL":
        return found is None
    if op in ("IS TRUE", "IS FALSE"):
        return found is (op == "IS TRUE")
    if found is _MISSING:
        return False
    if isinstance(value, float):
        if isinstance(found, bool) or not isinstance(found, (int, float)):
            return op == "!="
        return {"=": found == value, "!=": found != value, "<": found < value, ">": found > value,
                "<=": found <= value, ">=": found >= value}[op]  # fmt: skip
    assert isinstance(value, str)
    if not isinstance(found, str):
        equal = value.upper() == "NULL" and found is None or (
            isinstance(found, bool) and value.lower() == str(found).lower())  # fmt: skip
    else:
        equal = _wildcard(value).fullmatch(found) is not None
    return equal if op == "=" else not equal


def _wildcard(value: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(piece) for piece in value.split("*")), re.DOTALL)


# -- space-delimited -----------------------------------------------------------------------------

_FIELD = re.compile(r'"[^"]*"|\[[^\]]*\]|\S+')
ELLIPSIS = "..."


def _columns(text: str) -> Matcher:
    specs = [part.strip() for part in text.split(",")] if text.strip() else []
    if not specs or any(not spec for spec in specs):
        raise FilterPatternError("a space-delimited filter pattern names its fields, separated by commas")
    fields: list[tuple[str, _Expression | None]] = []
    for spec in specs:
        if spec == ELLIPSIS:
            fields.append((ELLIPSIS, None))
            continue
        name = re.match(r"[A-Za-z0-9_]+", spec)
        if name is None:
            raise FilterPatternError(f"{spec[:40]!r} is not a field name")
        rest = spec[name.end():].strip()
        fields.append((name.group(0), _field_condition(name.group(0), rest) if rest else None))
    if sum(1 for name, _ in fields if name == ELLIPSIS) > 1:
        raise FilterPatternError("at most one ... in a space-delimited filter pattern")

    def match(message: str) -> bool:
        values = [v[1:-1] if v[:1] in '"[' and len(v) > 1 else v for v in _FIELD.findall(message.rstrip("\n"))]
        if (ELLIPSIS, None) in fields:
            cut = fields.index((ELLIPSIS, None))
            before, after = fields[:cut], fields[cut + 1:]
            if len(values) < len(before) + len(after):
                return False
            pairs = list(zip(before, values)) + list(zip(after, values[len(values) - len(after):] if after else []))
        else:
            if len(values) != len(fields):
                return False
            pairs = list(zip(fields, values))
        return all(condition is None or _evaluate(condition, {"v": value}, text=True) for (_, condition), value in pairs)

    return match


def _field_condition(name: str, rest: str) -> _Expression:
    """A field's comparisons (``= 404``, ``= *html* && request != *jpg*``) as an expression on ``$.v``."""
    parts = re.split(r"(&&|\|\|)", rest)
    written = []
    for index, part in enumerate(parts):
        if index % 2:
            written.append(part)
            continue
        comparison = part.strip()
        if comparison.startswith(name) and comparison[len(name):].lstrip()[:1] in ("=", "!", "<", ">"):
            comparison = comparison[len(name):]
        written.append(f"$.v {comparison}")
    return _Parser(_tokens(" ".join(written))).whole()
