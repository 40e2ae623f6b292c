"""Lamina's native code (native/ in Lamina's repository): a Rust extension module."""

from typing import Any, Sequence

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

# The events DataPlane.take returns (see docs/architecture.md, "The two planes"):
#   ("conn", fd, data): a connection handed over for good, with the bytes read of it
#   ("renew", access_key_id, region, function, qualifier, peer): a permit in use nears its end
#       (grant another with permit(), or let it end); peer: the client's address
#   ("miss", token, head, body, close, peer): a plain Invoke for Python to answer (answer(token,
#       bytes)), from the client at address peer
#   ("done", env_id, request_id, start, duration_ms, error_type, before, output, returned, eof):
#       an invocation the plane ran and answered; returned: (fd, data, waiting) when the
#       environment comes back with it (else it stays lent)
#   ("ran", token, result, env_id, request_id, start, duration_ms, error_type, before, output,
#       returned, eof): an invocation Python started (run()) that the plane ran, with its result's
#       bytes; the rest as in "done"
#   ("back", env_id, token, request_id, start, elapsed_ms, deadline_ms, trace_id, before, output,
#       returned, close, request, peer): an invocation given back mid-way, whose client Python
#       answers; request: (head, body) when the runtime never got its event; for an invocation
#       Python started, token is run()'s, nothing is answered, and request is (b"", b"") when the
#       runtime never got its event
Returned = tuple[int, bytes, bool]
Event = tuple[Any, ...]

class DataPlane:
    """The native data plane for warm Invokes: it owns the listener ``listener_fd`` (a duplicate;
    the caller keeps and closes its own) on a thread of its own."""

    def __init__(
        self,
        listener_fd: int,
        *,
        region: str,
        verify: bool,
        payload_limit: int,
        max_response: int,
        header_timeout: float,
        body_timeout: float,
        turnaround: float,
        output_cap: int,
        server: str,
    ) -> None: ...
    def fileno(self) -> int:
        """The wake pipe: readable when events wait."""
    def take(self) -> list[Event]:
        """The events queued since the last call."""
    def answer(self, token: int, data: bytes | None) -> bool:
        """The answer's bytes to a miss or an invocation given back; None: hand the connection over."""
    def lend(
        self,
        env_id: int,
        lane: tuple[str, str, str, str],
        sock_fd: int,
        pipe_fd: int,
        *,
        arn: str,
        version: str,
        timeout: float,
        sampled: bool,
        retire_in: float | None,
        http: bool = False,
    ) -> None:
        """Lend an environment to a lane (account, region, function, qualifier or ""); its runtime
        speaks HTTP/1.1 on ``sock_fd`` (``http``) or frames; it takes no invocation after
        ``retire_in`` seconds (None: no such time). ValueError (closing): the connection ``sock_fd``
        is still the caller's; OSError: the plane has closed it."""
    def run(
        self,
        lane: tuple[str, str, str, str],
        request_id: str,
        payload: bytes,
        *,
        arn: str,
        client_context: bytes | None = None,
    ) -> int | None:
        """Run an invocation Python started in an idle environment lent to ``lane``: its token (the
        "ran" or "back" event that ends it carries it), or None when the lane has no idle
        environment (Python runs it itself). ``arn``: the function's ARN as invoked."""
    def reclaim(self, env_id: int, *, now: bool = False) -> tuple[int, bytes, bool, int] | None:
        """An idle lent environment back now, as ``Returned`` and how many invocations the plane
        started in it (the completion of the last may not have been taken yet); a busy one with its
        completion or, ``now``, given back at once with its invocation."""
    def unsettled(self) -> list[int]:
        """The lent environments idle in the plane whose runtime closed its end or sent what was
        not asked for (exiting, or broken): to be taken back."""
    def idle_for(self, env_id: int) -> float | None:
        """Seconds a lent environment has been idle (None: busy, or not lent)."""
    def permit(
        self,
        peer: str,
        access_key_id: str,
        region: str,
        function: str,
        qualifier: str,
        lane: tuple[str, str, str, str],
        *,
        secret: str,
        token: str | None,
        key_expires: float | None,
        ttl: float,
        epoch: int,
    ) -> bool:
        """Grant a permit to the client at address ``peer``, decided in ``epoch``; False if that
        epoch has passed."""
    def epoch(self) -> int: ...
    def revoke(self) -> None:
        """Void every permit (a new epoch)."""
    def counts(self) -> tuple[int, int, int, int, int, int, int, int, int]:
        """(served, missed, handed over, given back, in flight, connections given back by Python,
        environments lent, lent ones reclaimed, invocations Python started that it ran)."""
    def adopt(self, fd: int) -> None:
        """Serve a connection handed over earlier that Python gives back (idle, nothing unread)."""
    def close(self) -> None: ...
    def join(self, timeout: float) -> bool: ...
