"""The chunk signatures of S3's chunk-signed uploads (``aws-chunked`` bodies whose
``X-Amz-Content-SHA256`` is ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]``), as AWS defines them
(S3 API reference, "Transferring payload in multiple chunks" and "Including trailing headers").

The request's own signature (the *seed*) covers its headers only; each chunk then carries
``<hex size>;chunk-signature=<sig>``, the HMAC, with the same derived key as the seed's, of::

    AWS4-HMAC-SHA256-PAYLOAD \\n <X-Amz-Date> \\n <scope> \\n <previous signature> \\n
    <SHA-256 of ""> \\n <SHA-256 of the chunk's data>

(the lines joined by ``\\n``; the previous signature is the seed's for the first chunk), the
final 0-byte chunk included. With trailing headers, ``x-amz-trailer-signature`` signs
``AWS4-HMAC-SHA256-TRAILER \\n <X-Amz-Date> \\n <scope> \\n <final chunk's signature> \\n
<SHA-256 of the trailers as "name:value\\n" each>``. Each signature chains the one before, so a
chunk changed, dropped, repeated or moved changes every signature after it.

``ChunkSigner`` is what verifying them needs, made once the seed verified (api/authentication.py
puts it on the request as ``CHUNK_SIGNER``; objects/chunked.py checks each chunk as it arrives):
immutable, pure (hmac and hashlib), no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Iterable

from aiohttp import web

from lamina.identity.principals import Caller
from lamina.identity.sigv4 import SignedRequest

SIGNED_STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_STREAMING_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
CHUNK_ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD"
TRAILER_ALGORITHM = "AWS4-HMAC-SHA256-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_SIGNATURE = "Signature="
_CREDENTIAL = re.compile(r"Credential=(?P<key>[^/,\s]+)/(?P<scope>[^/,\s]+/[^/,\s]+/[^/,\s]+/aws4_request)\s*,")


def signs_chunks(content_sha256: str | None) -> bool:
    """Whether a request's ``X-Amz-Content-SHA256`` says its body's chunks are signed."""
    return content_sha256 in (SIGNED_STREAMING, SIGNED_STREAMING_TRAILER)


def signing_key(secret_access_key: str, day: str, region: str, service: str) -> bytes:
    """SigV4's derived signing key: HMAC("AWS4" + secret, day) -> region -> service -> "aws4_request"."""
    key = ("AWS4" + secret_access_key).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def canonical_trailers(trailers: Iterable[tuple[str, str]]) -> bytes:
    """The trailing headers as their signature covers them: ``name:value\\n`` each, in the order
    sent, names lower-cased, values trimmed (``x-amz-trailer-signature`` itself excluded)."""
    return b"".join(f"{name.strip().lower()}:{value.strip()}\n".encode("latin-1") for name, value in trailers)


@dataclass(frozen=True)
class ChunkSigner:
    """Signs the chunks of one request: its key's derived signing key, its ``X-Amz-Date``, its
    credential scope, and the seed (the request's verified signature), which the first chunk's
    signature chains. ``trailer``: the request declared signed trailing headers."""

    key: bytes = field(repr=False)
    amz_date: str
    scope: str  # <day>/<region>/<service>/aws4_request
    seed: str
    access_key_id: str
    trailer: bool = False

    def chunk_string(self, previous: str, data_sha256: str) -> str:
        """The string a chunk's signature signs: ``data_sha256`` is the hex SHA-256 of its data."""
        return "\n".join((CHUNK_ALGORITHM, self.amz_date, self.scope, previous, EMPTY_SHA256, data_sha256))

    def trailer_string(self, previous: str, trailers_sha256: str) -> str:
        """The string the trailer's signature signs: ``trailers_sha256`` is the hex SHA-256 of
        ``canonical_trailers``; ``previous`` the final (0-byte) chunk's signature."""
        return "\n".join((TRAILER_ALGORITHM, self.amz_date, self.scope, previous, trailers_sha256))

    def sign(self, string_to_sign: str) -> str:
        return hmac.new(self.key, string_to_sign.encode(), hashlib.sha256).hexdigest()

    def chunk(self, previous: str, data_sha256: str) -> str:
        """The signature of a chunk whose data hashes to ``data_sha256``, after ``previous``."""
        return self.sign(self.chunk_string(previous, data_sha256))


def matches(expected: str, provided: str) -> bool:
    """Whether a provided signature is the expected one (in constant time)."""
    return hmac.compare_digest(expected.encode(), provided.encode("latin-1", "replace"))


def chunk_signer(caller: Caller, request: SignedRequest) -> ChunkSigner | None:
    """The signer of ``request``'s chunks, once its seed signature verified with ``caller``'s key
    (identity/sigv4.py's ``verify``); None if the request does not sign its chunks, or if it
    carries no ``Authorization`` header of SigV4 to take the seed from (a presigned URL, S3's
    signature version 2: neither can sign chunks, so such a request is refused)."""
    declared = request.header("x-amz-content-sha256")
    authorization, amz_date = request.header("authorization"), request.header("x-amz-date")
    if not signs_chunks(declared) or authorization is None or amz_date is None:
        return None
    text = authorization.strip()
    head, _, tail = text.rpartition(",")  # as sigv4.py reads it: the signature after the last comma
    credential, seed = _CREDENTIAL.search(head + ","), tail.strip()
    if credential is None or not text.startswith("AWS4-HMAC-SHA256") or not seed.startswith(_SIGNATURE):
        return None
    seed = seed[len(_SIGNATURE) :]
    scope = credential["scope"]
    day, region, service, _ = scope.split("/")
    key = caller.key
    return ChunkSigner(signing_key(key.secret_access_key, day, region, service), amz_date.strip(), scope, seed,
                       key.access_key_id, trailer=declared == SIGNED_STREAMING_TRAILER)  # fmt: skip


CHUNK_SIGNER = web.RequestKey("chunk_signer", ChunkSigner)
