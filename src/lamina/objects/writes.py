"""Object writes: PutObject, CopyObject, DeleteObject, DeleteObjects, and objects' tags."""

from __future__ import annotations

import asyncio
import time
from typing import Mapping
from urllib.parse import unquote

from aiohttp import web

from lamina.objects import tagging, wire
from lamina.objects.call import Call
from lamina.objects.checksums import ALGORITHMS, Checksums, check_whole, header_name
from lamina.objects.errors import InvalidArgument, InvalidRequest, MalformedXML, NoSuchKey, NotImplementedYet
from lamina.objects.errors import MetadataTooLarge, PreconditionFailed
from lamina.objects.etags import quoted, unquoted
from lamina.objects.files import Incoming
from lamina.objects.model import CONTENT_HEADERS, Attributes, StoredObject
from lamina.objects.names import MAX_KEY_BYTES, check_key
from lamina.objects.ranges import Outcome, precondition
from lamina.objects.receive import read_small, receive, stored_encoding
from lamina.objects.service import Condition
from lamina.objects.xmlio import MAX_BODY, Node, parse, text

MAX_DELETE_KEYS = 1000
MAX_METADATA_BYTES = 2048  # user metadata, names and values, in UTF-8


def attributes(headers: Mapping[str, str], algorithm: str | None) -> Attributes:
    kept = {name: headers[name.lower()] for name in CONTENT_HEADERS if name.lower() in headers}
    encoding = stored_encoding(dict(headers))
    kept.pop("Content-Encoding", None)
    if encoding:
        kept["Content-Encoding"] = encoding
    metadata = {k[len("x-amz-meta-"):]: v for k, v in headers.items() if k.startswith("x-amz-meta-")}
    size = sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())
    if size > MAX_METADATA_BYTES:
        raise MetadataTooLarge("Your metadata headers exceed the maximum allowed metadata size",
                               Size=str(size), MaxSizeAllowed=str(MAX_METADATA_BYTES))  # fmt: skip
    tags = tagging.from_header(headers["x-amz-tagging"]) if "x-amz-tagging" in headers else {}
    return Attributes(headers.get("content-type") or "binary/octet-stream", kept, metadata, tags, algorithm)


def _written(call: Call, obj: StoredObject) -> dict[str, str]:
    headers = {"ETag": quoted(obj.etag)}
    if obj.attributes.checksum_algorithm and obj.checksum:
        headers[header_name(obj.attributes.checksum_algorithm)] = obj.checksum
        headers["x-amz-checksum-type"] = "FULL_OBJECT"
    return headers


def write_condition(call: Call) -> Condition | None:
    """PutObject's and CompleteMultipartUpload's conditional writes: ``If-None-Match: *`` (only if
    no object has the key) and ``If-Match: <etag>`` (only if the stored object has that ETag)."""
    if_none, if_match = call.headers.get("if-none-match"), call.headers.get("if-match")
    if if_none is None and if_match is None:
        return None
    if if_none is not None and if_none.strip() != "*":
        raise NotImplementedYet("A header you provided implies functionality that is not implemented",
                                Header="If-None-Match")  # fmt: skip

    def condition(stored: StoredObject | None) -> None:
        if if_none is not None and stored is not None:
            raise PreconditionFailed("At least one of the pre-conditions you specified did not hold",
                                     Condition="If-None-Match")  # fmt: skip
        if if_match is not None:
            if stored is None:
                raise NoSuchKey("The specified key does not exist.", Key=call.key)
            if unquoted(if_match) != stored.etag and if_match.strip() != "*":
                raise PreconditionFailed("At least one of the pre-conditions you specified did not hold",
                                         Condition="If-Match")  # fmt: skip

    return condition


async def put_object(call: Call) -> web.StreamResponse:
    check_key(call.key)
    call.objects.bucket(call.bucket)
    condition = write_condition(call)
    if condition is not None:  # refused before the body is read, and checked again as it is committed
        condition(call.objects.current(call.bucket, call.key))
    attrs = attributes(call.headers, None)  # checked before the body is read
    got = await receive(call.request, call.objects.bodies, timeout=call.settings.body_timeout_seconds)
    obj = StoredObject(call.bucket, call.key, got.body.name, got.body.size, got.md5.hex(), int(time.time() * 1000),
                       Attributes(attrs.content_type, attrs.headers, attrs.metadata, attrs.tags, got.algorithm), "",
                       checksum=got.checksum)  # fmt: skip
    obj = await call.objects.put(obj, got.body, call.caller(), "ObjectCreated:Put", condition=condition)
    return wire.empty(call.request_id, headers=_written(call, obj))


def copy_source(header: str) -> tuple[str, str]:
    """(bucket, key) of ``x-amz-copy-source``: ``[/]<bucket>/<key>[?versionId=...]``, URL-encoded."""
    source = header.partition("?")[0]
    source = unquote(source[1:] if source.startswith("/") else source)
    bucket, slash, key = source.partition("/")
    if not bucket or not slash or not key:
        raise InvalidArgument("Invalid copy source object key", ArgumentName="x-amz-copy-source", ArgumentValue=header)
    return bucket, key


def check_copy_conditions(call: Call, source: StoredObject) -> None:
    prefix = "x-amz-copy-source-"
    conditions = {name: call.headers[prefix + name.lower()] for name in
                  ("If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since")
                  if prefix + name.lower() in call.headers}  # fmt: skip
    if conditions and precondition(conditions, source.etag, source.modified_ms // 1000) is not Outcome.SERVE:
        raise PreconditionFailed("At least one of the pre-conditions you specified did not hold",
                                 Condition="x-amz-copy-source-" + next(iter(conditions)))  # fmt: skip


async def copy_body(call: Call, source: StoredObject, algorithm: str | None) -> tuple[Incoming, Checksums]:
    """A copy of ``source``'s body, and its MD5 and ``algorithm``'s checksum (a copy is one object,
    whatever its source was: S3 gives a copied multipart object a plain ETag)."""
    body = call.objects.bodies.start()
    sums = Checksums(algorithm)

    def copy() -> None:
        with open(call.objects.bodies.path(source.file), "rb") as src:
            while chunk := src.read(1024 * 1024):
                sums.update(chunk)
                body.write(chunk)

    try:
        await asyncio.to_thread(copy)
    except BaseException:
        body.discard()
        raise
    return body, sums


async def copy_object(call: Call) -> web.StreamResponse:
    check_key(call.key)
    src_bucket, src_key = copy_source(call.headers["x-amz-copy-source"])
    source = call.objects.get(src_bucket, src_key)
    call.objects.bucket(call.bucket)
    check_copy_conditions(call, source)
    directive = call.headers.get("x-amz-metadata-directive", "COPY").upper()
    tag_directive = call.headers.get("x-amz-tagging-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE") or tag_directive not in ("COPY", "REPLACE"):
        raise InvalidArgument("Unknown metadata directive.", ArgumentName="x-amz-metadata-directive",
                              ArgumentValue=directive)  # fmt: skip
    if (src_bucket, src_key) == (call.bucket, call.key) and directive == "COPY" and tag_directive == "COPY":
        raise InvalidRequest("This copy request is illegal because it is trying to copy an object to itself without "
                             "changing the object's metadata, storage class, website redirect location or encryption "
                             "attributes.")  # fmt: skip
    if directive == "REPLACE":
        new = attributes(call.headers, source.attributes.checksum_algorithm)
    else:
        new = source.attributes
    if tag_directive == "REPLACE":
        new = Attributes(new.content_type, new.headers, new.metadata,
                         tagging.from_header(call.headers.get("x-amz-tagging", "")), new.checksum_algorithm)  # fmt: skip
    elif directive == "REPLACE":
        new = Attributes(new.content_type, new.headers, new.metadata, source.attributes.tags, new.checksum_algorithm)
    asked = call.headers.get("x-amz-checksum-algorithm", "").lower()
    if asked:
        if asked not in ALGORITHMS:
            raise InvalidArgument("Checksum algorithm provided is unsupported.",
                                  ArgumentName="x-amz-checksum-algorithm", ArgumentValue=asked)  # fmt: skip
        new = Attributes(new.content_type, new.headers, new.metadata, new.tags, asked)
    body, sums = await copy_body(call, source, new.checksum_algorithm)
    obj = StoredObject(call.bucket, call.key, body.name, body.size, sums.md5().hex(), int(time.time() * 1000), new, "",
                       checksum=sums.value())  # fmt: skip
    obj = await call.objects.put(obj, body, call.caller(), "ObjectCreated:Copy")
    result: list[Node] = [("LastModified", wire.iso(obj.modified_ms)), ("ETag", quoted(obj.etag))]
    if obj.attributes.checksum_algorithm and obj.checksum and not obj.parts:
        result.append((f"Checksum{obj.attributes.checksum_algorithm.upper()}", obj.checksum))
    return wire.xml(call.request_id, "CopyObjectResult", result)


async def delete_object(call: Call) -> web.StreamResponse:
    check_key(call.key)
    await call.objects.delete(call.bucket, [call.key], call.caller())
    return wire.empty(call.request_id, 204)


async def delete_objects(call: Call) -> web.StreamResponse:
    call.objects.bucket(call.bucket)
    body = await read_small(call.request, MAX_BODY, call.settings.body_timeout_seconds)
    if "content-md5" not in call.headers and not any(k.startswith("x-amz-checksum-") for k in call.headers):
        raise InvalidRequest("Missing required header for this request: Content-MD5 OR x-amz-checksum-*")
    check_whole(dict(call.headers), body)
    root = parse(body, "Delete")
    quiet = (text(root, "Quiet") or "").strip().lower() == "true"
    entries = root.findall("Object")
    if not entries or len(entries) > MAX_DELETE_KEYS:
        raise MalformedXML()
    keys: list[str] = []
    errors: list[Node] = []
    for entry in entries:
        key = text(entry, "Key")
        if key is None:
            raise MalformedXML()
        if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
            errors.append(("Error", [("Key", key), ("Code", "KeyTooLongError"), ("Message", "Your key is too long")]))
        else:
            keys.append(key)
    await call.objects.delete(call.bucket, keys, call.caller())
    children: list[Node] = [] if quiet else [("Deleted", [("Key", k)]) for k in keys]
    return wire.xml(call.request_id, "DeleteResult", children + errors)


async def put_tags(call: Call) -> web.StreamResponse:
    call.objects.get(call.bucket, call.key)
    body = await read_small(call.request, MAX_BODY, call.settings.body_timeout_seconds)
    check_whole(dict(call.headers), body)
    await call.objects.put_tags(call.bucket, call.key, tagging.from_xml(body))
    return wire.empty(call.request_id)


async def get_tags(call: Call) -> web.StreamResponse:
    obj = call.objects.get(call.bucket, call.key)
    return wire.xml(call.request_id, "Tagging", tagging.to_xml(obj.attributes.tags))


async def delete_tags(call: Call) -> web.StreamResponse:
    call.objects.get(call.bucket, call.key)
    await call.objects.put_tags(call.bucket, call.key, {})
    return wire.empty(call.request_id, 204)

