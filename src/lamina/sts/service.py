"""STS's operations, and the credential issuer functions' environments are given keys by.

AssumeRole evaluates the role's trust policy for the caller (``iam.evaluate.trusts``), checks the
session's name and duration as STS does, and starts a session (``sessions.py``). Functions'
credentials are sessions of their execution role started for Lambda's service principal
(``lambda.amazonaws.com`` must be trusted; in the development mode a role that does not trust it
is said in the log, once per role, and served all the same).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from typing import Callable, Mapping

from lamina.iam.context import context_of, requester_of, service_requester
from lamina.iam.errors import NoSuchEntity, QueryAccessDenied, QueryValidationError, constraint
from lamina.iam.evaluate import Request, trusts
from lamina.iam.roles import ExecutionRoles
from lamina.iam.service import IamService
from lamina.identity.principals import AccessKey, Principal, PrincipalKind
from lamina.settings import Settings
from lamina.sts.sessions import Session, Sessions

log = logging.getLogger(__name__)

_SESSION_NAME = re.compile(r"^[\w+=,.@-]*$")
MIN_DURATION, MAX_DURATION, CHAINED_MAX = 900, 43200, 3600
LAMBDA = "lambda.amazonaws.com"


def check_session_name(name: str | None) -> str:
    if name is None:
        raise QueryValidationError("1 validation error detected: Value null at 'roleSessionName' failed to satisfy "
                                   "constraint: Member must not be null")  # fmt: skip
    if len(name) < 2:
        raise constraint(name, "roleSessionName", "Member must have length greater than or equal to 2")
    if len(name) > 64:
        raise constraint(name, "roleSessionName", "Member must have length less than or equal to 64")
    if not _SESSION_NAME.match(name):
        raise constraint(name, "roleSessionName", "Member must satisfy regular expression pattern: [\\w+=,.@-]*")
    return name


def check_duration(value: str | None) -> int:
    if value is None:
        return 3600
    try:
        seconds = int(value)
    except ValueError:
        raise QueryValidationError(f"Invalid value for DurationSeconds: {value}") from None
    if seconds < MIN_DURATION:
        raise constraint(seconds, "durationSeconds", f"Member must have value greater than or equal to {MIN_DURATION}")
    if seconds > MAX_DURATION:
        raise constraint(seconds, "durationSeconds", f"Member must have value less than or equal to {MAX_DURATION}")
    return seconds


class StsService:
    def __init__(self, iam: IamService, sessions: Sessions, settings: Settings,
                 now: Callable[[], datetime] | None = None) -> None:  # fmt: skip
        self._iam = iam
        self._sessions = sessions
        self._settings = settings
        self._now = now or (lambda: datetime.now(timezone.utc))

    async def assume_role(self, caller: Principal, role_arn: str | None, session_name: str | None,
                          duration: str | None, external_id: str | None = None,
                          transport: Mapping[str, str] = {}) -> Session:  # fmt: skip
        """AssumeRole for ``caller``: AccessDenied (as STS words it, whether or not the role
        exists) unless the role's trust policy lets the caller in; its conditions may name
        ``sts:ExternalId``, ``sts:RoleSessionName`` and the request's ``transport`` keys
        (``aws:SourceIp``, ``aws:SecureTransport``)."""
        if role_arn is None:
            raise QueryValidationError("1 validation error detected: Value null at 'roleArn' failed to satisfy "
                                       "constraint: Member must not be null")  # fmt: skip
        name = check_session_name(session_name)
        seconds = check_duration(duration)
        denied = QueryAccessDenied(f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: "
                                   f"{role_arn}")  # fmt: skip
        if caller.kind is PrincipalKind.ROOT and not self._settings.development_mode:
            raise QueryAccessDenied("Roles may not be assumed by root accounts.")
        role = self._iam.find_role(role_arn)
        if role is None:
            raise denied
        keys = {**transport, "sts:RoleSessionName": name,
                **({"sts:ExternalId": external_id} if external_id is not None else {})}  # fmt: skip
        request = Request(requester_of(caller), "sts:AssumeRole", role.arn, role.account,
                          context_of(caller, self._now(), keys))  # fmt: skip
        if not trusts(self._iam.trust_policy(role), request, self._iam.policies_of(caller)):
            raise denied
        if caller.kind is PrincipalKind.ASSUMED_ROLE and seconds > CHAINED_MAX:
            raise QueryValidationError("The requested DurationSeconds exceeds the 1 hour session limit for roles "
                                       "assumed by role chaining.")  # fmt: skip
        if seconds > role.max_session_seconds:
            raise QueryValidationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
        return await self._sessions.start(role.account, role.arn, role.role_id, name, seconds)


class FunctionCredentials:
    """``identity.principals.CredentialIssuer``: a session of a function's execution role, started
    for Lambda's service principal."""

    def __init__(self, iam: IamService, sessions: Sessions, settings: Settings,
                 now: Callable[[], datetime] | None = None) -> None:  # fmt: skip
        self._iam = iam
        self._sessions = sessions
        self._settings = settings
        self._now = now or (lambda: datetime.now(timezone.utc))
        self._said: set[str] = set()

    async def assume_role(self, role_arn: str, session_name: str, duration_seconds: int) -> AccessKey:
        role = self._iam.find_role(role_arn)
        if role is None and self._settings.development_mode:
            # A function made before its role was checked (an older data directory): made now, said so.
            await ExecutionRoles(self._iam, development_mode=True).check(role_arn)
            role = self._iam.find_role(role_arn)
        if role is None:
            raise NoSuchEntity(f"The role with name {role_arn.rsplit('/', 1)[-1]} cannot be found.")
        request = Request(service_requester(LAMBDA), "sts:AssumeRole", role.arn, role.account,
                          context_of(None, self._now()))  # fmt: skip
        if not trusts(self._iam.trust_policy(role), request):
            if not self._settings.development_mode:
                raise QueryAccessDenied(f"User: {LAMBDA} is not authorized to perform: sts:AssumeRole on resource: "
                                        f"{role.arn}")  # fmt: skip
            if role.arn not in self._said:
                self._said.add(role.arn)
                log.warning("role %s does not trust %s to assume it; on AWS its functions would get no credentials "
                            "(allowed in the development mode)", role.arn, LAMBDA)  # fmt: skip
        # The session is named after the function, as Lambda names it: a function's name is always a
        # valid session name's characters, and may be one character long, below what AssumeRole's
        # callers may ask for (Lambda's own call is not held to it).
        session = await self._sessions.start(role.account, role.arn, role.role_id, session_name,
                                             max(MIN_DURATION, min(duration_seconds, MAX_DURATION)))  # fmt: skip
        return session.key()
