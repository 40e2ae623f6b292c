"""Bucket operations: ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation,
ListObjects (V1 and V2), ListMultipartUploads and the bucket's tags."""

from __future__ import annotations

import base64
import binascii
import time
from urllib.parse import quote

from aiohttp import web

from lamina.objects import tagging, wire
from lamina.objects.call import Call
from lamina.objects.errors import IllegalLocationConstraint, InvalidArgument, InvalidLocationConstraint, NoSuchTagSet
from lamina.objects.etags import quoted
from lamina.objects.model import Bucket
from lamina.objects.names import check_bucket_name
from lamina.objects.receive import read_small
from lamina.objects.xmlio import MAX_BODY, Node, parse, text

MAX_KEYS = 1000


def _owner(call: Call) -> Node:
    return ("Owner", [("ID", call.settings.account_id), ("DisplayName", "lamina")])


async def list_buckets(call: Call) -> web.StreamResponse:
    buckets: list[Node] = [("Bucket", [("Name", b.name), ("CreationDate", wire.iso(b.created_ms)),
                                        ("BucketRegion", b.region)]) for b in call.objects.buckets()]  # fmt: skip
    return wire.xml(call.request_id, "ListAllMyBucketsResult", [_owner(call), ("Buckets", buckets)])


def location_refused(endpoint_region: str, constraint: str | None) -> IllegalLocationConstraint | None:
    """What CreateBucket sent to ``endpoint_region`` (the signing region: the cell's) with the
    LocationConstraint ``constraint`` (None: none) is refused with, as S3 checks it before the name:
    us-east-1's endpoint takes any region; another region's only its own (pure)."""
    if endpoint_region == "us-east-1" or constraint == endpoint_region:
        return None
    return IllegalLocationConstraint(f"The {constraint or 'unspecified'} location constraint is incompatible for the "
                                     "region specific endpoint this request was sent to.")  # fmt: skip


async def create_bucket(call: Call) -> web.StreamResponse:
    check_bucket_name(call.bucket)
    body = await read_small(call.request, MAX_BODY, call.settings.body_timeout_seconds)
    region = "us-east-1"
    if body.strip():
        constraint = text(parse(body, "CreateBucketConfiguration"), "LocationConstraint")
        if constraint is not None:
            if constraint in ("", "us-east-1"):
                raise InvalidLocationConstraint("The specified location-constraint is not valid",
                                                LocationConstraint=constraint)  # fmt: skip
            region = constraint
    refused = location_refused(call.settings.region, constraint if region != "us-east-1" else None)
    if refused is not None:
        raise refused
    bucket = Bucket(call.bucket, region, call.settings.account_id, int(time.time() * 1000))
    await call.objects.create_bucket(bucket)
    return wire.empty(call.request_id, headers={"Location": f"/{call.bucket}"})


async def delete_bucket(call: Call) -> web.StreamResponse:
    await call.objects.delete_bucket(call.bucket)
    return wire.empty(call.request_id, 204)


async def head_bucket(call: Call) -> web.StreamResponse:
    bucket = call.objects.bucket(call.bucket)
    return wire.empty(call.request_id, headers={"x-amz-bucket-region": bucket.region})


async def get_location(call: Call) -> web.StreamResponse:
    bucket = call.objects.bucket(call.bucket)
    region = "" if bucket.region == "us-east-1" else bucket.region
    return web.Response(body=wire.document_text("LocationConstraint", region), content_type=wire.XML,
                        headers=wire.base_headers(call.request_id))  # fmt: skip


async def get_versioning(call: Call) -> web.StreamResponse:
    """Buckets are never versioned here: S3's answer for a bucket that never was (no Status)."""
    call.objects.bucket(call.bucket)
    return wire.xml(call.request_id, "VersioningConfiguration", [])


async def put_tags(call: Call) -> web.StreamResponse:
    call.objects.bucket(call.bucket)
    body = await read_small(call.request, MAX_BODY, call.settings.body_timeout_seconds)
    tags = tagging.from_xml(body, limit=tagging.MAX_BUCKET_TAGS)
    await call.objects.put_bucket_tags(call.bucket, tags)
    return wire.empty(call.request_id, 204)


async def get_tags(call: Call) -> web.StreamResponse:
    tags = call.objects.bucket(call.bucket).tags
    if tags is None:
        raise NoSuchTagSet("The TagSet does not exist", BucketName=call.bucket)
    return wire.xml(call.request_id, "Tagging", tagging.to_xml(tags))


async def delete_tags(call: Call) -> web.StreamResponse:
    call.objects.bucket(call.bucket)
    await call.objects.put_bucket_tags(call.bucket, None)
    return wire.empty(call.request_id, 204)


def _encoding(call: Call) -> str | None:
    value = call.query.get("encoding-type")
    if value is None:
        return None
    if value != "url":
        raise InvalidArgument("Invalid Encoding Method specified in Request", ArgumentName="encoding-type",
                              ArgumentValue=value)  # fmt: skip
    return value


def _enc(value: str, encoding: str | None) -> str:
    return quote(value, safe="/") if encoding == "url" else value


async def list_objects(call: Call) -> web.StreamResponse:
    """ListObjectsV2 (``list-type=2``) and ListObjects (V1)."""
    v2 = call.query.get("list-type") == "2"
    encoding = _encoding(call)
    prefix = call.query.get("prefix", "")
    delimiter = call.query.get("delimiter", "")
    max_keys = call.int_query("max-keys", MAX_KEYS, high=MAX_KEYS)
    token = call.query.get("continuation-token") if v2 else None
    if v2:
        start_after = call.query.get("start-after", "")
        after = _decode_token(token) if token is not None else start_after
    else:
        after = call.query.get("marker", "")
    page, objects = call.objects.listing(call.bucket, prefix=prefix, delimiter=delimiter, after=after, max_keys=max_keys)
    children: list[Node] = [("Name", call.bucket), ("Prefix", _enc(prefix, encoding))]
    if v2:
        if token is not None:
            children.append(("ContinuationToken", token))
        if call.query.get("start-after"):
            children.append(("StartAfter", _enc(call.query["start-after"], encoding)))
        children.append(("KeyCount", str(len(page.keys) + len(page.prefixes))))
        if page.truncated and page.last is not None:
            children.append(("NextContinuationToken", _encode_token(page.last)))
    else:
        children.append(("Marker", _enc(after, encoding)))
        if page.truncated and delimiter and page.last is not None:
            children.append(("NextMarker", _enc(page.last, encoding)))
    children.append(("MaxKeys", str(max_keys)))
    if delimiter:
        children.append(("Delimiter", _enc(delimiter, encoding)))
    if encoding:
        children.append(("EncodingType", encoding))
    children.append(("IsTruncated", "true" if page.truncated else "false"))
    fetch_owner = not v2 or call.query.get("fetch-owner") == "true"
    for o in objects:
        entry: list[Node] = [("Key", _enc(o.key, encoding)), ("LastModified", wire.iso(o.modified_ms)),
                             ("ETag", quoted(o.etag)), ("Size", str(o.size)), ("StorageClass", "STANDARD")]  # fmt: skip
        if o.attributes.checksum_algorithm:
            entry.append(("ChecksumAlgorithm", o.attributes.checksum_algorithm.upper()))
            entry.append(("ChecksumType", o.checksum_type))
        if fetch_owner:
            entry.append(_owner(call))
        children.append(("Contents", entry))
    for p in page.prefixes:
        children.append(("CommonPrefixes", [("Prefix", _enc(p, encoding))]))
    return wire.xml(call.request_id, "ListBucketResult", children)


async def list_versions(call: Call) -> web.StreamResponse:
    """ListObjectVersions of a bucket never versioned: each object once, its version ``null``, the latest."""
    encoding = _encoding(call)
    prefix, delimiter = call.query.get("prefix", ""), call.query.get("delimiter", "")
    key_marker = call.query.get("key-marker", "")
    max_keys = call.int_query("max-keys", MAX_KEYS, high=MAX_KEYS)
    page, objects = call.objects.listing(call.bucket, prefix=prefix, delimiter=delimiter, after=key_marker,
                                         max_keys=max_keys)  # fmt: skip
    children: list[Node] = [("Name", call.bucket), ("Prefix", _enc(prefix, encoding)),
                            ("KeyMarker", _enc(key_marker, encoding)),
                            ("VersionIdMarker", call.query.get("version-id-marker", "")), ("MaxKeys", str(max_keys))]  # fmt: skip
    if delimiter:
        children.append(("Delimiter", _enc(delimiter, encoding)))
    if encoding:
        children.append(("EncodingType", encoding))
    children.append(("IsTruncated", "true" if page.truncated else "false"))
    if page.truncated and page.last is not None:
        children += [("NextKeyMarker", _enc(page.last, encoding)), ("NextVersionIdMarker", "null")]
    for o in objects:
        children.append(("Version", [("Key", _enc(o.key, encoding)), ("VersionId", "null"), ("IsLatest", "true"),
                                     ("LastModified", wire.iso(o.modified_ms)), ("ETag", quoted(o.etag)),
                                     ("Size", str(o.size)), ("StorageClass", "STANDARD"), _owner(call)]))  # fmt: skip
    for p in page.prefixes:
        children.append(("CommonPrefixes", [("Prefix", _enc(p, encoding))]))
    return wire.xml(call.request_id, "ListVersionsResult", children)


def _encode_token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode("utf-8", "surrogatepass")).decode()


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode("utf-8", "surrogatepass")
    except (binascii.Error, ValueError):
        raise InvalidArgument("The continuation token provided is incorrect", ArgumentName="continuation-token",
                              ArgumentValue=token) from None  # fmt: skip
