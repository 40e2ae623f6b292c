"""One request at a time lent to aiohttp, and the connection taken back once it is answered.

A request the front door does not serve itself is given to a protocol made by aiohttp's factory,
on a ``LentTransport``: a stand-in for the connection's transport that passes writes, closing and
flow control through to it while the request is aiohttp's, and drops them once it is the front
door's again. The front door feeds that protocol the request's bytes and no more (``head.Plain``
says where it ends, read as aiohttp reads it); aiohttp's access log (``AnswerWritten``, its
``access_log_class``) tells when the answer has been written. If aiohttp means to keep the
connection open and the whole request was fed, the front door takes it back (``Lender.returned``):
the protocol is told its connection is lost (it has nothing left to do), and the next request is
the front door's to read. Otherwise (aiohttp closes, or answered before the body had arrived and
will read its rest) the connection stays aiohttp's for good.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger


class Lender(Protocol):
    """The front door's connection, as its lent transport sees it."""

    def returned(self, transport: LentTransport, keep_alive: bool) -> None:
        """aiohttp has written its answer to the lent request."""
        ...

    def lent_reading(self, paused: bool) -> None:
        """aiohttp paused (or resumed) reading."""
        ...


class LentTransport(asyncio.Transport):
    """The connection's transport as an aiohttp protocol sees it while a request is lent to it."""

    def __init__(self, lender: Lender, transport: asyncio.Transport) -> None:
        super().__init__()
        self._lender: Lender | None = lender
        self._transport: asyncio.Transport | None = transport

    def detach(self) -> None:
        """The request is answered: from now on nothing aiohttp does reaches the connection."""
        self._transport = None

    def keep(self) -> None:
        """The connection is aiohttp's for good: its flow control goes to the transport itself,
        and its answers are no longer reported."""
        self._lender = None

    def answered(self, keep_alive: bool) -> None:
        if self._transport is not None and self._lender is not None:
            self._lender.returned(self, keep_alive)

    @property
    def _sendfile_compatible(self) -> object:
        """``loop.sendfile`` asks this first; NotImplementedError is what makes aiohttp send a
        file (GetFunction's code download) by plain writes instead, which pass through."""
        raise NotImplementedError("sendfile goes through the connection's own transport only")

    # -- asyncio.Transport, passed through while attached --------------------------------------

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default if self._transport is None else self._transport.get_extra_info(name, default)

    def is_closing(self) -> bool:
        return self._transport is None or self._transport.is_closing()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._transport is not None:
            self._transport.write(data)

    def writelines(self, list_of_data: Any) -> None:
        if self._transport is not None:
            self._transport.writelines(list_of_data)

    def write_eof(self) -> None:
        if self._transport is not None:
            self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport is not None and self._transport.can_write_eof()

    def get_write_buffer_size(self) -> int:
        return 0 if self._transport is None else self._transport.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return (0, 0) if self._transport is None else self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        if self._transport is not None:
            self._transport.set_write_buffer_limits(high, low)

    def is_reading(self) -> bool:
        return self._transport is not None and self._transport.is_reading()

    def pause_reading(self) -> None:
        if self._lender is not None:
            self._lender.lent_reading(True)
        elif self._transport is not None:
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        if self._lender is not None:
            self._lender.lent_reading(False)
        elif self._transport is not None:
            self._transport.resume_reading()


class AnswerWritten(AbstractAccessLogger):
    """aiohttp's access log for the public listener: it is called once an answer has been written
    (``write_eof`` done), which is when a lent connection may be taken back. It logs nothing."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        transport = request.transport
        if isinstance(transport, LentTransport):
            transport.answered(bool(response.keep_alive))

    @property
    def enabled(self) -> bool:
        return True
