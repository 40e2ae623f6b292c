"""Authorization's decision for verified callers: IAM's real control plane (on the in-memory store),
the action table's operations, and functions' resource policies as AddPermission builds them."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone

import pytest

from lamina.api.authorization import decide_operation
from lamina.control.policy import build_statement, policy_document
from lamina.iam.actions import lambda_api, s3
from lamina.iam.actions.operation import BucketRef, FunctionRef, Operation, ResourceRef
from lamina.iam.errors import MalformedPolicyDocument, NoSuchEntity
from lamina.iam.evaluate import Decision
from lamina.iam.policy import Policy, PolicyKind, parse
from lamina.iam.roles import LAMBDA_TRUST
from lamina.iam.service import IamService
from lamina.identity.principals import AccessKey, Caller, Principal, PrincipalKind
from lamina.model import FunctionPolicy
from lamina.store.memory import MemoryStore
from lamina.sts.keyring import IssuedKeys
from lamina.sts.sessions import Sessions

A, B, R = "111111111111", "222222222222", "us-east-1"
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
MATRIX = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "lambda:GetFunction", "Resource": f"arn:aws:lambda:{R}:{A}:function:open"},
    {"Effect": "Allow", "Action": "lambda:Get*", "Resource": f"arn:aws:lambda:{R}:{A}:function:team-*"},
    {"Effect": "Deny", "Action": "lambda:*", "Resource": f"arn:aws:lambda:{R}:{A}:function:team-secret"},
    {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*",
     "Condition": {"StringEquals": {"aws:PrincipalAccount": A}, "StringLike": {"lambda:FunctionArn": "*:prod-*"}}},
]}  # fmt: skip


def caller(key: AccessKey | None, principal: Principal | None = None) -> Caller:
    if key is None:
        assert principal is not None
        key = AccessKey("AKIAROOT", "secret", principal)
    return Caller(key, R, "lambda")


def op(method: str, path: str, account: str = A) -> Operation:
    found = lambda_api.operation(method, path, {}, R, account)
    assert found is not None
    return found


def test_a_policy_matrix_for_a_user_and_a_role_session() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        iam = IamService(store)
        await iam.create_user(A, "alice")
        await iam.put_user_policy(A, "alice", "matrix", json.dumps(MATRIX))
        key = await iam.create_access_key(A, "alice")
        found = iam.find(key.access_key_id)
        assert found is not None
        alice = caller(found)

        async def none(ref: FunctionRef) -> Policy | None:
            return None

        async def decided(operation: Operation) -> Decision:
            return (await decide_operation(iam, none, alice, operation, NOW))[0]

        assert await decided(op("GET", "/2015-03-31/functions/open")) is Decision.ALLOW
        assert await decided(op("DELETE", "/2015-03-31/functions/open")) is Decision.IMPLICIT_DENY
        assert await decided(op("GET", "/2015-03-31/functions/other")) is Decision.IMPLICIT_DENY
        assert await decided(op("GET", "/2015-03-31/functions/team-a/configuration")) is Decision.ALLOW  # wildcard
        assert await decided(op("GET", "/2015-03-31/functions/team-secret")) is Decision.IDENTITY_DENY
        assert await decided(op("POST", "/2015-03-31/functions/prod-orders/invocations")) is Decision.ALLOW
        assert await decided(op("POST", "/2015-03-31/functions/dev-orders/invocations")) is Decision.IMPLICIT_DENY
        # The qualified ARN is not the unqualified one a policy names, as on AWS.
        assert await decided(op("GET", "/2015-03-31/functions/open:live")) is Decision.IMPLICIT_DENY

        # An inactive key is no key; a role's session has its role's policies.
        await iam.update_access_key(A, "alice", key.access_key_id, False)
        assert iam.find(key.access_key_id) is None
        role = await iam.create_role(A, "reader", LAMBDA_TRUST)
        await iam.attach_role_policy(A, "reader", "arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess")
        session = await Sessions(store).start(A, role.arn, role.role_id, "s", 900)
        reader = caller(session.key())
        listed = op("GET", "/2015-03-31/functions/")
        assert (await decide_operation(iam, none, reader, listed, NOW))[0] is Decision.ALLOW
        deleting = op("DELETE", "/2015-03-31/functions/open")
        assert (await decide_operation(iam, none, reader, deleting, NOW))[0] is Decision.IMPLICIT_DENY
        await iam.detach_role_policy(A, "reader", "arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess")
        assert (await decide_operation(iam, none, reader, listed, NOW))[0] is Decision.IMPLICIT_DENY

    asyncio.run(scenario())


def test_another_accounts_caller_needs_the_functions_permission() -> None:
    async def scenario() -> None:
        iam = IamService(MemoryStore())
        fn = f"arn:aws:lambda:{R}:{A}:function:shared"
        statement = build_statement({"StatementId": "b", "Action": "lambda:InvokeFunction", "Principal": B}, fn)
        granted = parse(policy_document(FunctionPolicy("shared", "$LATEST", (statement,), "r")), PolicyKind.RESOURCE)
        asked: list[FunctionRef] = []

        async def policy_of(ref: FunctionRef) -> Policy | None:
            asked.append(ref)
            return granted if ref.name == "shared" else None

        b_root = caller(None, Principal(B, f"arn:aws:iam::{B}:root", B, PrincipalKind.ROOT))
        a_root = caller(None, Principal(A, f"arn:aws:iam::{A}:root", A, PrincipalKind.ROOT))
        invoke = op("POST", f"/2015-03-31/functions/{fn}/invocations", B)
        assert (await decide_operation(iam, policy_of, b_root, invoke, NOW)) == (Decision.ALLOW, "")
        assert asked == [FunctionRef("shared", None)]
        other = op("POST", f"/2015-03-31/functions/arn:aws:lambda:{R}:{A}:function:private/invocations", B)
        assert (await decide_operation(iam, policy_of, b_root, other, NOW))[0] is Decision.IMPLICIT_DENY
        get = op("GET", f"/2015-03-31/functions/{fn}", B)
        assert (await decide_operation(iam, policy_of, b_root, get, NOW))[0] is Decision.IMPLICIT_DENY
        # The owner's root needs no policy, and no policy is read for it.
        asked.clear()
        assert (await decide_operation(iam, policy_of, a_root, op("GET", "/2015-03-31/functions/shared"), NOW))[0] \
            is Decision.ALLOW  # fmt: skip
        assert asked == []

    asyncio.run(scenario())


def test_a_bucket_policy_grants_across_accounts_and_denies_within_its_own() -> None:
    async def scenario() -> None:
        iam = IamService(MemoryStore())
        await iam.create_user(A, "admin")
        await iam.put_user_policy(A, "admin", "all", json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))  # fmt: skip
        key = await iam.create_access_key(A, "admin")
        found = iam.find(key.access_key_id)
        assert found is not None
        admin = caller(found)
        a_root = caller(None, Principal(A, f"arn:aws:iam::{A}:root", A, PrincipalKind.ROOT))
        b_root = caller(None, Principal(B, f"arn:aws:iam::{B}:root", B, PrincipalKind.ROOT))
        policy = parse({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": B}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::r/*"},
            {"Effect": "Deny", "Principal": "*", "Action": ["s3:DeleteObject", "s3:*BucketPolicy"],
             "Resource": ["arn:aws:s3:::r", "arn:aws:s3:::r/*"]},
        ]}, PolicyKind.RESOURCE)  # fmt: skip
        asked: list[ResourceRef] = []

        async def policy_of(ref: ResourceRef) -> Policy | None:
            asked.append(ref)
            return policy

        async def decided(who: Caller, name: str, key: str | None = None, owner: str | None = A) -> Decision:
            return (await decide_operation(iam, policy_of, who, s3.operation(name, "r", key, owner), NOW))[0]

        assert await decided(b_root, "GetObject", "k") is Decision.ALLOW
        assert asked == [BucketRef("r", A)]
        assert await decided(b_root, "PutObject", "k") is Decision.IMPLICIT_DENY
        assert await decided(b_root, "GetObject", "k", owner=None) is Decision.ALLOW  # no such bucket: B's own name
        assert await decided(admin, "GetObject", "k") is Decision.ALLOW
        assert await decided(admin, "DeleteObject", "k") is Decision.RESOURCE_DENY
        assert await decided(a_root, "DeleteObject", "k") is Decision.RESOURCE_DENY
        assert await decided(admin, "DeleteBucketPolicy") is Decision.RESOURCE_DENY
        # The owner's root manages the policy whatever it says, and the policy is not read for that.
        asked.clear()
        for name in ("GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"):
            assert await decided(a_root, name) is Decision.ALLOW
        assert asked == []

    asyncio.run(scenario())


def test_giving_a_function_a_role_needs_pass_role() -> None:
    async def scenario() -> None:
        iam = IamService(MemoryStore())
        role = f"arn:aws:iam::{A}:role/worker"

        async def none(ref: FunctionRef) -> Policy | None:
            return None

        async def decisions(user: str) -> list[Decision]:
            found = iam.find((await iam.create_access_key(A, user)).access_key_id)
            assert found is not None
            create = lambda_api.passing_role(op("POST", "/2015-03-31/functions"), role)
            assert [o.action for o in create.all()] == ["lambda:CreateFunction", "iam:PassRole"]
            return [(await decide_operation(iam, none, caller(found), o, NOW))[0] for o in create.all()]

        await iam.create_user(A, "full")
        await iam.attach_user_policy(A, "full", "arn:aws:iam::aws:policy/AWSLambda_FullAccess")
        assert await decisions("full") == [Decision.ALLOW, Decision.ALLOW]  # PassRole to lambda.amazonaws.com
        await iam.create_user(A, "lambda-only")
        await iam.put_user_policy(A, "lambda-only", "p", json.dumps(
            {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "lambda:*", "Resource": "*"}}))
        assert await decisions("lambda-only") == [Decision.ALLOW, Decision.IMPLICIT_DENY]
        assert lambda_api.passing_role(op("GET", "/2015-03-31/functions/x"), None).also == ()

    asyncio.run(scenario())


def test_the_key_ring_of_issued_keys() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        iam, sessions = IamService(store), Sessions(store)
        await iam.create_user(A, "alice")
        key = await iam.create_access_key(A, "alice")
        role = await iam.create_role(A, "r", LAMBDA_TRUST)
        session = await sessions.start(A, role.arn, role.role_id, "s", 900)
        ring = IssuedKeys(iam, sessions)
        user_key = ring.find(key.access_key_id)
        assert user_key is not None and user_key.principal.kind is PrincipalKind.USER
        assert user_key.principal.arn == f"arn:aws:iam::{A}:user/alice" and user_key.session_token is None
        temporary = ring.find(session.access_key_id)
        assert temporary is not None and temporary.session_token == session.token
        assert ring.find("AKIANOSUCHKEY0000000") is None and ring.find("ASIANOSUCHKEY0000000") is None
        await iam.delete_access_key(A, "alice", key.access_key_id)
        assert ring.find(key.access_key_id) is None

    asyncio.run(scenario())


def test_customer_managed_policies_apply_to_those_they_are_attached_to() -> None:
    async def scenario() -> None:
        iam = IamService(MemoryStore())
        policy = await iam.create_policy(A, "get-open", json.dumps(MATRIX))
        assert policy.arn == f"arn:aws:iam::{A}:policy/get-open"
        await iam.create_user(A, "carol")
        found = iam.find((await iam.create_access_key(A, "carol")).access_key_id)
        assert found is not None

        async def none(ref: FunctionRef) -> Policy | None:
            return None

        get_open = op("GET", "/2015-03-31/functions/open")
        assert (await decide_operation(iam, none, caller(found), get_open, NOW))[0] is Decision.IMPLICIT_DENY
        await iam.attach_user_policy(A, "carol", policy.arn)
        assert (await decide_operation(iam, none, caller(found), get_open, NOW))[0] is Decision.ALLOW
        # Another account's policy is not attachable here.
        other = await iam.create_policy(B, "theirs", json.dumps(MATRIX))
        with pytest.raises(NoSuchEntity):
            await iam.attach_user_policy(A, "carol", other.arn)

    asyncio.run(scenario())


def test_a_text_parsed_as_an_identity_policy_is_not_taken_for_a_resource_policy() -> None:
    """Parses are kept by text and kind: a statement without a Principal is an identity policy's,
    and the same text read as a resource policy is malformed, not a policy that allows anyone."""
    iam = IamService(MemoryStore())
    text = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]})
    assert iam.policy(text).statements[0].principals is None
    with pytest.raises(MalformedPolicyDocument):
        iam.policy(text, PolicyKind.RESOURCE)
