"""The identities Lamina knows, the keys they sign with, and the caller of a verified request.

A request is signed with an access key; the ``KeyRing`` finds the key by its id (root keys from
configuration, IAM users' keys, temporary keys from STS); the signature, checked against the key's
secret, makes the request's ``Caller``: the key's ``Principal`` and the region and service the
request was signed for. The authentication middleware stores it on the request (``CALLER``);
handlers and the authorizer read it with ``caller_of``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from aiohttp import web


class PrincipalKind(enum.Enum):
    ROOT = "root"  # an account's root: every action on the account's resources
    USER = "user"  # an IAM user: its policies
    ASSUMED_ROLE = "assumed-role"  # a role's session (AssumeRole, a function's credentials): the role's policies


@dataclass(frozen=True)
class Principal:
    account_id: str
    arn: str  # arn:aws:iam::<account>:root | :user/<path><name> | arn:aws:sts::<account>:assumed-role/<role>/<session>
    user_id: str  # GetCallerIdentity's UserId: the account id (root), AIDA... (user), AROA...:<session> (role)
    kind: PrincipalKind
    role_arn: str | None = None  # ASSUMED_ROLE: the role whose policies apply


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    secret_access_key: str = field(repr=False)  # never in logs or tracebacks
    principal: Principal
    session_token: str | None = field(default=None, repr=False)  # temporary keys: sent as X-Amz-Security-Token
    expires_at: datetime | None = None  # temporary keys: not accepted from then on (aware, UTC)


class KeyRing(Protocol):
    def find(self, access_key_id: str) -> AccessKey | None:
        """The key with this id, or None if Lamina knows no such key (expired ones included:
        whoever verifies checks ``expires_at``)."""
        ...


@dataclass(frozen=True)
class Caller:
    """Who signed a request, verified: the key, and the region and service it was signed for."""

    key: AccessKey
    region: str  # the credential scope's region: the region of the ARNs the answer names
    service: str  # the credential scope's service (lambda, s3, sqs, events, iam, sts, ...)

    @property
    def principal(self) -> Principal:
        return self.key.principal

    @property
    def account_id(self) -> str:
        return self.key.principal.account_id


CALLER = web.RequestKey("caller", Caller)
# An unsigned S3 request let through as the anonymous principal (a bucket policy allows everyone).
ANONYMOUS = web.RequestKey("anonymous", bool)


def caller_of(request: web.Request) -> Caller | None:
    """The verified caller of ``request``; None for requests no signature covers (function URLs
    whose auth type is NONE, execute-api addresses, Lamina's health check)."""
    return request.get(CALLER)


class CredentialIssuer(Protocol):
    async def assume_role(self, role_arn: str, session_name: str, duration_seconds: int) -> AccessKey:
        """Temporary credentials (a key with a session token and an expiry) for a session of the
        role ``role_arn``: STS's AssumeRole, and what each execution environment is given for its
        function's execution role. Raises an ``ApiError`` if the role does not exist."""
        ...
