"""A function's dead-letter queue and its asynchronous destinations are written to with the
function's execution role, so the role must allow what each target needs, as AWS checks it:

- an SQS queue: ``sqs:SendMessage``; an SNS topic: ``sns:Publish``; a Lambda function:
  ``lambda:InvokeFunction``; an EventBridge bus: ``events:PutEvents`` (invocation-async.md).
- The decision is IAM's (``iam.evaluate``): the role's identity policies, and the target's resource
  policy where Lamina keeps one (a queue's policy, found in whichever account's cell holds the
  queue). Within one account either suffices; a queue of another account needs both, its policy
  naming the role or its account. A target whose policy Lamina does not keep (an SNS topic, a bus)
  is decided by the identity policies alone, wherever it is.

At configuration time a role that may not is refused with AWS's ``InvalidParameterValueException``:
for a DeadLetterConfig (CreateFunction, UpdateFunctionConfiguration) "The provided execution role
does not have permissions to call SendMessage on SQS" (``Publish on SNS``); for a destination
(Put/UpdateFunctionEventInvokeConfig) "The function execution role does not have permissions to
call SendMessage on <arn>". At send time (``may_send``, the asynchronous queue's) a refused record
or dead letter is not sent: the caller logs it and counts it lost, as Lambda's DeadLetterErrors and
DestinationDeliveryFailures count it.

In the development mode both are logged once per role and target, and allowed, as the mappings'
source roles are (iam/source_roles.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Sequence

from lamina.errors import InvalidParameterValue
from lamina.iam.context import context_of, requester_of
from lamina.iam.evaluate import Request, decide
from lamina.iam.policy import Policy
from lamina.iam.service import IamService
from lamina.iam.source_roles import role_principal
from lamina.identity.principals import Principal
from lamina.store.base import DEAD_LETTER, DESTINATION, OutboxMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What sending to a target takes: the IAM action, and the service as AWS's message names it."""

    action: str
    service: str

    @property
    def operation(self) -> str:
        return self.action.split(":", 1)[1]


_BY_SERVICE = {
    "sqs": Delivery("sqs:SendMessage", "SQS"),
    "sns": Delivery("sns:Publish", "SNS"),
    "lambda": Delivery("lambda:InvokeFunction", "Lambda"),
    "events": Delivery("events:PutEvents", "EventBridge"),
}

# The services whose targets' resource policies Lamina keeps (and so decides across accounts with).
KEPT_POLICIES = frozenset({"sqs", "lambda"})
# A target's resource policy by its ARN (None: it has none, or Lamina keeps none for it).
ResourcePolicies = Callable[[str], Policy | None]


def delivery_of(arn: str) -> Delivery | None:
    """What sending to ``arn`` takes (pure); None for a target of a service not listed."""
    parts = arn.split(":")
    return _BY_SERVICE.get(parts[2]) if len(parts) > 5 and parts[0] == "arn" else None


def dead_letter_refusal(delivery: Delivery) -> str:
    return f"The provided execution role does not have permissions to call {delivery.operation} on {delivery.service}"


def destination_refusal(delivery: Delivery, arn: str) -> str:
    return f"The function execution role does not have permissions to call {delivery.operation} on {arn}"


def role_may(principal: Principal, delivery: Delivery, arn: str, identity: Sequence[Policy],
             resource: Policy | None, now: datetime) -> bool:  # fmt: skip
    """Whether the role's session (``principal``, with its ``identity`` policies) may send to ``arn``
    whose resource policy is ``resource`` (pure)."""
    parts = arn.split(":")
    owner = parts[4] if parts[2] in KEPT_POLICIES and parts[4] else principal.account_id
    request = Request(requester_of(principal), delivery.action, arn, owner, context_of(principal, now))
    return decide(request, identity, resource).allowed


class DestinationRoles:
    """The checks of a function's role against its dead-letter queue and destinations."""

    def __init__(self, iam: IamService, development_mode: bool, policies: ResourcePolicies,
                 now: Callable[[], datetime] | None = None) -> None:  # fmt: skip
        self._iam = iam
        self._development = development_mode
        self._policies = policies
        self._now = now or (lambda: datetime.now(timezone.utc))
        self._said: set[tuple[str, str]] = set()  # development mode: (role, target) already logged

    def _refused(self, role_arn: str, arn: str) -> Delivery | None:
        """What the role may not do to send to ``arn`` (None: it may, or the target is not checked)."""
        delivery = delivery_of(arn)
        if delivery is None:
            return None
        principal = role_principal(role_arn)
        identity = self._iam.policies_of(principal)
        if role_may(principal, delivery, arn, identity, self._policies(arn), self._now()):
            return None
        return delivery

    def _lenient(self, role_arn: str, arn: str, delivery: Delivery, what: str) -> bool:
        """In the development mode: say so once, and allow; else False."""
        if not self._development:
            return False
        if (role_arn, arn) not in self._said:
            self._said.add((role_arn, arn))
            log.warning("the execution role %s does not allow %s on %s; AWS would refuse the %s; allowed in the "
                        "development mode", role_arn, delivery.action, arn, what)  # fmt: skip
        return True

    def check_dead_letter(self, role_arn: str, target: str) -> None:
        """Refuse (AWS's InvalidParameterValueException) a DeadLetterConfig the role cannot send to."""
        delivery = self._refused(role_arn, target)
        if delivery is not None and not self._lenient(role_arn, target, delivery, "dead-letter queue"):
            raise InvalidParameterValue(dead_letter_refusal(delivery))

    def check_destination(self, role_arn: str, arn: str) -> None:
        """Refuse (AWS's InvalidParameterValueException) a destination the role cannot send to."""
        delivery = self._refused(role_arn, arn)
        if delivery is not None and not self._lenient(role_arn, arn, delivery, "destination"):
            raise InvalidParameterValue(destination_refusal(delivery, arn))

    def may_cross(self, message: OutboxMessage, role_of: Callable[[str], str | None]) -> bool:
        """Whether an outbox message may go to another account's queue: only a dead letter or
        destination record that names a function of this account (``role_of``: its role, None: no
        such function) whose role may send there now, the queue's policy included. A rule's or a
        bucket's messages, which name none, never cross."""
        if not message.function or message.kind not in (DEAD_LETTER, DESTINATION):
            return False
        role = role_of(message.function)
        return role is not None and self._refused(role, message.target) is None

    def may_send(self, role_arn: str, arn: str) -> bool:
        """Whether a record or dead letter may be sent to ``arn`` now (the role and the target's
        policy as they are now); in the development mode a refusal is logged once and allowed."""
        delivery = self._refused(role_arn, arn)
        return delivery is None or self._lenient(role_arn, arn, delivery, "delivery")
