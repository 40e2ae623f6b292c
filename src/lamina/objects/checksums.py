"""The checksums S3 accepts with an upload, computed as the body streams by (pure but for hashing).

An SDK names one algorithm (``x-amz-checksum-<algorithm>`` as a header, or as a trailer of an
``aws-chunked`` body announced by ``x-amz-trailer``) and sends its value: the big-endian digest in
base64. ``Checksums`` computes MD5 always (the ETag), and the named algorithm if any; ``verify``
says whether what was sent is what arrived (``BadDigest`` otherwise, ``InvalidRequest`` for a
value that cannot be one). CRC32C, CRC64NVME and the XXHash family come from awscrt, the AWS common
runtime botocore also uses for them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from typing import Protocol

from awscrt import checksums as crt

from lamina.objects.errors import BadDigest, InvalidDigest, InvalidRequest

ALGORITHMS = ("crc32", "crc32c", "crc64nvme", "sha1", "sha256", "sha512", "md5", "xxhash64", "xxhash3", "xxhash128")
_SIZES = {"crc32": 4, "crc32c": 4, "crc64nvme": 8, "sha1": 20, "sha256": 32, "sha512": 64, "md5": 16, "xxhash64": 8,
          "xxhash3": 8, "xxhash128": 16}  # fmt: skip


class _Hash(Protocol):
    def update(self, data: bytes) -> None: ...

    def digest(self) -> bytes: ...


class _Crc:
    def __init__(self, algorithm: str) -> None:
        self._algorithm = algorithm
        self._value = 0

    def update(self, data: bytes) -> None:
        if self._algorithm == "crc32":
            self._value = zlib.crc32(data, self._value)
        elif self._algorithm == "crc32c":
            self._value = crt.crc32c(data, self._value)
        else:
            self._value = crt.crc64nvme(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(_SIZES[self._algorithm], "big")


class _XXHash:
    def __init__(self, algorithm: str) -> None:
        make = {"xxhash64": crt.XXHash.new_xxhash64, "xxhash3": crt.XXHash.new_xxhash3_64,
                "xxhash128": crt.XXHash.new_xxhash3_128}[algorithm]  # fmt: skip
        self._hash = make()

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def digest(self) -> bytes:
        return bytes(self._hash.finalize())


def _hasher(algorithm: str) -> _Hash:
    if algorithm in ("sha1", "md5"):
        return hashlib.new(algorithm, usedforsecurity=False)
    if algorithm in ("sha256", "sha512"):
        return hashlib.new(algorithm)
    if algorithm.startswith("xxhash"):
        return _XXHash(algorithm)
    return _Crc(algorithm)


def header_name(algorithm: str) -> str:
    return f"x-amz-checksum-{algorithm}"


class Checksums:
    """MD5 and, if ``algorithm`` is given, one of ``ALGORITHMS`` over the same bytes."""

    def __init__(self, algorithm: str | None) -> None:
        self.algorithm = algorithm
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._other = _hasher(algorithm) if algorithm is not None else None

    def update(self, data: bytes) -> None:
        self._md5.update(data)
        if self._other is not None:
            self._other.update(data)

    def md5(self) -> bytes:
        return self._md5.digest()

    def value(self) -> str | None:
        """The named algorithm's checksum as S3 returns it (base64), if one was named."""
        return base64.b64encode(self._other.digest()).decode() if self._other is not None else None

    def verify(self, sent: str | None) -> None:
        if self.algorithm is None or sent is None:
            return
        name = header_name(self.algorithm)
        try:
            raw = base64.b64decode(sent, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest(f"Value for {name} header is invalid.") from None
        if len(raw) != _SIZES[self.algorithm]:
            raise InvalidRequest(f"Value for {name} header is invalid.")
        assert self._other is not None
        if raw != self._other.digest():
            kind = self.algorithm.upper()
            raise BadDigest(f"The {kind} you specified did not match the calculated checksum.")


def check_md5(sent: str | None, md5: bytes) -> None:
    """Content-MD5 (base64 of the binary digest) against what arrived."""
    if sent is None:
        return
    try:
        raw = base64.b64decode(sent, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidDigest("The Content-MD5 you specified was invalid.", **{"Content-MD5": sent}) from None
    if len(raw) != 16:
        raise InvalidDigest("The Content-MD5 you specified was invalid.", **{"Content-MD5": sent})
    if raw != md5:
        raise BadDigest("The Content-MD5 you specified did not match what we received.",
                        ExpectedDigest=sent, CalculatedDigest=base64.b64encode(md5).decode())  # fmt: skip


def requested_algorithm(headers: dict[str, str]) -> tuple[str | None, str | None, bool]:
    """(algorithm, the value sent as a header, whether it comes as a trailer) from a request's
    headers (names lower-cased); (None, None, False) when none is named."""
    trailer = headers.get("x-amz-trailer", "").strip().lower()
    if trailer:
        algorithm = trailer.removeprefix("x-amz-checksum-")
        if algorithm not in ALGORITHMS or not trailer.startswith("x-amz-checksum-"):
            raise InvalidRequest("The value specified in the x-amz-trailer header is not supported")
        return algorithm, None, True
    for algorithm in ALGORITHMS:
        sent = headers.get(header_name(algorithm))
        if sent is not None:
            return algorithm, sent, False
    declared = headers.get("x-amz-sdk-checksum-algorithm", "").lower()
    if declared and declared not in ALGORITHMS and declared != "md5":
        raise InvalidRequest("Checksum algorithm provided is unsupported. Please try again with any of the valid "
                             "types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256, SHA512, MD5, XXHASH64, XXHASH3, "
                             "XXHASH128]")  # fmt: skip
    return None, None, False


def check_whole(headers: dict[str, str], body: bytes) -> None:
    """A small body read whole (an XML request): its Content-MD5 and checksum header, if sent."""
    algorithm, sent, _ = requested_algorithm({k: v for k, v in headers.items() if k != "x-amz-trailer"})
    sums = Checksums(algorithm)
    sums.update(body)
    sums.verify(sent)
    check_md5(headers.get("content-md5"), sums.md5())
