"""S3 on Lamina's own port: the middleware that takes S3's requests before the Lambda API sees them.

``routing.target`` says whether a request is S3's; ``operations.operation`` which operation it is;
the operation's handler answers it. Errors are S3's XML (``wire.error``), never the Lambda API's
JSON, and every answer carries ``x-amz-request-id``. Served to execution environments too, where,
as everywhere, what a caller may do is what IAM allows it (api/authorization.py).
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

from aiohttp import web

from lamina import ids
from lamina.api.context import services
from lamina.api.errors import Handler
from lamina.errors import ApiError
from lamina.objects import buckets, multipart, policies, routing, serving, wire, writes
from lamina.objects.call import Call
from lamina.objects.errors import InternalError, MethodNotAllowed, NotImplementedYet
from lamina.objects.names import check_bucket_name
from lamina.objects.notifications import api as notifications
from lamina.objects.operations import operation
from lamina.objects.receive import lowered

log = logging.getLogger(__name__)

Operation = Callable[[Call], Awaitable[web.StreamResponse]]


async def _get_object(call: Call) -> web.StreamResponse:
    return await serving.serve(call, head=False)


async def _head_object(call: Call) -> web.StreamResponse:
    return await serving.serve(call, head=True)


HANDLERS: dict[str, Operation] = {
    "ListBuckets": buckets.list_buckets,
    "CreateBucket": buckets.create_bucket,
    "DeleteBucket": buckets.delete_bucket,
    "HeadBucket": buckets.head_bucket,
    "GetBucketLocation": buckets.get_location,
    "GetBucketVersioning": buckets.get_versioning,
    "ListObjects": buckets.list_objects,
    "ListObjectsV2": buckets.list_objects,
    "ListObjectVersions": buckets.list_versions,
    "PutBucketTagging": buckets.put_tags,
    "GetBucketTagging": buckets.get_tags,
    "DeleteBucketTagging": buckets.delete_tags,
    "PutBucketPolicy": policies.put_policy,
    "GetBucketPolicy": policies.get_policy,
    "DeleteBucketPolicy": policies.delete_policy,
    "GetBucketPolicyStatus": policies.get_policy_status,
    "PutBucketNotificationConfiguration": notifications.put_configuration,
    "GetBucketNotificationConfiguration": notifications.get_configuration,
    "PutObject": writes.put_object,
    "CopyObject": writes.copy_object,
    "GetObject": _get_object,
    "HeadObject": _head_object,
    "DeleteObject": writes.delete_object,
    "DeleteObjects": writes.delete_objects,
    "PutObjectTagging": writes.put_tags,
    "GetObjectTagging": writes.get_tags,
    "DeleteObjectTagging": writes.delete_tags,
    "CreateMultipartUpload": multipart.create,
    "UploadPart": multipart.upload_part,
    "UploadPartCopy": multipart.upload_part,
    "CompleteMultipartUpload": multipart.complete,
    "AbortMultipartUpload": multipart.abort,
    "ListMultipartUploads": multipart.list_uploads,
    "ListParts": multipart.list_parts,
}


@web.middleware
async def object_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    raw_path, _, query = request.raw_path.partition("?")
    target = routing.target(request.headers.get("Host", ""), raw_path, request.headers.get("Authorization"), query)
    if target is None:
        return await handler(request)
    request_id = ids.request_id().replace("-", "")[:16].upper()
    try:
        return await _serve(request, target, request_id)
    except ApiError as exc:
        return wire.error(exc, request_id, raw_path, head=request.method == "HEAD")
    except Exception:
        log.exception("unexpected error in S3 %s %s", request.method, raw_path)
        error = InternalError("We encountered an internal error. Please try again.")
        return wire.error(error, request_id, raw_path, head=request.method == "HEAD")


async def _serve(request: web.Request, target: routing.Target, request_id: str) -> web.StreamResponse:
    headers = lowered(request)
    name = operation(request.method, target, request.query, "x-amz-copy-source" in headers)
    if name is None:
        raise MethodNotAllowed("The specified method is not allowed against this resource.",
                               Method=request.method, ResourceType="OBJECT" if target.key else "BUCKET")  # fmt: skip
    svc = services(request)
    found = HANDLERS.get(name)
    if svc.objects is None or found is None:
        raise NotImplementedYet("A header or query you provided implies functionality that is not implemented: "
                                f"{name}")  # fmt: skip
    if target.bucket is not None and name != "CreateBucket":
        check_bucket_name(target.bucket)
    call = Call(request, svc.objects, svc.settings, request_id, target.bucket or "", target.key or "", headers)
    return await found(call)
