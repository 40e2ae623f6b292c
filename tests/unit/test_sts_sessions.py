"""Roles' sessions, functions' credentials and execution roles, on the in-memory store with a fake clock."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta, timezone

import pytest

from lamina.errors import InvalidParameterValue
from lamina.iam.errors import QueryAccessDenied, QueryValidationError
from lamina.iam.roles import LAMBDA_TRUST, ExecutionRoles
from lamina.iam.service import IamService
from lamina.identity.principals import Principal, PrincipalKind
from lamina.settings import Settings
from lamina.store.memory import MemoryStore
from lamina.sts.service import FunctionCredentials, StsService
from lamina.sts.sessions import Sessions

ACCT = "000000000000"
ROOT = Principal(ACCT, f"arn:aws:iam::{ACCT}:root", ACCT, PrincipalKind.ROOT)
TRUST_ACCOUNT = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"}]})  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def test_sessions_survive_a_restart_until_they_expire_and_are_then_pruned() -> None:
    async def scenario() -> None:
        store, clock = MemoryStore(), Clock()
        sessions = Sessions(store, clock)
        session = await sessions.start(ACCT, f"arn:aws:iam::{ACCT}:role/r", "AROAEXAMPLE", "s1", 900)
        assert session.access_key_id.startswith("ASIA") and len(session.access_key_id) == 20
        assert len(session.secret) == 40 and session.token
        assert session.expires_at == clock.now + timedelta(seconds=900)

        again = Sessions(store, clock)
        await again.load()
        found = again.find(session.access_key_id)
        assert found is not None and found.secret_access_key == session.secret
        assert found.session_token == session.token and found.expires_at == session.expires_at
        assert found.principal.arn == f"arn:aws:sts::{ACCT}:assumed-role/r/s1"
        assert found.principal.user_id == "AROAEXAMPLE:s1"
        assert found.principal.role_arn == f"arn:aws:iam::{ACCT}:role/r"

        clock.now += timedelta(seconds=901)
        later = Sessions(store, clock)
        await later.load()
        assert later.find(session.access_key_id) is None
        assert await store.list_resources("sts/session") == []

    asyncio.run(scenario())


def test_assume_role_checks_trust_names_and_durations() -> None:
    async def scenario() -> None:
        store, clock = MemoryStore(), Clock()
        iam, sessions = IamService(store, clock), Sessions(store, clock)
        dev = StsService(iam, sessions, Settings(), clock)
        role = await iam.create_role(ACCT, "worker", TRUST_ACCOUNT, max_session_seconds=7200)
        lam = await iam.create_role(ACCT, "fn", LAMBDA_TRUST)
        session = await dev.assume_role(ROOT, role.arn, "batch", "7200")
        assert session.expires_at == clock.now + timedelta(seconds=7200)
        with pytest.raises(QueryValidationError, match="exceeds the MaxSessionDuration"):
            await dev.assume_role(ROOT, role.arn, "batch", "7201")
        with pytest.raises(QueryValidationError, match="greater than or equal to 900"):
            await dev.assume_role(ROOT, role.arn, "batch", "899")
        with pytest.raises(QueryValidationError, match="roleSessionName"):
            await dev.assume_role(ROOT, role.arn, "x", None)
        with pytest.raises(QueryValidationError, match="roleSessionName"):
            await dev.assume_role(ROOT, role.arn, "bad name", None)
        with pytest.raises(QueryAccessDenied, match=f"is not authorized to perform: sts:AssumeRole on resource: {lam.arn}"):
            await dev.assume_role(ROOT, lam.arn, "batch", None)  # trusts Lambda only
        missing = f"arn:aws:iam::{ACCT}:role/nope"
        with pytest.raises(QueryAccessDenied, match=f"on resource: {missing}"):
            await dev.assume_role(ROOT, missing, "batch", None)
        # Chained from a role's session: its role's policies must allow it, and for an hour at most.
        chained = session.key().principal
        with pytest.raises(QueryAccessDenied, match="assumed-role/worker/batch is not authorized"):
            await dev.assume_role(chained, role.arn, "again", None)
        await iam.put_role_policy(ACCT, "worker", "chain", json.dumps(
            {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}}))
        assert (await dev.assume_role(chained, role.arn, "again", None)).session_name == "again"
        with pytest.raises(QueryValidationError, match="role chaining"):
            await dev.assume_role(chained, role.arn, "again", "3601")
        # Outside the development mode a root may not assume roles, as on AWS.
        strict = StsService(iam, sessions, Settings(access_keys=(session.key(),)), clock)
        with pytest.raises(QueryAccessDenied, match="Roles may not be assumed by root accounts."):
            await strict.assume_role(ROOT, role.arn, "batch", None)

    asyncio.run(scenario())


def test_function_credentials_need_lambda_trusted_outside_the_development_mode(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        store, clock = MemoryStore(), Clock()
        iam, sessions = IamService(store, clock), Sessions(store, clock)
        lam = await iam.create_role(ACCT, "fn", LAMBDA_TRUST)
        other = await iam.create_role(ACCT, "people", TRUST_ACCOUNT)
        strict_settings = Settings(access_keys=((await sessions.start(ACCT, lam.arn, lam.role_id, "x", 900)).key(),))
        strict = FunctionCredentials(iam, sessions, strict_settings, clock)
        key = await strict.assume_role(lam.arn, "my-function", 43200)
        assert key.access_key_id.startswith("ASIA") and key.principal.role_arn == lam.arn
        assert key.expires_at == clock.now + timedelta(seconds=43200)
        with pytest.raises(QueryAccessDenied):
            await strict.assume_role(other.arn, "my-function", 3600)
        lenient = FunctionCredentials(iam, sessions, Settings(), clock)
        with caplog.at_level(logging.WARNING):
            assert (await lenient.assume_role(other.arn, "my-function", 3600)).principal.role_arn == other.arn
            await lenient.assume_role(other.arn, "my-function", 3600)
        said = [r for r in caplog.records if "does not trust lambda.amazonaws.com" in r.getMessage()]
        assert len(said) == 1  # once per role

    asyncio.run(scenario())


def test_execution_roles() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        iam = IamService(store)
        people = await iam.create_role(ACCT, "people", TRUST_ACCOUNT)
        strict = ExecutionRoles(iam, development_mode=False)
        with pytest.raises(InvalidParameterValue, match="The role defined for the function cannot be assumed by Lambda."):
            await strict.check(f"arn:aws:iam::{ACCT}:role/missing")
        with pytest.raises(InvalidParameterValue):
            await strict.check(people.arn)  # does not trust Lambda
        lenient = ExecutionRoles(iam, development_mode=True)
        await lenient.check(f"arn:aws:iam::{ACCT}:role/service-role/made")
        made = iam.role(ACCT, "made")
        assert made.path == "/service-role/" and made.arn == f"arn:aws:iam::{ACCT}:role/service-role/made"
        assert made.attached == ("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",)
        await strict.check(made.arn)  # it trusts Lambda
        await lenient.check(people.arn)  # untrusting, but the development mode lets it be

    asyncio.run(scenario())


def test_concurrent_functions_share_the_role_made_for_them_and_old_functions_get_theirs() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        iam = IamService(store)
        roles = ExecutionRoles(iam, development_mode=True)
        arn = f"arn:aws:iam::{ACCT}:role/shared"
        await asyncio.gather(*(roles.check(arn) for _ in range(5)))  # none is refused for the others' creation
        assert iam.find_role(arn) is not None
        # A function whose role was never made (stored before roles were checked) gets credentials all the same.
        credentials = FunctionCredentials(iam, Sessions(store), Settings())
        key = await credentials.assume_role(f"arn:aws:iam::{ACCT}:role/older", "fn", 900)
        assert key.principal.role_arn == f"arn:aws:iam::{ACCT}:role/older"

    asyncio.run(scenario())
