"""An event source mapping reads its source with its function's execution role, so
CreateEventSourceMapping (and an UpdateEventSourceMapping that changes the function or the source
access configurations) needs that role to allow what AWS requires for the source, as AWS checks it.
Outside the development mode a role that does not is refused with AWS's
``InvalidParameterValueException`` and AWS's words; in the development mode it is logged once per
role and resource, and allowed. The role's identity policies are decided by IAM's evaluator
(``iam.evaluate``).

What each kind of source needs (``needs``, one table; checked in this order):

- SQS: ``sqs:ReceiveMessage``, ``sqs:DeleteMessage``, ``sqs:GetQueueAttributes`` on the queue.
- Table streams (DynamoDB-streams-shaped, lamina/streams): ``dynamodb:DescribeStream``,
  ``dynamodb:GetRecords``, ``dynamodb:GetShardIterator``, ``dynamodb:ListStreams`` (with-ddb.md) on
  the stream ARN each table's records carry (``arn:aws:dynamodb:<region>:<account>:table/<schema.
  table>/stream/<label>``), so a policy written for it (or ``*``) grants it.
- Amazon MQ for RabbitMQ: ``mq:DescribeBroker`` on the broker, ``secretsmanager:GetSecretValue`` on
  the BASIC_AUTH secret, and the EC2 actions with-mq.md lists (``ec2:CreateNetworkInterface``,
  ``DeleteNetworkInterface``, ``DescribeNetworkInterfaces``, ``DescribeSecurityGroups``,
  ``DescribeSubnets``, ``DescribeVpcs``) on ``*``: an Amazon MQ broker always lives in a VPC, so AWS
  needs them for every MQ mapping. Lamina reaches the brokers directly and calls none of them, but
  checks them all the same so that a role Lamina accepts is one AWS would accept.
- Self-managed Kafka: ``secretsmanager:GetSecretValue`` on each secret the SourceAccessConfigurations
  name (SASL, client certificate, root CA); the EC2 actions only if they name VPC_SUBNET or
  VPC_SECURITY_GROUP (with-kafka.md: a cluster reached through a VPC). Lamina does not take MSK
  cluster ARNs, so ``kafka:DescribeClusterV2`` and friends are never needed.

Not checked: CloudWatch Logs' actions (AWS does not check them at creation either: a function
without them runs, unlogged) and ``kms:Decrypt`` (only for a customer managed key, which Lamina's
secrets, read from LAMINA_SECRETS_FILE, never have).

A Kafka or table stream mapping's on-failure destination is sent to with the same role: an SQS
queue needs ``sqs:SendMessage`` ("The provided execution role does not have permissions to call
SendMessage on SQS", as for a function's dead-letter queue), a function ``lambda:InvokeFunction``,
checked after the source's needs. The records are sent without a second look (unlike a function's
dead letters, iam/destinations.py).

A queue's own policy counts as SQS has it: within the account it may allow the role by itself; a
queue of another account (a mapping may read one: cells/crossings.py) needs it to allow the role
(or its account) as well as the role's own policies.

AWS's messages: SQS's ("The provided execution role does not have permissions to call
ReceiveMessage on SQS") and the EC2 one follow the same pattern; a stream's is "Cannot access stream
<arn>. Please ensure the role can perform the GetRecords, GetShardIterator, DescribeStream, and
ListStreams Actions on your stream in IAM."; a secret's is "Cannot access secret manager value
<arn>. Please ensure the role can perform the 'secretsmanager:GetSecretValue' action on your broker
in IAM.". AWS publishes none for ``mq:DescribeBroker``: it is worded as SQS's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from lamina.errors import InvalidParameterValue
from lamina.iam.context import context_of, requester_of
from lamina.iam.evaluate import Request, decide
from lamina.iam.policy import Policy
from lamina.iam.service import IamService, role_name_of
from lamina.identity.principals import Principal, PrincipalKind
from lamina.mappings.kafka.options import CLIENT_CERTIFICATE, ROOT_CA, SASL
from lamina.mappings.model import EventSourceMapping, SourceKind
from lamina.streams.records import stream_arn, stream_label

log = logging.getLogger(__name__)

SQS_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
STREAM_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                  "dynamodb:ListStreams")  # fmt: skip
SECRET_ACTIONS = ("secretsmanager:GetSecretValue",)
BROKER_ACTIONS = ("mq:DescribeBroker",)
VPC_ACTIONS = ("ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:DescribeNetworkInterfaces",
               "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs")  # fmt: skip
VPC_ACCESS = ("VPC_SUBNET", "VPC_SECURITY_GROUP")
# An on-failure destination's service -> the action sending to it and the service as AWS's message names it.
_SENDING = {"sqs": ("sqs:SendMessage", "SQS"), "sns": ("sns:Publish", "SNS"),
            "lambda": ("lambda:InvokeFunction", "Lambda")}  # fmt: skip
KAFKA_SECRETS = (*SASL, CLIENT_CERTIFICATE, ROOT_CA)
MQ_SECRETS = ("BASIC_AUTH",)

_CALL = "The provided execution role does not have permissions to call {action} on "
_STREAM = ("Cannot access stream {resource}. Please ensure the role can perform the GetRecords, GetShardIterator, "
           "DescribeStream, and ListStreams Actions on your stream in IAM.")  # fmt: skip
_SECRET = ("Cannot access secret manager value {resource}. Please ensure the role can perform the "
           "'secretsmanager:GetSecretValue' action on your broker in IAM.")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Need:
    """Actions the role must allow on one resource, and AWS's refusal when one is not allowed."""

    actions: tuple[str, ...]
    resource: str
    refusal: str  # formatted with the action (without its service's prefix) and the resource

    def message(self, action: str) -> str:
        return self.refusal.format(action=action.split(":", 1)[1], resource=self.resource)


def _secrets(access: tuple[tuple[str, str], ...], types: tuple[str, ...]) -> list[Need]:
    return [Need(SECRET_ACTIONS, uri, _SECRET) for kind, uri in access if kind in types]


def _vpc() -> Need:
    return Need(VPC_ACTIONS, "*", _CALL + "EC2")


def needs(mapping: EventSourceMapping, region: str, account: str) -> list[Need]:
    """What the execution role of ``mapping``'s function must allow, in the order checked (pure):
    what its source needs, then what its on-failure destination does."""
    return [*_source_needs(mapping, region, account), *_destination_needs(mapping)]


def _destination_needs(mapping: EventSourceMapping) -> list[Need]:
    options = mapping.kafka or mapping.stream
    arn = options.on_failure if options is not None else None
    parts = arn.split(":") if arn else []
    sending = _SENDING.get(parts[2]) if len(parts) > 5 else None
    return [Need((sending[0],), str(arn), _CALL + sending[1])] if sending is not None else []


def _source_needs(mapping: EventSourceMapping, region: str, account: str) -> list[Need]:
    if mapping.stream is not None:
        label = stream_label(mapping.stream.created)
        return [Need(STREAM_ACTIONS, stream_arn(region, account, table, label), _STREAM)
                for table in mapping.stream.tables]  # fmt: skip
    if mapping.kind is SourceKind.SQS:
        return [Need(SQS_ACTIONS, mapping.source_arn, _CALL + "SQS")]
    if mapping.kind is SourceKind.RABBITMQ:
        return [Need(BROKER_ACTIONS, mapping.source_arn, _CALL + "MQ"), *_secrets(mapping.access, MQ_SECRETS), _vpc()]
    if mapping.kind is SourceKind.KAFKA and mapping.kafka is not None:
        access = mapping.kafka.access
        vpc = [_vpc()] if any(kind in VPC_ACCESS for kind, _ in access) else []
        return [*_secrets(access, KAFKA_SECRETS), *vpc]
    return []


def role_principal(role_arn: str) -> Principal:
    """The session of ``role_arn`` a mapping reads its source with, as the evaluator's principal."""
    named = role_name_of(role_arn)
    account, name = named if named is not None else ("", "")
    return Principal(account, f"arn:aws:sts::{account}:assumed-role/{name}/lambda", "", PrincipalKind.ASSUMED_ROLE,
                     role_arn)  # fmt: skip


def not_allowed(principal: Principal, wanted: list[Need], identity: list[Policy], now: datetime,
                policies: Callable[[str], Policy | None] = lambda arn: None) -> tuple[Need, str] | None:  # fmt: skip
    """The first need and action of ``wanted`` the role's policies (``identity``) and the resource's
    own (``policies``: a queue's) do not allow, or None if they allow them all (pure)."""
    for need in wanted:
        parts = need.resource.split(":")
        owner = parts[4] if len(parts) > 4 and parts[4] else principal.account_id
        resource = policies(need.resource)
        for action in need.actions:
            request = Request(requester_of(principal), action, need.resource, owner, context_of(principal, now))
            if not decide(request, identity, resource).allowed:
                return need, action
    return None


class SourceRoles:
    def __init__(self, iam: IamService, development_mode: bool, region: str, account: str,
                 now: Callable[[], datetime] | None = None,
                 policies: Callable[[str], Policy | None] = lambda resource: None) -> None:  # fmt: skip
        """``policies``: a source's resource policy by its ARN (a queue's, in whichever account has it)."""
        self._iam = iam
        self._policies = policies
        self._development = development_mode
        self._region, self._account = region, account
        self._now = now or (lambda: datetime.now(timezone.utc))
        self._said: set[tuple[str, str]] = set()  # development mode: (role, resource) already logged

    def check(self, role_arn: str, mapping: EventSourceMapping) -> None:
        """Refuse (InvalidParameterValueException, AWS's words) a role that may not do what the
        mapping's source needs; in the development mode say so once and allow it."""
        principal = role_principal(role_arn)
        wanted = needs(mapping, self._region, self._account)
        missing = not_allowed(principal, wanted, self._iam.policies_of(principal), self._now(), self._policies)
        if missing is None:
            return
        need, action = missing
        if self._development:
            if (role_arn, need.resource) not in self._said:
                self._said.add((role_arn, need.resource))
                log.warning("the execution role %s does not allow %s on %s; AWS would refuse the event source "
                            "mapping; allowed in the development mode", role_arn, action, need.resource)  # fmt: skip
            return
        raise InvalidParameterValue(need.message(action))
