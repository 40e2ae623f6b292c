"""Signing the tests' own HTTP requests (botocore's SigV4Auth), as every SDK signs them.

Lamina verifies every request to its API; tests that speak HTTP themselves (urllib, http.client,
raw sockets) sign through here, with the development pair unless told otherwise. Tests about
unsigned requests simply do not.
"""

from __future__ import annotations

import urllib.request
from http.client import HTTPResponse
from typing import Any, Mapping
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from lamina.api import scopes

KEY, SECRET, REGION = "test", "test", "us-east-1"


def service_of(method: str, url: str, body: bytes, sent: Mapping[str, str]) -> str:
    """The service a request is for, as Lamina tells it (api/scopes.py: by its X-Amz-Target, its
    path, its query Version); else Lambda."""
    parts = urlsplit(url)
    named = {name.title(): value for name, value in sent.items()}  # X-Amz-Target, Content-Type, Host
    return scopes.service_of(method, unquote(parts.path), parts.query, named, body) or scopes.LAMBDA


def headers(method: str, url: str, body: bytes = b"", sent: Mapping[str, str] | None = None, *,
            service: str | None = None, key: str = KEY, secret: str = SECRET, token: str | None = None,
            region: str = REGION) -> dict[str, str]:  # fmt: skip
    """The headers that sign a request (``sent``: the others it carries, signed too; the Host is
    the URL's unless ``sent`` names one). S3's (``service="s3"``) carry X-Amz-Content-SHA256."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(sent or {}))
    if not any(name.lower() == "host" for name in request.headers.keys()):
        request.headers["Host"] = urlsplit(url).netloc
    service = service or service_of(method, url, body, sent or {})
    signer = S3SigV4Auth if service == "s3" else SigV4Auth
    signer(Credentials(key, secret, token), service, region).add_auth(request)
    names = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-SHA256")
    return {name: str(request.headers[name]) for name in names if name in request.headers}


def encoded(url: str) -> str:
    """``url`` with its query's names and values percent-encoded as SDKs send them (an ARN's colons
    too): SigV4 signs the query so encoded."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = (pair.partition("=") for pair in parts.query.split("&") if pair)
    query = "&".join(f"{quote(unquote(k), safe='-_.~')}={quote(unquote(v), safe='-_.~')}" for k, _, v in pairs)
    return urlunsplit(parts._replace(query=query))


def sign(request: urllib.request.Request, *, service: str | None = None, key: str = KEY, secret: str = SECRET) -> (
        urllib.request.Request):  # fmt: skip
    """``request``, signed (its query encoded as SDKs encode it, first)."""
    request.full_url = encoded(request.full_url)
    data = request.data if isinstance(request.data, bytes) else b""
    for name, value in headers(request.get_method(), request.full_url, data, dict(request.header_items()),
                               service=service, key=key, secret=secret).items():  # fmt: skip
        request.add_header(name, value)
    return request


def urlopen(target: str | urllib.request.Request, *, timeout: float = 30, service: str | None = None, **kw: Any) -> (
        HTTPResponse):  # fmt: skip
    """``urllib.request.urlopen``, signed."""
    request = urllib.request.Request(target) if isinstance(target, str) else target
    response: HTTPResponse = urllib.request.urlopen(sign(request, service=service, **kw), timeout=timeout)
    return response


def s3_headers(method: str, url: str, sent: Mapping[str, str] | None = None, *, key: str = KEY,
               secret: str = SECRET) -> dict[str, str]:  # fmt: skip
    """The headers that sign a raw request to S3 (``url``: by its address, e.g.
    ``http://s3.localhost:<port>/<bucket>/<key>``): the X-Amz-Content-SHA256 ``sent`` names (S3
    checks the body against it as it arrives), else UNSIGNED-PAYLOAD. Signed with awscrt, which
    keeps the path as sent (S3's rules)."""
    from lamina.identity.signing import Credentials, sign as crt_sign

    sent = dict(sent or {})
    declared = {k: v for k, v in sent.items() if k.lower() == "x-amz-content-sha256"} or {
        "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}  # fmt: skip
    others = {k: v for k, v in sent.items() if k.lower() != "host"}
    signed = crt_sign(method, url, {**others, **declared}, b"", Credentials(key, secret), region=REGION, service="s3")
    return {**declared, **signed}
