"""A queue's policy as SQS evaluates it: which account a request names, which actions cross
accounts, service principals' sends, and authorization's decision with the queue's policy (IAM's
real control plane on the in-memory store)."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timezone

import pytest

from lamina.api.authorization import decide_operation
from lamina.iam.actions import json as json_actions
from lamina.iam.actions.operation import Operation, QueueRef, ResourceRef
from lamina.iam.evaluate import Decision
from lamina.iam.policy import Policy, PolicyKind, parse
from lamina.iam.service import IamService
from lamina.identity.principals import AccessKey, Caller, Principal, PrincipalKind
from lamina.queues import access, permissions
from lamina.queues.queue import Queue
from lamina.store.memory import MemoryStore

A, B, R = "111111111111", "222222222222", "us-east-1"
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
QUEUE = f"arn:aws:sqs:{R}:{A}:orders"
RULE = f"arn:aws:events:{R}:{A}:rule/orders"


def queue(policy: object | None) -> Queue:
    attributes = {} if policy is None else {"Policy": policy if isinstance(policy, str) else json.dumps(policy)}
    return Queue.from_doc({"name": "orders", "attributes": attributes}, QUEUE)


def test_the_account_a_request_names() -> None:
    url = f"http://localhost:9000/{A}/orders"
    assert access.owner_named("SendMessage", {"QueueUrl": url}, None) == A
    assert access.owner_named("SendMessage", {"QueueUrl": "orders"}, None) is None  # a bare name: the caller's
    assert access.owner_named("GetQueueUrl", {"QueueName": "orders", "QueueOwnerAWSAccountId": B}, None) == B
    assert access.owner_named("CreateQueue", {"QueueName": "orders", "QueueOwnerAWSAccountId": B}, None) is None
    assert access.owner_named("SendMessage", {}, A) == A  # sent to the queue's own URL
    assert access.owner_named("ListQueues", {}, None) is None
    assert access.queue_named({"QueueUrl": url}, None) == "orders"
    assert access.queue_named({"QueueName": "other"}, None) == "other"
    assert access.queue_named({}, "path-name") == "path-name"


def test_only_what_addpermission_grants_crosses_accounts() -> None:
    for operation in ("SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
                      "ChangeMessageVisibility", "ChangeMessageVisibilityBatch", "GetQueueAttributes", "GetQueueUrl",
                      "ListDeadLetterSourceQueues", "PurgeQueue", "ListQueueTags"):  # fmt: skip
        assert access.crosses(operation), operation
    for operation in ("CreateQueue", "DeleteQueue", "SetQueueAttributes", "AddPermission", "RemovePermission",
                      "TagQueue", "UntagQueue", "ListQueues", "StartMessageMoveTask"):  # fmt: skip
        assert not access.crosses(operation), operation


def service_statement(service: str, condition: dict[str, object] | None = None,
                      effect: str = "Allow") -> dict[str, object]:  # fmt: skip
    statement: dict[str, object] = {"Effect": effect, "Principal": {"Service": service}, "Action": "sqs:SendMessage",
                                    "Resource": QUEUE}  # fmt: skip
    if condition is not None:
        statement["Condition"] = condition
    return statement


def doc(*statements: dict[str, object]) -> Policy:
    return parse(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}), PolicyKind.RESOURCE)


def test_a_service_sends_only_where_the_queue_policy_names_it_and_its_source() -> None:
    def allowed(policy: Policy | None, service: str = "events.amazonaws.com", source: str = RULE) -> bool:
        return access.service_allowed(policy, QUEUE, service, source, A, NOW)

    assert not allowed(None)
    assert allowed(doc(service_statement("events.amazonaws.com")))
    assert not allowed(doc(service_statement("events.amazonaws.com")), service="s3.amazonaws.com")
    by_rule = doc(service_statement("events.amazonaws.com", {"ArnEquals": {"aws:SourceArn": RULE}}))
    assert allowed(by_rule)
    assert not allowed(by_rule, source=f"arn:aws:events:{R}:{A}:rule/other")
    by_account = doc(service_statement("s3.amazonaws.com", {"StringEquals": {"aws:SourceAccount": A}}))
    assert allowed(by_account, "s3.amazonaws.com", "arn:aws:s3:::bucket")
    assert not access.service_allowed(by_account, QUEUE, "s3.amazonaws.com", "arn:aws:s3:::bucket", B, NOW)
    denied = doc(service_statement("events.amazonaws.com"), service_statement("events.amazonaws.com", effect="Deny"))
    assert not allowed(denied)
    # An account named in the policy is no service principal.
    assert not allowed(doc({"Effect": "Allow", "Principal": {"AWS": A}, "Action": "sqs:*", "Resource": QUEUE}))
    # Everyone ("*") includes the services.
    assert allowed(doc({"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": QUEUE}))


def test_service_senders_refuse_outside_the_development_mode_and_log_once_in_it(
        caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    strict, lenient = access.ServiceSenders(False, lambda: NOW), access.ServiceSenders(True, lambda: NOW)
    bare = queue(None)
    assert not strict.allowed(bare, "events.amazonaws.com", RULE, A)
    with caplog.at_level(logging.WARNING, logger="lamina.queues.access"):
        assert lenient.allowed(bare, "events.amazonaws.com", RULE, A)
        assert lenient.allowed(bare, "events.amazonaws.com", RULE, A)
    assert len([r for r in caplog.records if "development mode" in r.getMessage()]) == 1
    granted = queue({"Version": "2012-10-17", "Statement": [service_statement("events.amazonaws.com")]})
    assert strict.allowed(granted, "events.amazonaws.com", RULE, A)
    # The queue's current policy counts, not the one read before.
    assert not strict.allowed(bare, "events.amazonaws.com", RULE, A)
    assert strict.allowed(granted, "events.amazonaws.com", RULE, A)
    # A policy IAM cannot read allows nothing: nor does one without principals (an identity policy's).
    assert not strict.allowed(queue("{not json"), "events.amazonaws.com", RULE, A)
    no_principal = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}
    assert access.policy_of(queue(no_principal)) is None
    assert not strict.allowed(queue(no_principal), "events.amazonaws.com", RULE, A)


def test_policies_are_parsed_once_per_text() -> None:
    policies = access.Policies()
    granted = queue({"Version": "2012-10-17", "Statement": [service_statement("events.amazonaws.com")]})
    first = policies.of(granted)
    assert first is not None and policies.of(granted) is first
    assert policies.of(queue(None)) is None  # the same queue, its policy removed
    again = policies.of(granted)
    assert again is not None and again is not first


def caller(principal: Principal, key: AccessKey | None = None) -> Caller:
    return Caller(key or AccessKey("AKIAKEY", "secret", principal), R, "sqs")


def sqs(operation: str, account: str, **members: object) -> Operation:
    found = json_actions.operation(f"AmazonSQS.{operation}", members, R, account)
    assert found is not None
    return found


def test_the_queue_policy_decides_with_the_callers_policies() -> None:
    async def scenario() -> None:
        iam = IamService(MemoryStore())
        url = f"http://localhost/{A}/orders"
        addpermission = permissions.add(None, QUEUE, "b", [B], ["SendMessage"])
        policies: dict[str, Policy | None] = {"policy": None}
        asked: list[ResourceRef] = []

        async def policy_of(ref: ResourceRef) -> Policy | None:
            asked.append(ref)
            return policies["policy"]

        async def decision(who: Caller, operation: Operation) -> Decision:
            return (await decide_operation(iam, policy_of, who, operation, NOW))[0]

        b_root = caller(Principal(B, f"arn:aws:iam::{B}:root", B, PrincipalKind.ROOT))
        a_root = caller(Principal(A, f"arn:aws:iam::{A}:root", A, PrincipalKind.ROOT))
        await iam.create_user(B, "bob")
        bob_key = await iam.create_access_key(B, "bob")
        bob_found = iam.find(bob_key.access_key_id)
        assert bob_found is not None
        bob = caller(bob_found.principal, bob_found)
        await iam.create_user(A, "alice")
        alice_key = await iam.create_access_key(A, "alice")
        alice_found = iam.find(alice_key.access_key_id)
        assert alice_found is not None
        alice = caller(alice_found.principal, alice_found)

        send = sqs("SendMessage", B, QueueUrl=url)
        assert send.queue == QueueRef(QUEUE) and send.resources == (QUEUE,)
        assert await decision(b_root, send) is Decision.IMPLICIT_DENY  # no policy
        policies["policy"] = parse(addpermission, PolicyKind.RESOURCE)
        assert await decision(b_root, send) is Decision.ALLOW
        assert await decision(b_root, sqs("ReceiveMessage", B, QueueUrl=url)) is Decision.IMPLICIT_DENY
        # The policy names B's account: B's user needs its own policies to allow it too.
        assert await decision(bob, send) is Decision.IMPLICIT_DENY
        await iam.put_user_policy(B, "bob", "send", json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": QUEUE}]}))  # fmt: skip
        assert await decision(bob, send) is Decision.ALLOW
        # Within A, the queue policy naming alice suffices; a deny in it wins over her own allow.
        own = sqs("SendMessage", A, QueueUrl=url)
        assert await decision(alice, own) is Decision.IMPLICIT_DENY
        policies["policy"] = doc({"Effect": "Allow", "Principal": {"AWS": alice_found.principal.arn},
                                  "Action": "sqs:SendMessage", "Resource": QUEUE})  # fmt: skip
        assert await decision(alice, own) is Decision.ALLOW
        await iam.put_user_policy(A, "alice", "all", json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}))  # fmt: skip
        policies["policy"] = doc({"Effect": "Deny", "Principal": {"AWS": alice_found.principal.arn},
                                  "Action": "sqs:SendMessage", "Resource": QUEUE})  # fmt: skip
        assert await decision(alice, own) is Decision.RESOURCE_DENY
        # The root of the queue's account is allowed without its policy being read.
        asked.clear()
        assert await decision(a_root, own) is Decision.ALLOW
        assert asked == []
        # CreateQueue names no queue whose policy counts.
        assert sqs("CreateQueue", A, QueueName="orders").queue is None

    asyncio.run(scenario())
