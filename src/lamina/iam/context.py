"""A principal as the evaluator's requester, and the global condition keys of its requests (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Mapping

from lamina.iam.evaluate import Requester
from lamina.identity.principals import Principal, PrincipalKind

_TYPES = {PrincipalKind.ROOT: "Account", PrincipalKind.USER: "User", PrincipalKind.ASSUMED_ROLE: "AssumedRole"}


def requester_of(principal: Principal) -> Requester:
    return Requester(arn=principal.arn, account_id=principal.account_id, root=principal.kind is PrincipalKind.ROOT,
                     role_arn=principal.role_arn)  # fmt: skip


def service_requester(service: str) -> Requester:
    """A service principal (``events.amazonaws.com``, ...) as the evaluator's requester."""
    return Requester(service=service)


def anonymous_requester() -> Requester:
    """The anonymous principal (an unsigned request) as the evaluator's requester."""
    return Requester(anonymous=True)


def transport_keys(secure: bool, peer: str) -> dict[str, str]:
    """The global condition keys of how a request arrived: ``aws:SecureTransport`` (over TLS, Lamina's
    HTTPS listener, or not) and ``aws:SourceIp`` (the client's address; none: not said)."""
    keys = {"aws:SecureTransport": "true" if secure else "false"}
    if peer:
        keys["aws:SourceIp"] = peer
    return keys


def context_of(principal: Principal | None, now: datetime, extra: Mapping[str, str] = {}) -> dict[str, tuple[str, ...]]:
    """The condition keys every request carries (``aws:PrincipalArn``, ``aws:PrincipalAccount``,
    ``aws:PrincipalType``, ``aws:userid``, ``aws:username`` for users, ``aws:CurrentTime``,
    ``aws:EpochTime``) and the request's own (``extra``: ``aws:SourceArn``, ``lambda:FunctionArn``...);
    keys lower-cased, as the evaluator looks them up."""
    keys: dict[str, tuple[str, ...]] = {
        "aws:currenttime": (now.strftime("%Y-%m-%dT%H:%M:%SZ"),),
        "aws:epochtime": (str(int(now.timestamp())),),
    }
    if principal is not None:
        # A role's session is known by the role's ARN in aws:PrincipalArn, as IAM has it.
        arn = principal.role_arn if principal.kind is PrincipalKind.ASSUMED_ROLE and principal.role_arn else principal.arn
        keys["aws:principalarn"] = (arn,)
        keys["aws:principalaccount"] = (principal.account_id,)
        keys["aws:principaltype"] = (_TYPES[principal.kind],)
        keys["aws:userid"] = (principal.user_id,)
        if principal.kind is PrincipalKind.USER:
            keys["aws:username"] = (principal.arn.rsplit("/", 1)[-1],)
    for key, value in extra.items():
        keys[key.lower()] = (value,)
    return keys
