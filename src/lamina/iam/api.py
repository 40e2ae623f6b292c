"""IAM's API over the query protocol (api/query.py): roles, their inline and managed policies,
users, their policies and access keys, and the AWS managed policies Lamina knows (GetPolicy,
GetPolicyVersion), and the account's own managed policies (CreatePolicy, DeletePolicy,
ListPolicies; one version each). Documents are answered URL-encoded, as IAM does (botocore decodes them).
Entities are the caller's account's."""

from __future__ import annotations

import base64
from typing import Callable, Sequence, TypeVar
from urllib.parse import quote

from lamina.api.query import Call, Operation, QueryService, XmlStruct
from lamina.iam import managed
from lamina.iam.errors import InvalidInput, NoSuchEntity, QueryValidationError, constraint
from lamina.iam.model import CustomerPolicy, Role, User, UserKey, max_session
from lamina.iam.service import IamService
from lamina.identity.principals import PrincipalKind

NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"
T = TypeVar("T")


def _iam(call: Call) -> IamService:
    if call.svc.iam is None:
        raise InvalidInput("IAM is not served by this Lamina.")
    return call.svc.iam


def _document(text: str) -> str:
    return quote(text, safe="")


def _tags(tags: Sequence[tuple[str, str]]) -> list[XmlStruct]:
    return [{"Key": k, "Value": v} for k, v in tags]


def role_shape(role: Role) -> XmlStruct:
    return {"Path": role.path, "RoleName": role.name, "RoleId": role.role_id, "Arn": role.arn,
            "CreateDate": role.created, "AssumeRolePolicyDocument": _document(role.trust),
            "Description": role.description, "MaxSessionDuration": role.max_session_seconds,
            "Tags": _tags(role.tags) if role.tags else None}  # fmt: skip


def user_shape(user: User) -> XmlStruct:
    return {"Path": user.path, "UserName": user.name, "UserId": user.user_id, "Arn": user.arn,
            "CreateDate": user.created, "Tags": _tags(user.tags) if user.tags else None}  # fmt: skip


def key_shape(key: UserKey, *, secret: bool = False) -> XmlStruct:
    return {"UserName": key.user_name, "AccessKeyId": key.access_key_id,
            "Status": "Active" if key.active else "Inactive",
            "SecretAccessKey": key.secret if secret else None, "CreateDate": key.created}  # fmt: skip


def _page(items: Sequence[T], call: Call, name: Callable[[T], str]) -> tuple[Sequence[T], XmlStruct]:
    """One page (``Marker``, ``MaxItems`` 1..1000, 100 by default) and its IsTruncated/Marker."""
    raw = call.params.get("MaxItems")
    try:
        size = int(raw) if raw is not None else 100
    except ValueError:
        raise QueryValidationError(f"Invalid value for MaxItems: {raw}") from None
    if not 1 <= size <= 1000:
        raise constraint(size, "maxItems", "Member must have value "
                         + ("greater than or equal to 1" if size < 1 else "less than or equal to 1000"))  # fmt: skip
    marker = call.params.get("Marker")
    after = ""
    if marker is not None:
        try:
            after = base64.urlsafe_b64decode(marker.encode()).decode()
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput("Invalid Marker.") from None
    chosen = [item for item in items if not after or name(item).lower() > after]
    page = chosen[:size]
    truncated = len(chosen) > size
    token = base64.urlsafe_b64encode(name(page[-1]).lower().encode()).decode() if truncated else None
    return page, {"IsTruncated": truncated, "Marker": token}


def _user_name(call: Call, member: str = "UserName") -> str:
    """The user named, or the caller if it is a user (IAM's default for these operations)."""
    name = call.params.get(member)
    if name is not None:
        return name
    if call.caller.kind is PrincipalKind.USER:
        return call.caller.arn.rsplit("/", 1)[-1]
    raise QueryValidationError("Must specify userName when calling with non-User credentials")


# -- roles ----------------------------------------------------------------------------------------


async def create_role(call: Call) -> XmlStruct:
    p = call.params
    role = await _iam(call).create_role(
        call.caller.account_id, p.get("RoleName"), p.get("AssumeRolePolicyDocument"), path=p.get("Path"),
        description=p.get("Description"), max_session_seconds=max_session(p.get("MaxSessionDuration")), tags=p.tags(),
    )  # fmt: skip
    return {"Role": role_shape(role)}


async def get_role(call: Call) -> XmlStruct:
    return {"Role": role_shape(_iam(call).role(call.caller.account_id, call.params.required("RoleName")))}


async def delete_role(call: Call) -> None:
    await _iam(call).delete_role(call.caller.account_id, call.params.required("RoleName"))


async def list_roles(call: Call) -> XmlStruct:
    roles = _iam(call).roles(call.caller.account_id, call.params.get("PathPrefix") or "/")
    page, more = _page(roles, call, lambda r: r.name)
    return {"Roles": [role_shape(r) for r in page], **more}


async def update_assume_role_policy(call: Call) -> None:
    p = call.params
    await _iam(call).update_trust(call.caller.account_id, p.required("RoleName"), p.get("PolicyDocument"))


async def update_role(call: Call) -> None:
    p = call.params
    seconds = max_session(p.get("MaxSessionDuration")) if p.get("MaxSessionDuration") is not None else None
    await _iam(call).update_role(call.caller.account_id, p.required("RoleName"), p.get("Description"), seconds)


async def tag_role(call: Call) -> None:
    await _iam(call).tag_role(call.caller.account_id, call.params.required("RoleName"), call.params.tags())


async def untag_role(call: Call) -> None:
    p = call.params
    await _iam(call).tag_role(call.caller.account_id, p.required("RoleName"), (), p.strings("TagKeys"))


async def list_role_tags(call: Call) -> XmlStruct:
    role = _iam(call).role(call.caller.account_id, call.params.required("RoleName"))
    return {"Tags": _tags(role.tags), "IsTruncated": False}


async def put_role_policy(call: Call) -> None:
    p = call.params
    await _iam(call).put_role_policy(call.caller.account_id, p.required("RoleName"), p.get("PolicyName"),
                                     p.get("PolicyDocument"))  # fmt: skip


async def get_role_policy(call: Call) -> XmlStruct:
    p = call.params
    role = _iam(call).role(call.caller.account_id, p.required("RoleName"))
    name = p.required("PolicyName")
    text = _iam(call).role_policy(call.caller.account_id, role.name, name)
    return {"RoleName": role.name, "PolicyName": name, "PolicyDocument": _document(text)}


async def delete_role_policy(call: Call) -> None:
    p = call.params
    await _iam(call).delete_role_policy(call.caller.account_id, p.required("RoleName"), p.required("PolicyName"))


async def list_role_policies(call: Call) -> XmlStruct:
    role = _iam(call).role(call.caller.account_id, call.params.required("RoleName"))
    page, more = _page(sorted(role.inline), call, lambda n: n)
    return {"PolicyNames": list(page), **more}


async def attach_role_policy(call: Call) -> None:
    p = call.params
    await _iam(call).attach_role_policy(call.caller.account_id, p.required("RoleName"), p.required("PolicyArn"))


async def detach_role_policy(call: Call) -> None:
    p = call.params
    await _iam(call).detach_role_policy(call.caller.account_id, p.required("RoleName"), p.required("PolicyArn"))


def _attached(arns: Sequence[str], call: Call) -> XmlStruct:
    page, more = _page(list(arns), call, lambda a: a)
    return {"AttachedPolicies": [{"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in page], **more}


async def list_attached_role_policies(call: Call) -> XmlStruct:
    return _attached(_iam(call).role(call.caller.account_id, call.params.required("RoleName")).attached, call)


# -- managed policies -----------------------------------------------------------------------------


def _policy(call: Call) -> managed.ManagedPolicy | CustomerPolicy:
    arn = call.params.required("PolicyArn")
    policy = _iam(call).find_policy(call.caller.account_id, arn)
    if policy is None:
        raise NoSuchEntity(f"Policy {arn} does not exist or is not attachable.")
    return policy


def policy_shape(policy: managed.ManagedPolicy | CustomerPolicy, attachments: int) -> XmlStruct:
    return {"PolicyName": policy.name, "PolicyId": policy.policy_id, "Arn": policy.arn, "Path": policy.path,
            "DefaultVersionId": "v1", "AttachmentCount": attachments, "PermissionsBoundaryUsageCount": 0,
            "IsAttachable": True, "Description": policy.description, "CreateDate": policy.created,
            "UpdateDate": policy.created}  # fmt: skip


async def create_policy(call: Call) -> XmlStruct:
    p = call.params
    policy = await _iam(call).create_policy(call.caller.account_id, p.get("PolicyName"), p.get("PolicyDocument"),
                                            p.get("Path"), p.get("Description"))  # fmt: skip
    return {"Policy": policy_shape(policy, 0)}


async def get_policy(call: Call) -> XmlStruct:
    policy = _policy(call)
    return {"Policy": policy_shape(policy, _iam(call).attachments(call.caller.account_id, policy.arn))}


async def get_policy_version(call: Call) -> XmlStruct:
    policy = _policy(call)
    version = call.params.required("VersionId")
    if version != "v1":
        raise NoSuchEntity(f"Policy {policy.arn} version {version} does not exist or is not attachable.")
    return {"PolicyVersion": {"Document": _document(policy.text), "VersionId": "v1", "IsDefaultVersion": True,
                              "CreateDate": policy.created}}  # fmt: skip


async def delete_policy(call: Call) -> None:
    await _iam(call).delete_policy(call.caller.account_id, call.params.required("PolicyArn"))


async def list_policies(call: Call) -> XmlStruct:
    """ListPolicies: Scope All (the default), AWS (the AWS managed policies Lamina knows) or Local
    (the account's own); PathPrefix; OnlyAttached."""
    p, iam, account = call.params, _iam(call), call.caller.account_id
    scope, prefix = p.get("Scope") or "All", p.get("PathPrefix") or "/"
    if scope not in ("All", "AWS", "Local"):
        raise constraint(scope, "scope", "Member must satisfy enum value set: [All, AWS, Local]")
    chosen: list[managed.ManagedPolicy | CustomerPolicy] = []
    if scope in ("All", "AWS"):
        chosen += [m for m in managed.BY_ARN.values() if m.path.startswith(prefix)]
    if scope in ("All", "Local"):
        chosen += iam.customer_policies(account, prefix)
    if (p.get("OnlyAttached") or "").lower() == "true":
        chosen = [c for c in chosen if iam.attachments(account, c.arn)]
    chosen.sort(key=lambda c: c.name.lower())
    page, more = _page(chosen, call, lambda c: c.name)
    return {"Policies": [policy_shape(c, iam.attachments(account, c.arn)) for c in page], **more}


# -- users and their keys -------------------------------------------------------------------------


async def create_user(call: Call) -> XmlStruct:
    p = call.params
    user = await _iam(call).create_user(call.caller.account_id, p.get("UserName"), p.get("Path"), p.tags())
    return {"User": user_shape(user)}


async def get_user(call: Call) -> XmlStruct:
    if call.params.get("UserName") is None and call.caller.kind is PrincipalKind.ROOT:
        root = call.caller
        return {"User": {"UserId": root.account_id, "Arn": root.arn, "CreateDate": managed.CREATED}}
    return {"User": user_shape(_iam(call).user(call.caller.account_id, _user_name(call)))}


async def delete_user(call: Call) -> None:
    await _iam(call).delete_user(call.caller.account_id, call.params.required("UserName"))


async def list_users(call: Call) -> XmlStruct:
    users = _iam(call).users(call.caller.account_id, call.params.get("PathPrefix") or "/")
    page, more = _page(users, call, lambda u: u.name)
    return {"Users": [user_shape(u) for u in page], **more}


async def put_user_policy(call: Call) -> None:
    p = call.params
    await _iam(call).put_user_policy(call.caller.account_id, p.required("UserName"), p.get("PolicyName"),
                                     p.get("PolicyDocument"))  # fmt: skip


async def get_user_policy(call: Call) -> XmlStruct:
    p = call.params
    user = _iam(call).user(call.caller.account_id, p.required("UserName"))
    name = p.required("PolicyName")
    text = _iam(call).user_policy(call.caller.account_id, user.name, name)
    return {"UserName": user.name, "PolicyName": name, "PolicyDocument": _document(text)}


async def delete_user_policy(call: Call) -> None:
    p = call.params
    await _iam(call).delete_user_policy(call.caller.account_id, p.required("UserName"), p.required("PolicyName"))


async def list_user_policies(call: Call) -> XmlStruct:
    user = _iam(call).user(call.caller.account_id, call.params.required("UserName"))
    page, more = _page(sorted(user.inline), call, lambda n: n)
    return {"PolicyNames": list(page), **more}


async def attach_user_policy(call: Call) -> None:
    p = call.params
    await _iam(call).attach_user_policy(call.caller.account_id, p.required("UserName"), p.required("PolicyArn"))


async def detach_user_policy(call: Call) -> None:
    p = call.params
    await _iam(call).detach_user_policy(call.caller.account_id, p.required("UserName"), p.required("PolicyArn"))


async def list_attached_user_policies(call: Call) -> XmlStruct:
    return _attached(_iam(call).user(call.caller.account_id, call.params.required("UserName")).attached, call)


async def create_access_key(call: Call) -> XmlStruct:
    key = await _iam(call).create_access_key(call.caller.account_id, _user_name(call))
    return {"AccessKey": key_shape(key, secret=True)}


async def list_access_keys(call: Call) -> XmlStruct:
    iam = _iam(call)
    user = iam.user(call.caller.account_id, _user_name(call))
    page, more = _page(iam.keys_of(call.caller.account_id, user.name), call, lambda k: k.access_key_id)
    return {"AccessKeyMetadata": [key_shape(k) for k in page], **more}


async def delete_access_key(call: Call) -> None:
    p = call.params
    await _iam(call).delete_access_key(call.caller.account_id, _user_name(call), p.required("AccessKeyId"))


async def update_access_key(call: Call) -> None:
    p = call.params
    status = p.required("Status")
    if status not in ("Active", "Inactive"):
        raise constraint(status, "status", "Member must satisfy enum value set: [Active, Inactive]")
    await _iam(call).update_access_key(call.caller.account_id, _user_name(call), p.required("AccessKeyId"),
                                       status == "Active")  # fmt: skip


OPERATIONS: dict[str, Operation] = {
    "CreateRole": create_role, "GetRole": get_role, "DeleteRole": delete_role, "ListRoles": list_roles,
    "UpdateAssumeRolePolicy": update_assume_role_policy, "UpdateRole": update_role, "TagRole": tag_role,
    "UntagRole": untag_role, "ListRoleTags": list_role_tags,
    "PutRolePolicy": put_role_policy, "GetRolePolicy": get_role_policy, "DeleteRolePolicy": delete_role_policy,
    "ListRolePolicies": list_role_policies, "AttachRolePolicy": attach_role_policy,
    "DetachRolePolicy": detach_role_policy, "ListAttachedRolePolicies": list_attached_role_policies,
    "GetPolicy": get_policy, "GetPolicyVersion": get_policy_version, "CreatePolicy": create_policy,
    "DeletePolicy": delete_policy, "ListPolicies": list_policies,
    "CreateUser": create_user, "GetUser": get_user, "DeleteUser": delete_user, "ListUsers": list_users,
    "PutUserPolicy": put_user_policy, "GetUserPolicy": get_user_policy, "DeleteUserPolicy": delete_user_policy,
    "ListUserPolicies": list_user_policies, "AttachUserPolicy": attach_user_policy,
    "DetachUserPolicy": detach_user_policy, "ListAttachedUserPolicies": list_attached_user_policies,
    "CreateAccessKey": create_access_key, "ListAccessKeys": list_access_keys, "DeleteAccessKey": delete_access_key,
    "UpdateAccessKey": update_access_key,
}  # fmt: skip

SERVICE = QueryService("iam", "2010-05-08", NAMESPACE, OPERATIONS)
