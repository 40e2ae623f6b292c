"""The ``aws-chunked`` content encoding, decoded incrementally (pure: bytes in, bytes out).

SDKs stream uploads as::

    <hex size>[;chunk-signature=<sig>]\\r\\n<data>\\r\\n ... 0[;chunk-signature=<sig>]\\r\\n
    [<trailer name>:<value>\\r\\n ...]\\r\\n

(``STREAMING-UNSIGNED-PAYLOAD-TRAILER``, ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]``).
Chunk signatures are not verified (no signature is, yet). ``ChunkDecoder.feed`` takes the body as
it arrives and returns the payload bytes it holds; ``finish`` says whether the body ended where the
encoding does, and gives the trailers (names lower-cased). Malformed framing is ``InvalidRequest``;
a body that stops early is ``IncompleteBody``.
"""

from __future__ import annotations

import enum

from lamina.objects.errors import IncompleteBody, InvalidRequest

MAX_LINE = 4096  # a chunk header or a trailer line longer than this is not one an SDK sends


class _State(enum.Enum):
    SIZE = 1
    DATA = 2
    DATA_END = 3
    TRAILER = 4
    DONE = 5


def _malformed() -> InvalidRequest:
    return InvalidRequest("The aws-chunked body is malformed.")


class ChunkDecoder:
    def __init__(self) -> None:
        self._buf = bytearray()
        self._state = _State.SIZE
        self._left = 0
        self.trailers: dict[str, str] = {}
        self.decoded = 0

    @property
    def done(self) -> bool:
        return self._state is _State.DONE

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        while True:
            if self._state is _State.DATA:
                if not self._buf:
                    return out
                take = min(self._left, len(self._buf))
                out.append(bytes(self._buf[:take]))
                del self._buf[:take]
                self._left -= take
                self.decoded += take
                if self._left == 0:
                    self._state = _State.DATA_END
                continue
            if self._state is _State.DONE:
                if self._buf:
                    raise _malformed()  # bytes after the last chunk
                return out
            line = self._line()
            if line is None:
                return out
            if self._state is _State.DATA_END:
                if line:
                    raise _malformed()
                self._state = _State.SIZE
            elif self._state is _State.SIZE:
                size_text = line.split(b";", 1)[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise _malformed() from None
                if size < 0 or size_text.startswith((b"-", b"+")):
                    raise _malformed()
                if size == 0:
                    self._state = _State.TRAILER
                else:
                    self._left, self._state = size, _State.DATA
            elif self._state is _State.TRAILER:
                if not line:
                    self._state = _State.DONE
                    continue
                name, sep, value = line.partition(b":")
                if not sep:
                    raise _malformed()
                self.trailers[name.strip().decode("latin-1").lower()] = value.strip().decode("latin-1")

    def _line(self) -> bytes | None:
        end = self._buf.find(b"\r\n")
        if end < 0:
            if len(self._buf) > MAX_LINE:
                raise _malformed()
            return None
        line = bytes(self._buf[:end])
        del self._buf[: end + 2]
        return line

    def finish(self) -> dict[str, str]:
        """The trailers, once the body has ended; ``IncompleteBody`` if the encoding had not."""
        if self._state is not _State.DONE:
            raise IncompleteBody("The request body terminated unexpectedly")
        return self.trailers
