"""Bucket policy operations: PutBucketPolicy, GetBucketPolicy, DeleteBucketPolicy, GetBucketPolicyStatus.

Who may call them is IAM's to decide (api/authorization.py; the bucket owner's root is never locked
out by the policy itself). A caller of another account whom IAM allows is still refused, with
``MethodNotAllowed``, as S3 lets only identities of the bucket owner's account manage its policy.
``x-amz-confirm-remove-self-bucket-access`` is accepted and changes nothing: S3 would otherwise
check that a policy does not lock its caller out, which Lamina never does.
"""

from __future__ import annotations

from aiohttp import web

from lamina.objects import bucket_policy, wire
from lamina.objects.call import Call
from lamina.objects.errors import MalformedPolicy, MalformedXML, MethodNotAllowed, NoSuchBucketPolicy
from lamina.objects.receive import read_small
from lamina.objects.xmlio import Node


def _owner_only(call: Call) -> None:
    if call.principal() != call.objects.bucket(call.bucket).owner:
        raise MethodNotAllowed("The specified method is not allowed against this resource.", Method=call.request.method,
                               ResourceType="BUCKET")  # fmt: skip


async def put_policy(call: Call) -> web.StreamResponse:
    _owner_only(call)
    length = call.request.content_length
    if length is not None and length > bucket_policy.MAX_BODY_BYTES:
        raise MalformedPolicy(bucket_policy.TOO_LARGE)
    try:
        body = await read_small(call.request, bucket_policy.MAX_BODY_BYTES, call.settings.body_timeout_seconds)
    except MalformedXML:  # more than the limit (sent without a Content-Length)
        raise MalformedPolicy(bucket_policy.TOO_LARGE) from None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedPolicy("This policy contains invalid Json") from None
    policy = bucket_policy.check(text, call.bucket)
    await call.objects.put_bucket_policy(call.bucket, policy)
    return wire.empty(call.request_id, 204)


async def get_policy(call: Call) -> web.StreamResponse:
    _owner_only(call)
    text = call.objects.bucket(call.bucket).policy
    if text is None:
        raise NoSuchBucketPolicy("The bucket policy does not exist", BucketName=call.bucket)
    return web.Response(body=text.encode(), content_type="application/json", headers=wire.base_headers(call.request_id))


async def delete_policy(call: Call) -> web.StreamResponse:
    _owner_only(call)
    await call.objects.put_bucket_policy(call.bucket, None)
    return wire.empty(call.request_id, 204)


async def get_policy_status(call: Call) -> web.StreamResponse:
    call.objects.bucket(call.bucket)
    policy = call.objects.bucket_policy(call.bucket)
    if policy is None:
        raise NoSuchBucketPolicy("The bucket policy does not exist", BucketName=call.bucket)
    children: list[Node] = [("IsPublic", "true" if bucket_policy.is_public(policy) else "false")]
    return wire.xml(call.request_id, "PolicyStatus", children)
