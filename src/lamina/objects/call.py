"""One S3 request as the operations see it: the store, the bucket and key it names, its id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from aiohttp import web

from lamina.identity.principals import ANONYMOUS, caller_of
from lamina.objects.errors import InvalidArgument
from lamina.objects.service import Caller, ObjectStore
from lamina.settings import Settings


@dataclass(frozen=True)
class Call:
    request: web.Request
    objects: ObjectStore
    settings: Settings
    request_id: str
    bucket: str
    key: str
    headers: Mapping[str, str]  # names lower-cased

    @property
    def headers_titled(self) -> Mapping[str, str]:
        """The request's headers, case-insensitive (conditional headers are read by their names)."""
        return self.request.headers

    @property
    def query(self) -> Mapping[str, str]:
        return self.request.query

    def caller(self) -> Caller:
        peer = self.request.transport.get_extra_info("peername") if self.request.transport is not None else None
        ip = peer[0] if isinstance(peer, tuple) and peer else "127.0.0.1"
        return Caller(self.request_id, str(ip), self.principal())

    def principal(self) -> str:
        """Who asks, as S3's event records name them: the caller's account (another account's, on a
        bucket its policy opens to it), ``Anonymous`` for an unsigned request."""
        if self.request.get(ANONYMOUS):
            return "Anonymous"
        signed = caller_of(self.request)
        return signed.account_id if signed is not None else self.settings.account_id

    def int_query(self, name: str, default: int, *, low: int = 0, high: int | None = None) -> int:
        raw = self.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise InvalidArgument(f"Provided {name} not an integer or within integer range",
                                  ArgumentName=name, ArgumentValue=raw) from None  # fmt: skip
        if value < low:
            raise InvalidArgument(f"Argument {name} must be an integer between {low} and 2147483647",
                                  ArgumentName=name, ArgumentValue=raw)  # fmt: skip
        return value if high is None else min(value, high)
