"""An upload's body, streamed from the request to a file as it arrives, decoded and checked.

Handles plain bodies (Content-Length or HTTP chunked) and ``aws-chunked`` ones (``chunked.py``;
their chunk signatures checked with the request's ``CHUNK_SIGNER``, which the authentication
middleware sets once the seed signature verified), with the checksum the SDK names checked against a header or a trailer (``checksums.py``) and
Content-MD5. Nothing is held in memory beyond one read; anything wrong (too large, cut short,
a digest that does not match) removes the file and raises S3's error, so nothing is stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass

from aiohttp import web

from lamina.identity.chunks import CHUNK_SIGNER
from lamina.objects.checksums import Checksums, check_md5, header_name, requested_algorithm
from lamina.objects.chunked import ChunkDecoder
from lamina.objects.errors import ContentSha256Mismatch, EntityTooLarge, IncompleteBody, InvalidArgument, InvalidRequest
from lamina.objects.errors import MalformedXML, MissingContentLength
from lamina.objects.files import Bodies, Incoming

MAX_OBJECT_BYTES = 5 * 1024**3
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")  # a single PUT's limit (5 GiB), and a part's


@dataclass(frozen=True)
class Received:
    body: Incoming
    md5: bytes
    algorithm: str | None
    checksum: str | None  # the algorithm's value (base64) when one was named


def lowered(request: web.Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


def _too_large(size: int, limit: int) -> EntityTooLarge:
    return EntityTooLarge("Your proposed upload exceeds the maximum allowed size",
                          ProposedSize=str(size), MaxSizeAllowed=str(limit))  # fmt: skip


def is_aws_chunked(headers: dict[str, str]) -> bool:
    encodings = [e.strip().lower() for e in headers.get("content-encoding", "").split(",")]
    return "aws-chunked" in encodings or headers.get("x-amz-content-sha256", "").startswith("STREAMING-")


def stored_encoding(headers: dict[str, str]) -> str | None:
    """The Content-Encoding to keep with the object: what was sent, without ``aws-chunked``."""
    kept = [e.strip() for e in headers.get("content-encoding", "").split(",") if e.strip()
            and e.strip().lower() != "aws-chunked"]  # fmt: skip
    return ", ".join(kept) or None


async def receive(request: web.Request, bodies: Bodies, *, timeout: float, limit: int = MAX_OBJECT_BYTES) -> Received:
    headers = lowered(request)
    chunked = is_aws_chunked(headers)
    declared_text = headers.get("x-amz-decoded-content-length") if chunked else headers.get("content-length")
    declared: int | None = None
    if declared_text is not None:
        try:
            declared = int(declared_text)
        except ValueError:
            raise InvalidArgument("x-amz-decoded-content-length is not a number") from None
        if declared > limit:
            raise _too_large(declared, limit)
    if not chunked and "content-length" not in headers and "transfer-encoding" not in headers:
        raise MissingContentLength("You must provide the Content-Length HTTP header.")
    algorithm, sent, trailer = requested_algorithm(headers)
    sums = Checksums(algorithm)
    # A plain body signed with its SHA-256 (what SDKs send over plain HTTP) is checked against it.
    signed_sha = headers.get("x-amz-content-sha256", "").lower()
    payload_sha = hashlib.sha256() if not chunked and _SHA256_HEX.fullmatch(signed_sha) else None
    decoder = ChunkDecoder(request.get(CHUNK_SIGNER)) if chunked else None
    body = bodies.start()
    try:
        while True:
            try:
                data = await asyncio.wait_for(request.content.readany(), timeout)
            except TimeoutError:
                raise IncompleteBody("The request body did not arrive in time.") from None
            except Exception as exc:  # the connection ended before the body did
                raise IncompleteBody("The request body terminated unexpectedly") from exc
            if not data:
                break
            for piece in decoder.feed(data) if decoder is not None else (data,):
                sums.update(piece)
                body.write(piece)
            if payload_sha is not None:
                payload_sha.update(data)
            if body.size > limit:
                raise _too_large(body.size, limit)
        if decoder is not None:
            trailers = decoder.finish()
            if trailer and algorithm is not None:
                sent = trailers.get(header_name(algorithm))
                if sent is None:
                    raise InvalidRequest(f"The {header_name(algorithm)} trailer is missing.")
        if declared is not None and body.size != declared:
            raise IncompleteBody("You did not provide the number of bytes specified by the Content-Length HTTP header")
        if payload_sha is not None and payload_sha.hexdigest() != signed_sha:
            raise ContentSha256Mismatch("The provided 'x-amz-content-sha256' header does not match what was computed.",
                                        ClientComputedContentSHA256=signed_sha,
                                        S3ComputedContentSHA256=payload_sha.hexdigest())  # fmt: skip
        sums.verify(sent)
        check_md5(headers.get("content-md5"), sums.md5())
    except BaseException:
        body.discard()
        raise
    return Received(body, sums.md5(), algorithm, sums.value())


async def read_small(request: web.Request, limit: int, timeout: float) -> bytes:
    """A body small by nature (an XML request) read whole; more than ``limit`` bytes is MalformedXML.
    A body signed with its SHA-256 (X-Amz-Content-SHA256) must have it."""
    data = bytearray()
    while True:
        try:
            chunk = await asyncio.wait_for(request.content.readany(), timeout)
        except TimeoutError:
            raise IncompleteBody("The request body did not arrive in time.") from None
        if not chunk:
            signed_sha = request.headers.get("x-amz-content-sha256", "").lower()
            if _SHA256_HEX.fullmatch(signed_sha) and (computed := hashlib.sha256(data).hexdigest()) != signed_sha:
                raise ContentSha256Mismatch("The provided 'x-amz-content-sha256' header does not match what was "
                                            "computed.", ClientComputedContentSHA256=signed_sha,
                                            S3ComputedContentSHA256=computed)  # fmt: skip
            return bytes(data)
        data += chunk
        if len(data) > limit:
            raise MalformedXML()
