"""An object's headers and body as GetObject and HeadObject answer them: conditional requests,
one byte range, the body streamed from its file."""

from __future__ import annotations

import asyncio
from typing import BinaryIO

from aiohttp import web

from lamina.objects import wire
from lamina.objects.call import Call
from lamina.objects.checksums import header_name
from lamina.objects.errors import InvalidArgument, InvalidPartNumber, PreconditionFailed
from lamina.objects.etags import quoted
from lamina.objects.model import StoredObject
from lamina.objects.ranges import ByteRange, Outcome, byte_range, precondition

READ_SIZE = 256 * 1024
# Response header overrides a GET may ask for (response-content-type=...), as S3 allows.
_OVERRIDES = {
    "response-content-type": "Content-Type", "response-content-language": "Content-Language",
    "response-expires": "Expires", "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition", "response-content-encoding": "Content-Encoding",
}  # fmt: skip


def object_headers(call: Call, obj: StoredObject, *, whole: bool = True) -> dict[str, str]:
    """``whole``: the answer is the whole object (a range's answer carries no whole-object checksum)."""
    headers = wire.base_headers(call.request_id)
    headers.update({"ETag": quoted(obj.etag), "Last-Modified": wire.http_date(obj.modified_ms),
                    "Content-Type": obj.attributes.content_type, "Accept-Ranges": "bytes"})  # fmt: skip
    headers.update(obj.attributes.headers)
    for name, value in obj.attributes.metadata.items():
        headers[f"x-amz-meta-{name}"] = value
    if obj.attributes.tags:
        headers["x-amz-tagging-count"] = str(len(obj.attributes.tags))
    algorithm = obj.attributes.checksum_algorithm
    if whole and call.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED" and algorithm and obj.checksum:
        headers[header_name(algorithm)] = obj.checksum
        headers["x-amz-checksum-type"] = obj.checksum_type
    if obj.part_sizes and "partNumber" in call.query:
        headers["x-amz-mp-parts-count"] = str(obj.parts)
    return headers


def _open(call: Call) -> tuple[StoredObject, BinaryIO]:
    """The object and its body opened (a body replaced meanwhile: its successor)."""
    for _ in range(3):
        obj = call.objects.get(call.bucket, call.key)
        try:
            return obj, open(call.objects.bodies.path(obj.file), "rb")
        except FileNotFoundError:
            continue
    obj = call.objects.get(call.bucket, call.key)
    return obj, open(call.objects.bodies.path(obj.file), "rb")


def _part(call: Call, obj: StoredObject) -> ByteRange | None:
    """GetObject's ``partNumber``: the bytes of that part of a multipart object (of a whole one, part 1 is all of it)."""
    raw = call.query["partNumber"]
    count = len(obj.part_sizes) or 1
    if not raw.isdigit() or not 1 <= int(raw) <= 10000:
        raise InvalidArgument("Part number must be an integer between 1 and 10000, inclusive",
                              ArgumentName="partNumber", ArgumentValue=raw)  # fmt: skip
    number = int(raw)
    if number > count:
        raise InvalidPartNumber("The requested partnumber is not satisfiable", PartNumberRequested=raw,
                                ActualPartCount=str(count))  # fmt: skip
    if not obj.part_sizes:
        return None
    start = sum(obj.part_sizes[: number - 1])
    return ByteRange(start, start + obj.part_sizes[number - 1] - 1)


async def serve(call: Call, *, head: bool) -> web.StreamResponse:
    obj, body = _open(call)
    try:
        outcome = precondition(call.headers_titled, obj.etag, obj.modified_ms // 1000)
        if outcome is Outcome.FAILED:
            failed = "If-Match" if "if-match" in call.headers else "If-Unmodified-Since"
            raise PreconditionFailed("At least one of the pre-conditions you specified did not hold", Condition=failed)
        if outcome is Outcome.NOT_MODIFIED:
            kept = {k: v for k, v in object_headers(call, obj).items()
                    if k in ("ETag", "Last-Modified", "x-amz-request-id", "x-amz-id-2")}  # fmt: skip
            return web.Response(status=304, headers=kept)
        if "partNumber" in call.query:
            chosen = _part(call, obj)
        else:
            chosen = byte_range(call.headers.get("range"), obj.size)
        headers = object_headers(call, obj, whole=chosen is None)
        for name, header in _OVERRIDES.items():
            if name in call.query:
                headers[header] = call.query[name]
        response = web.StreamResponse(status=206 if chosen else 200, headers=headers)
        start, length = (chosen.start, chosen.length) if chosen else (0, obj.size)
        if chosen:
            response.headers["Content-Range"] = chosen.content_range(obj.size)
        response.content_length = length
        await response.prepare(call.request)
        try:
            if not head:
                body.seek(start)
                while length > 0:
                    data = await asyncio.to_thread(body.read, min(READ_SIZE, length))
                    if not data:
                        break  # cannot be: the file is the object's whole body
                    await response.write(data)
                    length -= len(data)
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client went away mid-body: nothing to answer, nothing to report
        return response
    finally:
        body.close()
