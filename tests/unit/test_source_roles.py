"""Which SQS action an execution role's policies do not allow on a queue (iam/source_roles.py), with plain values."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from lamina.iam.policy import Policy, parse
from lamina.iam.source_roles import not_allowed, role_principal

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
QUEUE = "arn:aws:sqs:us-east-1:000000000000:orders"
ROLE = "arn:aws:iam::000000000000:role/service-role/worker"
ALL = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]


def policy(*statements: dict[str, Any]) -> Policy:
    return parse({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.mark.parametrize("policies, missing", [
    ([], "sqs:ReceiveMessage"),
    ([policy({"Effect": "Allow", "Action": ALL, "Resource": QUEUE})], None),
    ([policy({"Effect": "Allow", "Action": "sqs:*", "Resource": "arn:aws:sqs:*:*:ord*"})], None),
    ([policy({"Effect": "Allow", "Action": ALL[:1], "Resource": QUEUE}),
      policy({"Effect": "Allow", "Action": ALL[2:], "Resource": QUEUE})], "sqs:DeleteMessage"),
    ([policy({"Effect": "Allow", "Action": ALL, "Resource": QUEUE + "-other"})], "sqs:ReceiveMessage"),
    ([policy({"Effect": "Allow", "Action": "*", "Resource": "*"},
             {"Effect": "Deny", "Action": "sqs:GetQueueAttributes", "Resource": QUEUE})], "sqs:GetQueueAttributes"),
    ([policy({"Effect": "Allow", "NotAction": "sqs:DeleteMessage", "Resource": "*"})], "sqs:DeleteMessage"),
])  # fmt: skip
def test_the_first_action_not_allowed(policies: list[Policy], missing: str | None) -> None:
    assert not_allowed(role_principal(ROLE), QUEUE, policies, NOW) == missing


def test_the_role_session_is_the_roles() -> None:
    principal = role_principal(ROLE)
    assert (principal.account_id, principal.role_arn) == ("000000000000", ROLE)
    assert principal.arn == "arn:aws:sts::000000000000:assumed-role/worker/lambda"
