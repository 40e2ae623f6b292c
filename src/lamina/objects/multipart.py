"""Multipart uploads: Create, UploadPart, UploadPartCopy, Complete, Abort, ListMultipartUploads,
ListParts.

Completing one checks the parts named as S3 does (ascending order: InvalidPartOrder; each stored
with the ETag given: InvalidPart; each but the last at least 5 MiB: EntityTooSmall), then joins
their bodies into the object's, whose ETag is S3's multipart ETag (``etags.multipart_etag``) and
whose checksum, if the upload named an algorithm, is the composite of its parts' (the checksum of
their checksums, then ``-<parts>``), or with ``x-amz-checksum-type: FULL_OBJECT`` (a CRC; CRC64NVME's
only kind) the checksum of the whole body, checked against the one Complete sends if it does.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from dataclasses import replace

from aiohttp import web

from lamina.objects import wire
from lamina.objects.call import Call
from lamina.objects.checksums import ALGORITHMS, Checksums, header_name
from lamina.objects.errors import EntityTooSmall, InvalidArgument, InvalidPart, InvalidPartOrder, InvalidRequest
from lamina.objects.errors import MalformedXML
from lamina.objects.etags import multipart_etag, quoted, unquoted
from lamina.objects.files import Incoming
from lamina.objects.model import Attributes, Part, StoredObject, Upload
from lamina.objects.names import check_key
from lamina.objects.ranges import byte_range
from lamina.objects.receive import read_small, receive
from lamina.objects.writes import attributes, check_copy_conditions, copy_source, write_condition
from lamina.objects.xmlio import MAX_BODY, Node, parse, text

MIN_PART_BYTES = 5 * 1024 * 1024
_COMBINABLE = ("crc32", "crc32c", "crc64nvme")  # the algorithms a FULL_OBJECT checksum may use
MAX_PARTS = 10000


def _owner(call: Call) -> list[Node]:
    who: list[Node] = [("ID", call.settings.account_id), ("DisplayName", "lamina")]
    return [("Initiator", who), ("Owner", who)]


async def create(call: Call) -> web.StreamResponse:
    check_key(call.key)
    call.objects.bucket(call.bucket)
    algorithm = call.headers.get("x-amz-checksum-algorithm", "").lower() or None
    if algorithm is not None and algorithm not in ALGORITHMS:
        raise InvalidArgument("Checksum algorithm provided is unsupported.", ArgumentName="x-amz-checksum-algorithm",
                              ArgumentValue=algorithm)  # fmt: skip


    kind = call.headers.get("x-amz-checksum-type", "COMPOSITE").upper()
    if kind not in ("COMPOSITE", "FULL_OBJECT") or (kind == "FULL_OBJECT" and algorithm not in _COMBINABLE):
        raise InvalidRequest(f"The {kind} checksum type cannot be used with the "
                             f"{(algorithm or 'none').lower()} checksum algorithm.")  # fmt: skip
    if kind == "COMPOSITE" and algorithm == "crc64nvme" and "x-amz-checksum-type" not in call.headers:
        kind = "FULL_OBJECT"  # CRC64NVME is a full-object checksum only, as on S3
    attrs = replace(attributes(call.headers, algorithm), full_object_checksum=kind == "FULL_OBJECT")
    upload = Upload(call.bucket, call.key, uuid.uuid4().hex, int(time.time() * 1000), attrs)
    await call.objects.create_upload(upload)
    response = wire.xml(call.request_id, "InitiateMultipartUploadResult",
                        [("Bucket", call.bucket), ("Key", call.key), ("UploadId", upload.upload_id)])  # fmt: skip
    if algorithm:
        response.headers["x-amz-checksum-algorithm"] = algorithm.upper()
        response.headers["x-amz-checksum-type"] = kind
    return response


def _part_number(call: Call) -> int:
    raw = call.query.get("partNumber", "")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PARTS:
        raise InvalidArgument("Part number must be an integer between 1 and 10000, inclusive",
                              ArgumentName="partNumber", ArgumentValue=raw)  # fmt: skip
    return int(raw)


async def upload_part(call: Call) -> web.StreamResponse:
    number = _part_number(call)
    upload = call.objects.upload(call.bucket, call.query["uploadId"])
    if "x-amz-copy-source" in call.headers:
        return await _copy_part(call, upload.upload_id, number)
    got = await receive(call.request, call.objects.bodies, timeout=call.settings.body_timeout_seconds)
    checksum = got.checksum
    algorithm = upload.attributes.checksum_algorithm
    if algorithm is not None and got.algorithm != algorithm:
        checksum = await _checksum_of(call, got.body, algorithm)
    part = Part(call.bucket, upload.upload_id, number, got.body.name, got.body.size, got.md5.hex(),
                int(time.time() * 1000), checksum)  # fmt: skip
    await call.objects.put_part(part, got.body)
    headers = {"ETag": quoted(part.etag)}
    if algorithm and checksum:
        headers[header_name(algorithm)] = checksum
    return wire.empty(call.request_id, headers=headers)


async def _checksum_of(call: Call, body: Incoming, algorithm: str) -> str | None:
    def compute() -> str | None:
        body.file.flush()
        sums = Checksums(algorithm)
        with open(body.path, "rb") as f:
            while chunk := f.read(1024 * 1024):
                sums.update(chunk)
        return sums.value()

    return await asyncio.to_thread(compute)


async def _copy_part(call: Call, upload_id: str, number: int) -> web.StreamResponse:
    src_bucket, src_key = copy_source(call.headers["x-amz-copy-source"])
    source = call.objects.get(src_bucket, src_key)
    check_copy_conditions(call, source)
    header = call.headers.get("x-amz-copy-source-range")
    chosen = byte_range(header, source.size) if header else None
    if header and chosen is None:
        raise InvalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last where first "
                              "and last are the zero-based offsets of the first and last bytes to copy",
                              ArgumentName="x-amz-copy-source-range", ArgumentValue=header)  # fmt: skip
    start, length = (chosen.start, chosen.length) if chosen else (0, source.size)
    body = call.objects.bodies.start()
    sums = Checksums(None)
    upload = call.objects.upload(call.bucket, upload_id)
    algorithm = upload.attributes.checksum_algorithm
    other = Checksums(algorithm)

    def copy() -> None:
        with open(call.objects.bodies.path(source.file), "rb") as f:
            f.seek(start)
            left = length
            while left > 0:
                chunk = f.read(min(left, 1024 * 1024))
                if not chunk:
                    break
                sums.update(chunk)
                other.update(chunk)
                body.write(chunk)
                left -= len(chunk)

    try:
        await asyncio.to_thread(copy)
    except BaseException:
        body.discard()
        raise
    part = Part(call.bucket, upload_id, number, body.name, body.size, sums.md5().hex(), int(time.time() * 1000),
                other.value())  # fmt: skip
    await call.objects.put_part(part, body)
    return wire.xml(call.request_id, "CopyPartResult", [("LastModified", wire.iso(part.modified_ms)),
                                                         ("ETag", quoted(part.etag))])  # fmt: skip


async def complete(call: Call) -> web.StreamResponse:
    upload = call.objects.upload(call.bucket, call.query["uploadId"])
    condition = write_condition(call)
    if condition is not None:
        condition(call.objects.current(call.bucket, upload.key))
    root = parse(await read_small(call.request, MAX_BODY * 4, call.settings.body_timeout_seconds),
                 "CompleteMultipartUpload")  # fmt: skip
    asked: list[tuple[int, str]] = []
    for entry in root.findall("Part"):
        given, tag = text(entry, "PartNumber"), text(entry, "ETag")
        if given is None or tag is None or not given.strip().isdigit():
            raise MalformedXML()
        asked.append((int(given), unquoted(tag)))
    if not asked:
        raise MalformedXML()
    if any(b[0] <= a[0] for a, b in zip(asked, asked[1:])):
        raise InvalidPartOrder("The list of parts was not in ascending order. Parts must be ordered by part number.",
                               UploadId=upload.upload_id)  # fmt: skip
    stored = {p.number: p for p in call.objects.parts(upload.upload_id)}
    chosen: list[Part] = []
    for number, etag in asked:
        part = stored.get(number)
        if part is None or part.etag != etag:
            raise InvalidPart("One or more of the specified parts could not be found.  The part may not have been "
                              "uploaded, or the specified entity tag may not match the part's entity tag.",
                              UploadId=upload.upload_id, PartNumber=str(number), ETag=etag)  # fmt: skip
        chosen.append(part)
    for part in chosen[:-1]:
        if part.size < MIN_PART_BYTES:
            raise EntityTooSmall("Your proposed upload is smaller than the minimum allowed size",
                                 ProposedSize=str(part.size), MinSizeAllowed=str(MIN_PART_BYTES),
                                 PartNumber=str(part.number), ETag=part.etag)  # fmt: skip
    if upload.attributes.full_object_checksum:
        whole = Checksums(upload.attributes.checksum_algorithm)
        body = await call.objects.bodies.concatenate([p.file for p in chosen], whole.update)
        checksum = whole.value()
        sent = call.headers.get(header_name(upload.attributes.checksum_algorithm or ""))
        try:
            whole.verify(sent)  # the whole object's checksum, when the client sends it with Complete
        except BaseException:
            body.discard()
            raise
    else:
        checksum = _composite(upload.attributes, chosen)
        body = await call.objects.bodies.concatenate([p.file for p in chosen])
    obj = StoredObject(call.bucket, upload.key, body.name, body.size, multipart_etag([p.etag for p in chosen]),
                       int(time.time() * 1000), upload.attributes, "", parts=len(chosen), checksum=checksum,
                       part_sizes=tuple(p.size for p in chosen))  # fmt: skip
    obj = await call.objects.complete(upload, obj, body, call.caller(), condition)
    children: list[Node] = [("Location", f"/{call.bucket}/{upload.key}"), ("Bucket", call.bucket),
                            ("Key", upload.key), ("ETag", quoted(obj.etag))]  # fmt: skip
    if upload.attributes.checksum_algorithm and checksum:
        children.append((f"Checksum{upload.attributes.checksum_algorithm.upper()}", checksum))
        children.append(("ChecksumType", obj.checksum_type))
    return wire.xml(call.request_id, "CompleteMultipartUploadResult", children)


def _composite(attrs: Attributes, parts: list[Part]) -> str | None:
    algorithm = attrs.checksum_algorithm
    if algorithm is None or any(p.checksum is None for p in parts):
        return None
    sums = Checksums(algorithm)
    for p in parts:
        sums.update(base64.b64decode(p.checksum or ""))
    return f"{sums.value()}-{len(parts)}"


async def abort(call: Call) -> web.StreamResponse:
    upload = call.objects.upload(call.bucket, call.query["uploadId"])
    await call.objects.abort(upload)
    return wire.empty(call.request_id, 204)


async def list_uploads(call: Call) -> web.StreamResponse:
    prefix = call.query.get("prefix", "")
    key_marker = call.query.get("key-marker", "")
    id_marker = call.query.get("upload-id-marker", "") if key_marker else ""
    max_uploads = call.int_query("max-uploads", 1000, high=1000)
    # After the marker: later keys, and with an upload-id-marker the key's own uploads after that one.
    listed = call.objects.uploads(call.bucket)
    after = next((i + 1 for i, u in enumerate(listed) if (u.key, u.upload_id) == (key_marker, id_marker)), None)
    found = [u for i, u in enumerate(listed) if u.key.startswith(prefix)
             and (u.key > key_marker or (id_marker and u.key == key_marker and after is not None and i >= after))]  # fmt: skip
    page, truncated = found[:max_uploads], len(found) > max_uploads
    children: list[Node] = [("Bucket", call.bucket), ("KeyMarker", key_marker), ("UploadIdMarker", id_marker),
                            ("Prefix", prefix), ("MaxUploads", str(max_uploads)),
                            ("IsTruncated", "true" if truncated else "false")]  # fmt: skip
    if truncated and page:
        children += [("NextKeyMarker", page[-1].key), ("NextUploadIdMarker", page[-1].upload_id)]
    for u in page:
        entry: list[Node] = [("Key", u.key), ("UploadId", u.upload_id), *_owner(call), ("StorageClass", "STANDARD"),
                             ("Initiated", wire.iso(u.initiated_ms))]  # fmt: skip
        if u.attributes.checksum_algorithm:
            entry.append(("ChecksumAlgorithm", u.attributes.checksum_algorithm.upper()))
        children.append(("Upload", entry))
    return wire.xml(call.request_id, "ListMultipartUploadsResult", children)


async def list_parts(call: Call) -> web.StreamResponse:
    upload = call.objects.upload(call.bucket, call.query["uploadId"])
    marker = call.int_query("part-number-marker", 0)
    max_parts = call.int_query("max-parts", 1000, high=1000)
    found = [p for p in call.objects.parts(upload.upload_id) if p.number > marker]
    page, truncated = found[:max_parts], len(found) > max_parts
    children: list[Node] = [("Bucket", call.bucket), ("Key", upload.key), ("UploadId", upload.upload_id),
                            ("PartNumberMarker", str(marker)),
                            ("NextPartNumberMarker", str(page[-1].number if page else 0)),
                            ("MaxParts", str(max_parts)), ("IsTruncated", "true" if truncated else "false"),
                            *_owner(call), ("StorageClass", "STANDARD")]  # fmt: skip
    algorithm = upload.attributes.checksum_algorithm
    if algorithm:
        children.append(("ChecksumAlgorithm", algorithm.upper()))
    for p in page:
        entry: list[Node] = [("PartNumber", str(p.number)), ("LastModified", wire.iso(p.modified_ms)),
                             ("ETag", quoted(p.etag)), ("Size", str(p.size))]  # fmt: skip
        if algorithm and p.checksum:
            entry.append((f"Checksum{algorithm.upper()}", p.checksum))
        children.append(("Part", entry))
    return wire.xml(call.request_id, "ListPartsResult", children)
