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
