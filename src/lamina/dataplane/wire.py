"""Answers as bytes, exactly as aiohttp writes them for the same handler's ``web.Response`` (pure).

aiohttp writes the handler's headers in their order, then ``Content-Type``, ``Content-Length``,
``Date``, ``Server``, and ``Connection: close`` when the connection is to be closed; an HTTP/1.1
keep-alive answer names no ``Connection``. The front door only answers HTTP/1.1 requests.
"""

from __future__ import annotations

from email.utils import formatdate
from http import HTTPStatus
from typing import Iterable

from aiohttp.http import SERVER_SOFTWARE

_SERVER = f"\r\nServer: {SERVER_SOFTWARE}".encode()
_STATUS = {s.value: f"HTTP/1.1 {s.value} {s.phrase}\r\n".encode() for s in HTTPStatus}  # aiohttp's phrases


class Clock:
    """The ``Date`` header's value, formatted once a second (as aiohttp does)."""

    def __init__(self) -> None:
        self._second = -1
        self._value = b""

    def date(self, now: float) -> bytes:
        second = int(now)
        if second != self._second:
            self._second = second
            self._value = formatdate(second, usegmt=True).encode()
        return self._value


def response(status: int, headers: Iterable[tuple[str, str]], content_type: str, body: bytes, *, date: bytes,
             close: bool) -> bytes:  # fmt: skip
    head = _STATUS.get(status) or f"HTTP/1.1 {status} \r\n".encode()
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return b"".join((
        head, lines.encode("utf-8"), b"Content-Type: ", content_type.encode(), b"\r\nContent-Length: ",
        str(len(body)).encode(), b"\r\nDate: ", date, _SERVER,
        b"\r\nConnection: close\r\n\r\n" if close else b"\r\n\r\n",
        body,
    ))  # fmt: skip


_NO_BODY = frozenset({204, 304, *range(100, 200)})  # aiohttp's EMPTY_BODY_STATUS_CODES


def api_response(status: int, headers: Iterable[tuple[str, str]], body: bytes, *, date: bytes, close: bool) -> bytes:
    """An API's answer (``gateway.exchange.ApiAnswer``) as aiohttp writes a ``web.Response`` made of
    its status and body, with its headers added: theirs first, in order; then ``Content-Length``
    (none for a status without a body), ``Content-Type`` when the body is not empty and none was
    given, and ``Date``, ``Server`` and ``Connection`` each when not given. Headers must hold no
    CR or LF (``safe``)."""
    head = _STATUS.get(status) or f"HTTP/1.1 {status} \r\n".encode()
    given: set[str] = set()
    lines = []
    for name, value in headers:
        given.add(name.lower())
        lines.append(f"{name}: {value}\r\n")
    if status in _NO_BODY:
        body = b""
    else:
        lines.append(f"Content-Length: {len(body)}\r\n")
        if body and "content-type" not in given:
            lines.append("Content-Type: application/octet-stream\r\n")
    text = "".join(lines).encode("utf-8")
    return b"".join((
        head, text, b"" if "date" in given else b"Date: " + date + b"\r\n",
        b"" if "server" in given else _SERVER[2:] + b"\r\n",
        b"Connection: close\r\n\r\n" if close and "connection" not in given else b"\r\n",
        body,
    ))  # fmt: skip


def safe(headers: Iterable[tuple[str, str]]) -> bool:
    """Whether the headers can be written as they are (aiohttp refuses a CR or LF in one)."""
    return not any("\r" in n or "\n" in n or "\r" in v or "\n" in v for n, v in headers)
