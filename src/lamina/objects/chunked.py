"""The ``aws-chunked`` content encoding, decoded incrementally (pure: bytes in, bytes out).

SDKs stream uploads as::

    <hex size>[;chunk-signature=<sig>]\\r\\n<data>\\r\\n ... 0[;chunk-signature=<sig>]\\r\\n
    [<trailer name>:<value>\\r\\n ...]\\r\\n

(``STREAMING-UNSIGNED-PAYLOAD-TRAILER``, ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]``).
``ChunkDecoder.feed`` takes the body as it arrives and returns the payload bytes it holds;
``finish`` says whether the body ended where the encoding does, and gives the trailers (names
lower-cased). Malformed framing is ``InvalidRequest``; a body that stops early is ``IncompleteBody``.

Given a ``ChunkSigner`` (identity/chunks.py: the request's seed signature verified), every chunk's
``chunk-signature`` is checked as its data ends (the final 0-byte chunk's as its header is read),
each chained from the one before, and, for ``...-PAYLOAD-TRAILER``, the trailers'
``x-amz-trailer-signature``; a signature missing, malformed or wrong, trailers nobody signed, or a
body that ends before its final chunk's signature is ``SignatureDoesNotMatch`` (403), as on S3. The
data of a chunk is returned before its signature is checked (it follows the data): whoever stores
it keeps it only once ``finish`` has returned.
"""

from __future__ import annotations

import enum
import hashlib
import re

from lamina.identity.chunks import EMPTY_SHA256, ChunkSigner, canonical_trailers, matches
from lamina.objects.errors import IncompleteBody, InvalidRequest, SignatureDoesNotMatch

MAX_LINE = 4096  # a chunk header or a trailer line longer than this is not one an SDK sends
TRAILER_SIGNATURE = "x-amz-trailer-signature"
_CHUNK_SIGNATURE = re.compile(rb"chunk-signature=([0-9a-f]{64})")


class _State(enum.Enum):
    SIZE = 1
    DATA = 2
    DATA_END = 3
    TRAILER = 4
    DONE = 5


def _malformed() -> InvalidRequest:
    return InvalidRequest("The aws-chunked body is malformed.")


def mismatch(signer: ChunkSigner, string_to_sign: str | None = None, provided: str | None = None) -> (
        SignatureDoesNotMatch):  # fmt: skip
    """S3's error for a chunk (or trailer) whose signature is not the one expected (or missing:
    then there is no string it should have signed)."""
    fields = {"AWSAccessKeyId": signer.access_key_id}
    if string_to_sign is not None:
        fields |= {"StringToSign": string_to_sign, "SignatureProvided": provided or ""}
    return SignatureDoesNotMatch("The request signature we calculated does not match the signature you provided. "
                                 "Check your key and signing method.", **fields)  # fmt: skip


class ChunkDecoder:
    def __init__(self, signer: ChunkSigner | None = None) -> None:
        self._buf = bytearray()
        self._state = _State.SIZE
        self._left = 0
        self.trailers: dict[str, str] = {}
        self.decoded = 0
        self._signer = signer
        self._previous = signer.seed if signer is not None else ""  # the signature the next one chains
        self._provided = ""  # the current chunk's signature, as sent
        self._sha = hashlib.sha256()  # the current chunk's data (signed bodies only)
        self._trailer_lines: list[tuple[str, str]] = []  # in the order sent, for the trailer's signature

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
                piece = bytes(self._buf[:take])
                out.append(piece)
                if self._signer is not None:
                    self._sha.update(piece)
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
                self._check_chunk(self._sha.hexdigest())
                self._state = _State.SIZE
            elif self._state is _State.SIZE:
                size_text, _, extension = line.partition(b";")
                size_text = size_text.strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise _malformed() from None
                if size < 0 or size_text.startswith((b"-", b"+")):
                    raise _malformed()
                if self._signer is not None:
                    self._begin_chunk(extension.strip())
                if size == 0:
                    if self._signer is not None:
                        self._check_chunk(EMPTY_SHA256)
                    self._state = _State.TRAILER
                else:
                    self._left, self._state = size, _State.DATA
            elif self._state is _State.TRAILER:
                if not line:
                    if self._signer is not None:
                        self._check_trailers()
                    self._state = _State.DONE
                    continue
                name, sep, value = line.partition(b":")
                if not sep:
                    raise _malformed()
                key, text = name.strip().decode("latin-1").lower(), value.strip().decode("latin-1")
                self.trailers[key] = text
                if key != TRAILER_SIGNATURE:
                    self._trailer_lines.append((key, text))

    def _line(self) -> bytes | None:
        end = self._buf.find(b"\r\n")
        if end < 0:
            if len(self._buf) > MAX_LINE:
                raise _malformed()
            return None
        line = bytes(self._buf[:end])
        del self._buf[: end + 2]
        return line

    def _begin_chunk(self, extension: bytes) -> None:
        """A signed chunk's header read: its signature kept for when its data has been hashed."""
        found = _CHUNK_SIGNATURE.fullmatch(extension)
        self._provided = found[1].decode() if found is not None else extension.decode("latin-1")[:200]
        self._sha = hashlib.sha256()

    def _check_chunk(self, data_sha256: str) -> None:
        signer = self._signer
        if signer is None:
            return
        string_to_sign = signer.chunk_string(self._previous, data_sha256)
        expected = signer.sign(string_to_sign)
        if not matches(expected, self._provided):
            raise mismatch(signer, string_to_sign, self._provided)
        self._previous = expected

    def _check_trailers(self) -> None:
        """The body's end (the empty line after the trailers): the trailers' signature, when the
        request declared signed trailers; none may come unsigned otherwise."""
        signer = self._signer
        assert signer is not None
        provided = self.trailers.get(TRAILER_SIGNATURE)
        if not signer.trailer:
            if self.trailers:
                raise mismatch(signer)
            return
        string_to_sign = signer.trailer_string(self._previous,
                                               hashlib.sha256(canonical_trailers(self._trailer_lines)).hexdigest())  # fmt: skip
        expected = signer.sign(string_to_sign)
        if provided is None or not matches(expected, provided):
            raise mismatch(signer, string_to_sign, provided or "")
        self._previous = expected

    def finish(self) -> dict[str, str]:
        """The trailers, once the body has ended; ``IncompleteBody`` if the encoding had not
        (``SignatureDoesNotMatch`` for a signed body: its final chunk's signature never came)."""
        if self._state is not _State.DONE:
            if self._signer is not None:
                raise mismatch(self._signer)
            raise IncompleteBody("The request body terminated unexpectedly")
        return self.trailers
