"""An SQS event source mapping reads its queue with its function's execution role, so
CreateEventSourceMapping (and UpdateEventSourceMapping when it changes the function) needs that
role to allow ``sqs:ReceiveMessage``, ``sqs:DeleteMessage`` and ``sqs:GetQueueAttributes`` on the
queue, as AWS checks it. Outside the development mode a role that does not is refused with AWS's
``InvalidParameterValueException``; in the development mode it is logged once per role and queue,
and allowed. The role's identity policies are decided by IAM's evaluator (``iam.evaluate``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Callable

from lamina.errors import InvalidParameterValue
from lamina.iam.context import context_of, requester_of
from lamina.iam.evaluate import Request, decide
from lamina.iam.policy import Policy
from lamina.iam.service import IamService, role_name_of
from lamina.identity.principals import Principal, PrincipalKind

log = logging.getLogger(__name__)

SQS_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")


def role_principal(role_arn: str) -> Principal:
    """The session of ``role_arn`` a mapping reads its queue with, as the evaluator's principal."""
    named = role_name_of(role_arn)
    account, name = named if named is not None else ("", "")
    return Principal(account, f"arn:aws:sts::{account}:assumed-role/{name}/lambda", "", PrincipalKind.ASSUMED_ROLE,
                     role_arn)  # fmt: skip


def not_allowed(principal: Principal, queue_arn: str, identity: list[Policy], now: datetime) -> str | None:
    """The first of ``SQS_ACTIONS`` the role's policies (``identity``) do not allow on the queue,
    or None if they allow them all (pure)."""
    parts = queue_arn.split(":")
    queue_account = parts[4] if len(parts) > 4 else principal.account_id
    for action in SQS_ACTIONS:
        request = Request(requester_of(principal), action, queue_arn, queue_account, context_of(principal, now))
        if not decide(request, identity).allowed:
            return action
    return None


class SourceRoles:
    def __init__(self, iam: IamService, development_mode: bool,
                 now: Callable[[], datetime] | None = None) -> None:  # fmt: skip
        self._iam = iam
        self._development = development_mode
        self._now = now or (lambda: datetime.now(timezone.utc))
        self._said: set[tuple[str, str]] = set()  # development mode: (role, queue) already logged

    def check_sqs(self, role_arn: str, queue_arn: str) -> None:
        """Refuse (InvalidParameterValueException, AWS's words) a role that may not read and delete
        the queue's messages; in the development mode say so once and allow it."""
        principal = role_principal(role_arn)
        missing = not_allowed(principal, queue_arn, self._iam.policies_of(principal), self._now())
        if missing is None:
            return
        if self._development:
            if (role_arn, queue_arn) not in self._said:
                self._said.add((role_arn, queue_arn))
                log.warning("the execution role %s does not allow %s on %s; AWS would refuse the event source "
                            "mapping; allowed in the development mode", role_arn, missing, queue_arn)  # fmt: skip
            return
        raise InvalidParameterValue(f"The provided execution role does not have permissions to call "
                                    f"{missing.removeprefix('sqs:')} on SQS")  # fmt: skip
