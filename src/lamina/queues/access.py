"""Who may reach a queue besides its own account's principals: the queue's ``Policy`` attribute
(SetQueueAttributes, AddPermission) as the resource-based policy SQS evaluates.

- Another account's principal names a queue by its URL (``http://host/<owner>/<name>``) or, for
  GetQueueUrl, by its name and ``QueueOwnerAWSAccountId``; ``owner_named`` reads which account that
  is. Only the actions SQS lets another account do (AddPermission's list) reach another account's
  queue (``crosses``); the rest are refused whatever the policy says, as SQS refuses them.
- Services deliver into a queue as their service principals (``events.amazonaws.com`` for a rule's
  target, ``s3.amazonaws.com`` for a bucket notification), with ``aws:SourceArn`` and
  ``aws:SourceAccount``: ``service_allowed`` decides (pure); ``ServiceSenders`` asks it for a queue,
  and in the development mode logs a refusal once per queue, service and source, and allows it, as
  Lambda's triggers are treated there (iam/triggers.py).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Callable, Mapping

from lamina.errors import ApiError
from lamina.iam.context import context_of, service_requester
from lamina.iam.evaluate import Request, decide
from lamina.iam.policy import Policy, PolicyKind, parse
from lamina.queues import model
from lamina.queues.permissions import ACTIONS
from lamina.queues.queue import Queue

log = logging.getLogger(__name__)

SEND = "sqs:SendMessage"
# What another account may be granted on a queue (AddPermission's actions), by operation name.
_CROSSING = frozenset(ACTIONS - {"*"}) | {"SendMessageBatch", "DeleteMessageBatch", "ChangeMessageVisibilityBatch"}


def crosses(operation: str) -> bool:
    """Whether an SQS operation (``SendMessage``, ...) may act on another account's queue."""
    return operation in _CROSSING


def owner_named(operation: str, members: Mapping[str, object], path_account: str | None) -> str | None:
    """The account whose queue a request names (pure): its QueueUrl's, GetQueueUrl's
    ``QueueOwnerAWSAccountId``, or the queue URL it was sent to (``path_account``); None if it
    names no account (a bare queue name, or no queue: the caller's own account then)."""
    url = members.get("QueueUrl")
    if isinstance(url, str) and url:
        found = model.name_from_url(url)
        return found[0] if found is not None else None
    if operation == "GetQueueUrl":
        owner = members.get("QueueOwnerAWSAccountId")
        if isinstance(owner, str) and owner:
            return owner
    return path_account


def queue_named(members: Mapping[str, object], path_name: str | None) -> str | None:
    """The name of the queue a request names (its QueueUrl's, QueueName, or the URL's path)."""
    url = members.get("QueueUrl")
    if isinstance(url, str) and url:
        found = model.name_from_url(url)
        return found[1] if found is not None else None
    name = members.get("QueueName")
    return name if isinstance(name, str) and name else path_name


def policy_of(queue: Queue) -> Policy | None:
    """The queue's policy (None: it has none, or one IAM cannot read, which allows nothing)."""
    text = queue.attribute("Policy")
    if not text:
        return None
    try:
        return parse(text, PolicyKind.RESOURCE)
    except ApiError:
        log.warning("the policy of queue %s cannot be read; it allows nothing", queue.arn)
        return None


class Policies:
    """Queues' policies, each parsed once per text (a queue's policy is read for every request on
    it but its root's, and for every service's send)."""

    def __init__(self) -> None:
        self._parsed: dict[str, tuple[str, Policy | None]] = {}  # queue ARN -> its policy's text, parsed

    def of(self, queue: Queue) -> Policy | None:
        text = queue.attribute("Policy") or ""
        kept = self._parsed.get(queue.arn)
        if kept is None or kept[0] != text:
            kept = self._parsed[queue.arn] = (text, policy_of(queue))
        return kept[1]

    def forget(self, arn: str) -> None:
        self._parsed.pop(arn, None)


def service_allowed(policy: Policy | None, queue_arn: str, service: str, source_arn: str, source_account: str,
                    now: datetime) -> bool:  # fmt: skip
    """Whether ``policy`` (the queue's) lets ``service`` send to the queue for ``source_arn`` (pure)."""
    context = context_of(None, now, {"aws:SourceArn": source_arn, "aws:SourceAccount": source_account})
    owner = model.arn_parts(queue_arn)
    request = Request(service_requester(service), SEND, queue_arn, owner[1] if owner else "", context)
    return decide(request, (), policy).allowed


class ServiceSenders:
    """Whether a service may send to a queue: the queue's policy must allow its service principal.
    In the development mode a refusal is logged once per queue, service and source, and allowed."""

    def __init__(self, development_mode: bool, now: Callable[[], datetime] | None = None,
                 policies: Policies | None = None) -> None:  # fmt: skip
        self._development = development_mode
        self._now = now or (lambda: datetime.now(timezone.utc))
        self._logged: set[tuple[str, str, str]] = set()
        self._policies = policies or Policies()

    def allowed(self, queue: Queue, service: str, source_arn: str, source_account: str) -> bool:
        policy = self._policies.of(queue)
        if service_allowed(policy, queue.arn, service, source_arn, source_account, self._now()):
            return True
        if not self._development:
            return False
        key = (queue.arn, service, source_arn)
        if key not in self._logged:
            self._logged.add(key)
            log.warning("%s sent to %s for %s though the queue's policy does not allow it; AWS would refuse it "
                        "(a statement allowing the service principal sqs:SendMessage with aws:SourceArn); "
                        "allowed in the development mode", service, queue.arn, source_arn)  # fmt: skip
        return True
