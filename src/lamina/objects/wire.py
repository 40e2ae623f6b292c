"""S3's answers as aiohttp responses: XML documents, XML errors, and the headers every answer
carries (``x-amz-request-id``, ``x-amz-id-2``)."""

from __future__ import annotations

import base64
import time
from email.utils import formatdate

from aiohttp import web

from lamina.errors import ApiError
from lamina.objects.errors import S3Error
from lamina.objects.xmlio import DECLARATION, NAMESPACE, Node, document, escape_text

XML = "application/xml"


def host_id(request_id: str) -> str:
    return base64.b64encode(request_id.encode()).decode()


def base_headers(request_id: str) -> dict[str, str]:
    return {"x-amz-request-id": request_id, "x-amz-id-2": host_id(request_id), "Server": "AmazonS3"}


def xml(request_id: str, tag: str, children: list[Node], *, status: int = 200) -> web.Response:
    return web.Response(status=status, body=document(tag, children), content_type=XML,
                        headers=base_headers(request_id))  # fmt: skip


def empty(request_id: str, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, headers={**base_headers(request_id), **(headers or {})})


def error(exc: ApiError, request_id: str, resource: str, *, head: bool = False) -> web.Response:
    """S3's ``<Error>``; a HEAD's answer has no body (S3 sends none), only the status."""
    children: list[Node] = [("Code", exc.code), ("Message", exc.message)]
    fields = exc.fields if isinstance(exc, S3Error) else {}
    children += [(name, value) for name, value in fields.items()]
    if "Resource" not in fields and not any(k in fields for k in ("BucketName", "Key")):
        children.append(("Resource", resource))
    children += [("RequestId", request_id), ("HostId", host_id(request_id))]
    headers = base_headers(request_id)
    if head:
        return web.Response(status=exc.status, headers=headers)
    body = document("Error", children, namespace=False)
    return web.Response(status=exc.status, body=body, content_type=XML, headers=headers)


def iso(ms: int) -> str:
    """S3's timestamps in XML: ``2024-05-01T12:00:00.000Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def http_date(ms: int) -> str:
    return formatdate(ms // 1000, usegmt=True)


def document_text(tag: str, value: str) -> bytes:
    """A document whose root holds only text (GetBucketLocation's)."""
    return DECLARATION + f'<{tag} xmlns="{NAMESPACE}">{escape_text(value)}</{tag}>'.encode()
