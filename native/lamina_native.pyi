"""Lamina's native code (native/ in Lamina's repository): a Rust extension module."""

from typing import Sequence

def signature(
    method: str,
    path: str,
    query: str,
    headers: Sequence[tuple[str, str]],
    access_key_id: str,
    secret_access_key: str,
    session_token: str | None,
    region: str,
    service: str,
    time: int,
    payload: str,
    presigned_expires: int | None,
    s3: bool,
    signed: str,
) -> str | None:
    """The hex SigV4 signature that ``secret_access_key`` makes over a request, computed by AWS's
    aws-sigv4 crate, signing exactly the headers named in ``signed`` (SignedHeaders as sent).

    ``path`` and ``query``: as sent (a presigned URL's query without its X-Amz-Algorithm,
    -Credential, -Date, -Expires, -SignedHeaders, -Signature and -Security-Token, which the signer
    adds back); ``headers``: the signed headers by lower-case name, repeats joined with commas;
    ``session_token``: the one the request carries; ``time``: X-Amz-Date in seconds since the
    epoch; ``payload``: the canonical request's payload line (the body's SHA-256 or one of S3's
    values); ``presigned_expires``: X-Amz-Expires for a presigned URL, None for the Authorization
    header; ``s3``: S3's URI rules (no double encoding, no path normalization).

    None: declined, the request is one it cannot read exactly as sent, whose query or path it
    would canonicalize otherwise than awscrt, or whose headers it would sign otherwise than the
    client did or awscrt would not sign; the caller computes it another way (awscrt).
    """
