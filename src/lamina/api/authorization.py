"""Authorization: each request of a verified caller (``identity.principals.CALLER``, stored by the
authentication middleware ahead of this one) is decided by IAM's evaluator before its service sees
it. Requests without a caller (no signature verified: the development mode until authentication
lands, function URLs, execute-api addresses) are not decided here.

Which operation a request is comes from the pure tables of ``iam/actions``; the caller's identity
policies from IAM (``IamService.policies_of``); a Lambda function's resource-based policy
(AddPermission's statements) is read only when the identity policies alone do not allow the request
(another account's caller, or one no identity policy allows). A queue's policy (its ``Policy``
attribute) is read for every request on the queue but its own account root's, so that its explicit
denies count too; another account's request reaches the queue's cell (api/cells.py) to be decided.
A bucket's policy likewise, for every request on the bucket or its objects (its own root's too, but
for the policy operations), another account's reaching the bucket owner's cell by the global index
of bucket names. Every request carries ``aws:SecureTransport`` (true on the TLS listener) and
``aws:SourceIp``; S3's carry the listings'
``s3:prefix``, ``s3:delimiter`` and ``s3:max-keys``, and a copy needs ``s3:GetObject`` on its source.
An unsigned S3 request is the anonymous principal's, let through by the authentication middleware
only where ``anonymous_allowed`` says the bucket's policy allows everyone what it asks.
A refusal is AccessDenied in the shape of the service asked (Lambda's AccessDeniedException,
EventBridge's and SQS's JSON, IAM's XML, S3's ``Access Denied``), with AWS's message.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Awaitable, Callable, Mapping
from urllib.parse import parse_qsl

from aiohttp import web

from lamina import ids
from lamina.api import awsjson, cloudwatch, query, rpcv2, scopes
from lamina.api.context import Services, json_members, read_body, services
from lamina.api.errors import Handler, error_response
from lamina.cloudwatch.errors import CloudWatchAccessDenied
from lamina.errors import AccessDenied, ApiError, ResourceNotFound
from lamina.iam import denial
from lamina.iam.actions import json as json_actions
from lamina.iam.actions import cloudwatch as cloudwatch_actions
from lamina.iam.actions import lambda_api, rest, s3
from lamina.iam.actions import query as query_actions
from lamina.iam.actions.operation import BucketRef, LayerRef, Operation, QueueRef, ResourceRef, Wire, resource_account
from lamina.iam.context import anonymous_requester, context_of, requester_of, transport_keys
from lamina.iam.errors import QueryAccessDenied
from lamina.iam.evaluate import Decision, Request, decide
from lamina.iam.policy import Policy, PolicyKind
from lamina.iam.service import IamService
from lamina.identity.principals import Caller, PrincipalKind, caller_of
from lamina.objects import routing, wire
from lamina.objects.errors import AccessDenied as S3AccessDenied
from lamina.objects.errors import InvalidArgument
from lamina.objects.writes import copy_source
from lamina.objects.operations import operation as s3_operation
from lamina.queues.errors import QueueAccessDenied as SqsAccessDenied


# The resource-based policy of a function or a queue (None: it has none).
PolicyOf = Callable[[ResourceRef], Awaitable[Policy | None]]


# The bucket owner's root may always manage the bucket's policy, whatever the policy says.
_POLICY_ACTIONS = frozenset({"s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:DeleteBucketPolicy"})


class EventsAccessDenied(ApiError):
    code = "AccessDeniedException"
    status = 403


async def operation_of(request: web.Request, caller: Caller, svc: Services) -> Operation | None:
    """Which operation ``request`` is, by the tables of iam/actions (reading its body if they need it)."""
    region, account = caller.region, caller.account_id
    raw_path, _, raw_query = request.raw_path.partition("?")
    s3_target = routing.target(request.headers.get("Host", ""), raw_path, request.headers.get("Authorization"),
                               raw_query)  # fmt: skip
    if s3_target is not None:
        return _s3_operation(request, s3_target, svc)
    if request.method == "POST" and request.path.startswith("/service/"):  # RPC v2 CBOR: CloudWatch's
        return cloudwatch_actions.from_path(request.path)
    queue_path = request.match_info.get("account") is not None and request.match_info.get("name") is not None
    if request.method == "POST" and (request.path == "/" or queue_path):
        target = request.headers.get("X-Amz-Target")
        if target is not None:
            members = await json_members(request)
            if queue_path and "QueueUrl" not in members:  # sent to the queue's own URL
                members = {**members, "QueueUrl": request.path}
            return json_actions.operation(target, members, region, account)
        params = dict(parse_qsl((await read_body(request)).decode("utf-8", "replace"), keep_blank_values=True))
        service = query.service_of(request.method, request.path, request.headers) or scopes.VERSIONS.get(
            params.get("Version", ""))
        if service is None:
            return None
        principal = caller.principal
        user = principal.arn.rsplit("/", 1)[-1] if principal.kind is PrincipalKind.USER else None
        return query_actions.operation(service, params, account, user, region)
    found = lambda_api.operation(request.method, request.path, request.query, region, account)
    if found is not None and found.action in ("lambda:CreateFunction", "lambda:UpdateFunctionConfiguration"):
        members = await json_members(request)
        fn, role = members.get("FunctionName"), members.get("Role")
        if found.action == "lambda:CreateFunction":
            found = lambda_api.operation(request.method, request.path, request.query, region, account,
                                         lambda: fn if isinstance(fn, str) else None)  # fmt: skip
        if found is not None:
            found = lambda_api.passing_role(found, role if isinstance(role, str) else None)
    if found is not None:
        return found
    members = await json_members(request) if request.method in ("POST", "PUT") and request.path.startswith("/schedule") \
        else {}  # fmt: skip
    return rest.operation(request.method, request.path, request.query, members, region, account)


def _s3_operation(request: web.Request, target: routing.Target, svc: Services) -> Operation | None:
    """The S3 operation ``request`` is, naming the account of the bucket it acts on (if any holds it)."""
    name = s3_operation(request.method, target, request.query, "x-amz-copy-source" in request.headers)
    if name is None:
        return None

    def owner(bucket: str | None) -> str | None:
        found = svc.objects.owner(bucket) if svc.objects is not None and bucket else None
        return found.account if found is not None else None

    keys = _transport_keys(request)
    op = s3.operation(name, target.bucket, target.key, owner(target.bucket), request.query, keys)
    header = request.headers.get("x-amz-copy-source")
    if header is None or name not in ("CopyObject", "UploadPartCopy"):
        return op
    try:
        bucket, key = copy_source(header)
    except InvalidArgument:  # answered by the operation itself
        return op
    # A copy reads its source: s3:GetObject on it too, as S3 authorizes it.
    return replace(op, also=(s3.operation("GetObject", bucket, key, owner(bucket), context=keys),))


def _transport_keys(request: web.Request) -> dict[str, str]:
    """``aws:SecureTransport`` and ``aws:SourceIp`` of ``request``, as it reached Lamina."""
    peer = request.transport.get_extra_info("peername") if request.transport is not None else None
    return transport_keys(request.secure, str(peer[0]) if isinstance(peer, tuple) and peer else "")


def function_policies(svc: Services) -> PolicyOf:
    """The resource-based policy of the function, queue or layer version an operation acts on, read
    from the control plane (a queue's from its attributes, a layer version's from its owner's cell)."""

    async def policy_of(ref: ResourceRef) -> Policy | None:
        if isinstance(ref, BucketRef):
            return svc.objects.bucket_policy(ref.name) if svc.objects is not None else None
        if isinstance(ref, QueueRef):
            return svc.queues.policy(ref.arn)
        if isinstance(ref, LayerRef):
            text = await svc.layers.policy_document(ref.arn)
            assert svc.iam is not None
            return None if text is None else svc.iam.policy(text, PolicyKind.RESOURCE)
        try:
            stored = await svc.policies.get(ref.name, ref.qualifier)
        except ResourceNotFound:
            return None
        assert svc.iam is not None
        return svc.iam.policy(svc.policies.render_policy(stored), PolicyKind.RESOURCE)

    return policy_of


async def decide_operation(iam: IamService, policy_of: PolicyOf, caller: Caller, op: Operation,
                           now: datetime) -> tuple[Decision, str]:  # fmt: skip
    """The decision for ``op`` (every resource must be allowed) and the resource that was refused.
    The function's resource policy is read only if the identity policies do not settle it; the
    queue's always, but for its own account's root; the bucket's always, but for its own account's
    root managing the policy itself (S3 never locks the root out of that)."""
    principal = caller.principal
    identity = iam.policies_of(principal)
    context = context_of(principal, now, op.context)
    resource_policy: Policy | None = None
    fetched = False
    for resource in op.resources:
        request = Request(requester_of(principal), op.action, resource, op.account_of(resource, caller.account_id),
                          context)  # fmt: skip
        decision = decide(request, identity)
        own_root = principal.kind is PrincipalKind.ROOT and request.resource_account == principal.account_id
        ref: ResourceRef | None = op.function
        if op.queue is not None and not own_root:
            ref = op.queue
        elif op.bucket is not None:
            ref = None if own_root and op.action in _POLICY_ACTIONS else op.bucket
        elif ref is not None and decision.allowed and request.resource_account == caller.account_id:
            ref = None
        if ref is not None:
            if not fetched:
                resource_policy, fetched = await policy_of(ref), True
            if decision is not Decision.IDENTITY_DENY:
                decision = decide(request, identity, resource_policy)
        if not decision.allowed:
            return decision, resource
    return Decision.ALLOW, ""


async def invoke_refusal(svc: Services, caller: Caller, function: str, qualifier: str | None,
                         transport: Mapping[str, str]) -> ApiError | None:  # fmt: skip
    """Why ``caller`` may not Invoke ``function`` (AccessDeniedException), or None: for the Invokes
    the front door answers ahead of this middleware (``transport``: ``transport_keys`` of the
    connection). The root of the function's account is allowed without evaluating anything (a
    function's policy allows, never denies)."""
    if svc.iam is None:
        return None
    principal = caller.principal
    if principal.kind is PrincipalKind.ROOT and ":" not in function:
        return None  # a plain name is the caller's own account's function: its root may (the warm path's case)
    op = lambda_api.invoke_operation(function, qualifier, caller.region, caller.account_id)
    if principal.kind is PrincipalKind.ROOT and resource_account(op.resources[0], "") == principal.account_id:
        return None
    op = replace(op, context={**transport, **op.context})
    decision, resource = await decide_operation(svc.iam, function_policies(svc), caller, op, datetime.now(timezone.utc))
    if decision.allowed:
        return None
    same = resource_account(resource, caller.account_id) == caller.account_id
    return AccessDenied(denial.message(principal.arn, op.action, resource, decision, same))


async def url_allowed(svc: Services, caller: Caller, function: str, qualifier: str | None,
                      transport: Mapping[str, str]) -> bool:  # fmt: skip
    """Whether ``caller`` (its signature verified) may invoke an ``AWS_IAM`` function URL of
    ``function`` in ``svc``'s cell (``qualifier``: the URL's alias; None for $LATEST;
    ``transport``: ``transport_keys`` of the connection):
    ``lambda:InvokeFunctionUrl`` with ``lambda:FunctionUrlAuthType`` AWS_IAM, as AWS decides it.
    In the caller's account its identity policies or the function's policy suffice; another
    account's caller needs the function's policy; the root of the function's account is allowed."""
    if svc.iam is None:
        return True
    s = svc.settings
    op = lambda_api.function_url_operation(function, qualifier, "AWS_IAM", s.region, s.account_id)
    principal = caller.principal
    if principal.kind is PrincipalKind.ROOT and resource_account(op.resources[0], "") == principal.account_id:
        return True
    op = replace(op, context={**transport, **op.context})
    decision, _ = await decide_operation(svc.iam, function_policies(svc), caller, op, datetime.now(timezone.utc))
    return decision.allowed


def anonymous_allowed(request: web.Request, target: routing.Target, svc: Services) -> bool:
    """Whether an unsigned S3 request (the anonymous principal) for ``target`` may go on in
    ``svc``'s cell, the bucket owner's: the bucket's policy must allow everyone each resource it
    asks for, and deny none of them. Anything else (no bucket, no policy, no IAM) refuses it."""
    op = _s3_operation(request, target, svc) if svc.iam is not None and svc.objects is not None else None
    if op is None or svc.objects is None:
        return False
    now = datetime.now(timezone.utc)
    for needed in op.all():
        policy = svc.objects.bucket_policy(needed.bucket.name) if needed.bucket is not None else None
        if needed.bucket is None or policy is None:
            return False
        context = context_of(None, now, needed.context)
        for resource in needed.resources:
            request_ = Request(anonymous_requester(), needed.action, resource, needed.bucket.account, context)
            if not decide(request_, (), policy).allowed:
                return False
    return True


def refusal(request: web.Request, op: Operation, message: str, request_id: str) -> web.Response:
    """AccessDenied in the shape of the service ``op`` belongs to."""
    if op.wire is Wire.S3:
        raw_path = request.raw_path.partition("?")[0]
        return wire.error(S3AccessDenied("Access Denied"), request_id, raw_path, head=request.method == "HEAD")
    if op.wire is Wire.CBOR:
        return rpcv2.render_error(CloudWatchAccessDenied(message), request_id)
    if op.wire is Wire.QUERY:
        if op.service == "cloudwatch":
            return query.error(CloudWatchAccessDenied(message), request_id, cloudwatch.XML_NAMESPACE)
        namespace = "https://sts.amazonaws.com/doc/2011-06-15/" if op.service == "sts" else \
            "https://iam.amazonaws.com/doc/2010-05-08/"  # fmt: skip
        return query.error(QueryAccessDenied(message), request_id, namespace)
    if op.wire is Wire.JSON:
        prefix = request.headers.get("X-Amz-Target", "").partition(".")[0]
        content_type = request.app.get(awsjson.CONTENT_TYPES, {}).get(prefix, awsjson.CONTENT_TYPE)
        error: ApiError = SqsAccessDenied(message) if op.service == "sqs" else \
            CloudWatchAccessDenied(message) if op.service == "cloudwatch" else EventsAccessDenied(message)  # fmt: skip
        return awsjson.render_error(error, request_id, content_type)
    return error_response(AccessDenied(message), request_id)


@web.middleware
async def authorization(request: web.Request, handler: Handler) -> web.StreamResponse:
    caller = caller_of(request)
    if caller is None:
        return await handler(request)
    svc = services(request)
    if svc.iam is None:
        return await handler(request)
    op = await operation_of(request, caller, svc)
    if op is None:
        return await handler(request)
    now = datetime.now(timezone.utc)
    transport = _transport_keys(request)  # global keys: every service's policies may name them
    for needed in op.all():
        needed = replace(needed, context={**transport, **needed.context})
        decision, resource = await decide_operation(svc.iam, function_policies(svc), caller, needed, now)
        if not decision.allowed:
            same = needed.account_of(resource, caller.account_id) == caller.account_id
            message = denial.message(caller.principal.arn, needed.action, resource, decision, same)
            return refusal(request, op, message, ids.request_id())
    return await handler(request)
