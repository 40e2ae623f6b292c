"""A real Runtime API endpoint that records which encoding each call came in, for runtime tests."""

from __future__ import annotations

import json

from lamina.runtime.api import Invocation, RuntimeApiEndpoint
from lamina.runtime.http11 import Channel


class RecordingEndpoint(RuntimeApiEndpoint):
    """Records the kinds of connection the runtime's calls came on (``kinds``: class names)."""

    kinds: set[str]

    def handle_request(self, conn: Channel, method: str, path: str, headers: dict[str, str], body: bytes | None) -> None:
        self.kinds.add(type(conn).__name__)
        super().handle_request(conn, method, path, headers, body)


def invocation(n: int, event: object) -> Invocation:
    """Invocation ``req-<n>`` of ``event`` (as JSON), with a deadline far away."""
    return Invocation(request_id=f"req-{n}", payload=json.dumps(event).encode(), deadline_ms=2**41,
                      function_arn="arn:aws:lambda:us-east-1:000000000000:function:fn")  # fmt: skip
