"""STS's API over the query protocol (api/query.py): GetCallerIdentity and AssumeRole."""

from __future__ import annotations

from lamina.api.query import Call, Operation, QueryService, XmlStruct
from lamina.iam.errors import InvalidInput
from lamina.sts.service import StsService

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"


def _sts(call: Call) -> StsService:
    if call.svc.sts is None:
        raise InvalidInput("STS is not served by this Lamina.")
    return call.svc.sts


async def get_caller_identity(call: Call) -> XmlStruct:
    """Who the caller is; IAM's policies do not apply (AWS needs no permission for it either)."""
    return {"UserId": call.caller.user_id, "Account": call.caller.account_id, "Arn": call.caller.arn}


async def assume_role(call: Call) -> XmlStruct:
    p = call.params
    if p.get("Policy") is not None or p.members("PolicyArns"):
        # Session policies narrow a session's permissions; ignoring them would widen it, so refuse.
        raise InvalidInput("Lamina does not apply session policies (Policy, PolicyArns) yet.")
    session = await _sts(call).assume_role(call.caller, p.get("RoleArn"), p.get("RoleSessionName"),
                                           p.get("DurationSeconds"), p.get("ExternalId"), call.transport)  # fmt: skip
    return {
        "Credentials": {"AccessKeyId": session.access_key_id, "SecretAccessKey": session.secret,
                        "SessionToken": session.token, "Expiration": session.expires_at},
        "AssumedRoleUser": {"AssumedRoleId": session.assumed_role_id, "Arn": session.arn},
    }  # fmt: skip


OPERATIONS: dict[str, Operation] = {"GetCallerIdentity": get_caller_identity, "AssumeRole": assume_role}
SERVICE = QueryService("sts", "2011-06-15", NAMESPACE, OPERATIONS)
