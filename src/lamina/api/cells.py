"""Which cell a signed request goes to: its caller's account, in the region it was signed for.

``place`` runs in the authentication middleware once the signature is verified (and the front door
does the same for its Invokes, with ``invoke_cell``): the request's services
(``api.context.CELL``) are those of the cell of (the caller's account, the credential scope's
region), started if this is the first request signed for it.

A ``FunctionName`` that is an ARN (or a partial one, ``<account>:function:<name>``) of another
account is refused with ``AccessDeniedException``, as AWS refuses it, unless the request is an
Invoke: then it goes to the function's cell, where IAM's authorization (api/authorization.py, and
the front door's ``authorize``) decides it with the function's resource policy (AddPermission);
without IAM, ``allows`` does, with the policy's plain statements. One of the caller's account in another region is not found
(``ResourceNotFoundException``: "Functions from '<region>' are not reachable in this region ('<region>')"): everything but a permitted Invoke stays within the caller's cell.

An SQS request naming another account's queue (its URL, or GetQueueUrl's
``QueueOwnerAWSAccountId``) goes to that account's cell in the caller's region, where IAM's
authorization decides it with the queue's policy (``queue_cell``); a queue that is not there is
``QueueDoesNotExist``, an action SQS never lets another account do is ``AccessDenied``.

An S3 request on a bucket another account owns (S3's bucket names are global: objects/bucket_names.py)
goes to the owner's cell, where IAM's authorization decides it with the bucket's policy
(``bucket_cell``); CreateBucket stays in the caller's, to be refused there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from aiohttp import web

from lamina.api.context import CELL, CELLS, CellLookup, Services, json_members
from lamina.errors import AccessDenied, ApiError, ResourceNotFound
from lamina.identity.principals import Caller, PrincipalKind
from lamina.model import PolicyStatement
from lamina.objects import routing
from lamina.objects.operations import operation as s3_operation
from lamina.queues import access as queue_access
from lamina.queues.errors import QueueAccessDenied, QueueDoesNotExist

SQS_PREFIX = "AmazonSQS."

INVOKE = "lambda:InvokeFunction"
# FunctionName as a full or partial ARN: [arn:aws:lambda:<region>:]<account>:function:<name>[:<qualifier>]
_NAMED = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):)?(?P<account>\d{12}):function:(?P<name>[a-zA-Z0-9-_]+)"
    r"(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?$"
)
# The Lambda API's action for a request on a function, by method and what follows the function's name.
_ACTIONS: Mapping[tuple[str, str], str] = {
    ("GET", ""): "GetFunction", ("DELETE", ""): "DeleteFunction",
    ("GET", "configuration"): "GetFunctionConfiguration", ("PUT", "configuration"): "UpdateFunctionConfiguration",
    ("PUT", "code"): "UpdateFunctionCode", ("GET", "policy"): "GetPolicy", ("POST", "policy"): "AddPermission",
    ("DELETE", "policy"): "RemovePermission", ("GET", "versions"): "ListVersionsByFunction",
    ("POST", "versions"): "PublishVersion", ("GET", "aliases"): "ListAliases", ("POST", "aliases"): "CreateAlias",
    ("GET", "url"): "GetFunctionUrlConfig", ("POST", "url"): "CreateFunctionUrlConfig",
    ("PUT", "url"): "UpdateFunctionUrlConfig", ("DELETE", "url"): "DeleteFunctionUrlConfig",
    ("GET", "concurrency"): "GetFunctionConcurrency", ("PUT", "concurrency"): "PutFunctionConcurrency",
    ("DELETE", "concurrency"): "DeleteFunctionConcurrency",
}  # fmt: skip


def named(function_name: str) -> tuple[str | None, str, str, str | None] | None:
    """(region or None, account, name, qualifier) of a FunctionName that is a full or partial ARN."""
    match = _NAMED.match(function_name)
    if match is None:
        return None
    return match["region"], match["account"], match["name"], match["qualifier"]


def action(method: str, path: str) -> str:
    """The Lambda API's action for a request on a function (``path`` after its FunctionName)."""
    if path.rstrip("/").endswith(("/invocations", "/invoke-async")):
        return INVOKE
    first = path.strip("/").partition("/")[0]
    return "lambda:" + _ACTIONS.get((method, first), "GetFunction")


def allows(statements: tuple[PolicyStatement, ...], caller: Caller, act: str = INVOKE) -> bool:
    """Whether a resource policy's statements allow ``caller`` (of another account) ``act``. Only
    statements naming an account, an IAM ARN or ``*``, without conditions, allow a direct call:
    a service's (``{"Service": ...}``) is for that service's invocations."""
    principal = caller.principal
    identities = {f"arn:aws:iam::{principal.account_id}:root", principal.arn}
    if principal.kind is PrincipalKind.ASSUMED_ROLE and principal.role_arn is not None:
        identities.add(principal.role_arn)
    for statement in statements:
        if statement.condition or statement.action not in (act, "lambda:*", "*"):
            continue
        who = statement.principal
        if who == "*" or (isinstance(who, Mapping) and (who.get("AWS") in identities or who.get("AWS") == "*")):
            return True
    return False


def denied(caller: Caller, act: str, resource: str) -> AccessDenied:
    return AccessDenied(f"User: {caller.principal.arn} is not authorized to perform: {act} on resource: {resource} "
                        f"because no resource-based policy allows the {act} action")  # fmt: skip


async def invoke_cell(cells: CellLookup, home: Services, caller: Caller, function_name: str, act: str,
                      qualifier: str | None = None) -> Services:  # fmt: skip
    """The services a request on ``function_name`` goes to: ``home`` (the caller's cell), or for an
    allowed Invoke of another account's function, that function's cell; ``AccessDenied`` or
    ``ResourceNotFound`` otherwise."""
    parts = named(function_name)
    if parts is None:
        return home
    region, account, name, derived = parts
    s = home.settings
    region = region or s.region
    if (account, region) == (s.account_id, s.region):
        return home
    resource = f"arn:aws:lambda:{region}:{account}:function:{name}"
    if account == s.account_id:  # the caller's own, in another region: AWS's words
        raise ResourceNotFound(f"Functions from '{region}' are not reachable in this region ('{s.region}')")
    if act != INVOKE:
        raise denied(caller, act, resource)
    there = cells.started(account, region)
    if there is None:  # no cell, so no such function: nothing allows it
        raise denied(caller, act, resource)
    if there.iam is not None:
        return there  # IAM decides with the function's policy, in its cell (api/authorization.py)
    try:
        policy = await there.policies.get(name, qualifier or derived)
    except ApiError:  # no such function, or no policy: nothing allows it
        raise denied(caller, act, resource) from None
    if not allows(policy.statements, caller, act):
        raise denied(caller, act, resource)
    return there


async def queue_cell(cells: CellLookup, home: Services, caller: Caller, operation: str,
                     members: Mapping[str, object], path: Mapping[str, str]) -> Services:  # fmt: skip
    """The services an SQS request goes to: ``home``, or the cell of the account whose queue it names
    (``path``: the queue URL it was sent to, if it was)."""
    owner = queue_access.owner_named(operation, members, path.get("account"))
    s = home.settings
    if owner is None or owner == s.account_id:
        return home
    name = queue_access.queue_named(members, path.get("name")) or ""
    arn = f"arn:aws:sqs:{s.region}:{owner}:{name}"
    there = cells.started(owner, s.region)
    if there is None or there.queues.by_arn(arn) is None:
        raise QueueDoesNotExist("The specified queue does not exist.")
    action = f"sqs:{operation}"
    if not queue_access.crosses(operation) or there.iam is None:
        raise QueueAccessDenied(f"User: {caller.principal.arn} is not authorized to perform: {action} on resource: "
                                f"{arn} because no resource-based policy allows the {action} action")  # fmt: skip
    return there  # IAM decides with the queue's policy, in its cell (api/authorization.py)


def s3_bucket(request: web.Request, target: routing.Target) -> str | None:
    """The bucket an S3 request acts on, if it names one (CreateBucket's is not yet anyone's)."""
    name = s3_operation(request.method, target, request.query, "x-amz-copy-source" in request.headers)
    return target.bucket if target.bucket and name not in (None, "CreateBucket") else None


async def owner_cell(cells: CellLookup, home: Services, bucket: str) -> Services | None:
    """The services of the cell that holds ``bucket`` (by the global index of bucket names), if
    another cell than ``home`` holds it and IAM decides requests there (without IAM nothing would
    decide with the bucket's policy)."""
    owner = home.objects.owner(bucket) if home.objects is not None else None
    s = home.settings
    if owner is None or (owner.account, owner.region) == (s.account_id, s.region) or owner.region not in cells.regions:
        return None
    there = cells.started(owner.account, owner.region) or await cells.open(owner.account, owner.region)
    return there if there.iam is not None else None


async def bucket_cell(cells: CellLookup, home: Services, caller: Caller, bucket: str) -> Services:
    """The services an S3 request on ``bucket`` (any but CreateBucket) goes to: ``home``, or the cell
    of the account that owns the name, where IAM's authorization decides it with the bucket's
    policy (api/authorization.py). The caller's own bucket in another region stays NoSuchBucket,
    and without IAM another account's is refused in ``home`` (AccessDenied)."""
    owner = home.objects.owner(bucket) if home.objects is not None else None
    if owner is None or owner.account == caller.account_id:
        return home
    return await owner_cell(cells, home, bucket) or home


async def place(request: web.Request, caller: Caller) -> None:
    """Set the request's cell (``CELL``) from its caller, checking a FunctionName, a queue or a
    bucket of another account."""
    cells = request.app[CELLS]
    home = cells.started(caller.account_id, caller.region) or await cells.open(caller.account_id, caller.region)
    request[CELL] = home
    raw_path, _, raw_query = request.raw_path.partition("?")
    s3_target = routing.target(request.headers.get("Host", ""), raw_path, request.headers.get("Authorization"),
                               raw_query)  # fmt: skip
    if s3_target is not None:
        bucket = s3_bucket(request, s3_target)
        if bucket is not None:
            request[CELL] = await bucket_cell(cells, home, caller, bucket)
        return
    target = request.headers.get("X-Amz-Target", "")
    if target.startswith(SQS_PREFIX) and request.method == "POST":
        request[CELL] = await queue_cell(cells, home, caller, target[len(SQS_PREFIX):], await json_members(request),
                                         request.match_info)  # fmt: skip
        return
    function_name = request.match_info.get("FunctionName")
    if function_name is None or ":" not in function_name:
        return
    path = request.path
    after = path.partition(function_name)[2] if function_name in path else ""
    request[CELL] = await invoke_cell(cells, home, caller, function_name, action(request.method, after or path),
                                      request.query.get("Qualifier"))  # fmt: skip
