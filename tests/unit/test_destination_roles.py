"""What sending a dead letter or destination record takes of a function's execution role, decided
with plain values (iam/destinations.py), and which cell's queues an ARN reaches (cells/crossings.py),
malformed ARNs included."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from lamina.cells.crossings import Crossings
from lamina.iam.destinations import Delivery, delivery_of, dead_letter_refusal, destination_refusal, role_may
from lamina.iam.policy import Policy, PolicyKind, parse
from lamina.iam.source_roles import role_principal

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
A, B = "111111111111", "222222222222"
ROLE = f"arn:aws:iam::{A}:role/orders-fn"
MINE, THEIRS = f"arn:aws:sqs:us-east-1:{A}:dlq", f"arn:aws:sqs:us-east-1:{B}:dlq"
SEND = Delivery("sqs:SendMessage", "SQS")


def identity(*statements: dict[str, Any]) -> Policy:
    return parse({"Version": "2012-10-17", "Statement": list(statements)})


def resource(*statements: dict[str, Any]) -> Policy:
    return parse({"Version": "2012-10-17", "Statement": list(statements)}, PolicyKind.RESOURCE)


@pytest.mark.parametrize("arn, expected", [
    (MINE, ("sqs:SendMessage", "SQS")),
    (f"arn:aws:sns:us-east-1:{A}:alarms", ("sns:Publish", "SNS")),
    (f"arn:aws:lambda:us-east-1:{A}:function:f:live", ("lambda:InvokeFunction", "Lambda")),
    (f"arn:aws:events:us-east-1:{A}:event-bus/default", ("events:PutEvents", "EventBridge")),
    ("arn:aws:s3:::bucket", None),  # a service Lamina does not check
    ("arn:aws:sqs", None), ("", None), ("sqs:SendMessage", None), ("not-an-arn:aws:sqs:us-east-1:1:q", None),
    (":::::::", None),
    # The service alone decides (the ARN's shape is validated before: control/validation.py).
    ("arn:aws:sqs:::", ("sqs:SendMessage", "SQS")), ("arn:aws:" + "sqs:" * 5000, ("sqs:SendMessage", "SQS")),
])  # fmt: skip
def test_what_a_target_takes(arn: str, expected: tuple[str, str] | None) -> None:
    found = delivery_of(arn)
    assert ((found.action, found.service) if found is not None else None) == expected


def test_aws_messages() -> None:
    assert dead_letter_refusal(SEND) == (
        "The provided execution role does not have permissions to call SendMessage on SQS")  # fmt: skip
    assert destination_refusal(Delivery("events:PutEvents", "EventBridge"), "arn:bus") == (
        "The function execution role does not have permissions to call PutEvents on arn:bus")  # fmt: skip


ALLOW_MINE = {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": MINE}
ALLOW_THEIRS = {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": THEIRS}


@pytest.mark.parametrize("target, policies, queue_policy, allowed", [
    (MINE, [], None, False),
    (MINE, [identity(ALLOW_MINE)], None, True),
    (MINE, [identity({**ALLOW_MINE, "Resource": MINE + "-other"})], None, False),
    (MINE, [], resource({**ALLOW_MINE, "Principal": {"AWS": ROLE}}), True),  # one account: the queue's suffices
    (MINE, [], resource({**ALLOW_MINE, "Principal": {"AWS": A}}), False),  # naming the account delegates to IAM
    (MINE, [identity({"Effect": "Allow", "Action": "sqs:*", "Resource": "*"})],
     resource({"Effect": "Deny", "Principal": "*", "Action": "sqs:SendMessage", "Resource": MINE}), False),
    (THEIRS, [identity(ALLOW_THEIRS)], None, False),  # across accounts: the queue's policy too
    (THEIRS, [], resource({**ALLOW_THEIRS, "Principal": {"AWS": ROLE}}), False),  # ... and the role's own
    (THEIRS, [identity(ALLOW_THEIRS)], resource({**ALLOW_THEIRS, "Principal": {"AWS": A}}), True),
    (THEIRS, [identity(ALLOW_THEIRS)], resource({**ALLOW_THEIRS, "Principal": {"AWS": ROLE}}), True),
    (THEIRS, [identity(ALLOW_THEIRS)], resource({**ALLOW_THEIRS, "Principal": {"AWS": B}}), False),
    (THEIRS, [identity(ALLOW_THEIRS)],
     resource({**ALLOW_THEIRS, "Principal": {"AWS": A}, "Condition": {"StringEquals": {
         "aws:PrincipalArn": ROLE + "-other"}}}), False),  # fmt: skip
])  # fmt: skip
def test_the_role_and_the_queue_decide(target: str, policies: list[Policy], queue_policy: Policy | None,
                                       allowed: bool) -> None:  # fmt: skip
    assert role_may(role_principal(ROLE), SEND, target, policies, queue_policy, NOW) is allowed


def test_a_topic_of_another_account_is_decided_by_the_role_alone() -> None:
    topic = f"arn:aws:sns:us-east-1:{B}:alarms"
    publish = Delivery("sns:Publish", "SNS")
    allow = identity({"Effect": "Allow", "Action": "sns:Publish", "Resource": topic})
    assert role_may(role_principal(ROLE), publish, topic, [allow], None, NOW)
    assert not role_may(role_principal(ROLE), publish, topic, [], None, NOW)


class FakeQueues:
    def __init__(self, name: str) -> None:
        self.name = name

    def policy(self, arn: str) -> Policy | None:
        return None


def test_crossings_reach_only_started_cells_of_the_region() -> None:
    home, other = FakeQueues("home"), FakeQueues("other")
    crossings = Crossings(A, "us-east-1")
    crossings.home_queues(home)  # type: ignore[arg-type]
    assert crossings.queues_of(MINE) is home
    assert crossings.queues_of(THEIRS) is None  # no registry yet

    class Svc:
        queues = other

    asked: list[tuple[str, str]] = []

    def lookup(account: str, region: str) -> Any:
        asked.append((account, region))
        return Svc() if (account, region) == (B, "us-east-1") else None

    crossings.reach_with(lookup)
    assert crossings.queues_of(THEIRS) is other
    for arn in (f"arn:aws:sqs:eu-west-1:{B}:dlq",  # another region: never reached
                "arn:aws:sqs:us-east-1:333333333333:dlq",  # no such cell
                "arn:aws:sqs:us-east-1:../../etc:dlq", "arn:aws:sqs:us-east-1::dlq", "arn:aws:sqs", "", MINE + ":x"):
        assert crossings.queues_of(arn) in (None, home), arn
    assert crossings.other(A, "us-east-1") is None  # its own cell is not another
    assert all(region == "us-east-1" and account != A for account, region in asked)
