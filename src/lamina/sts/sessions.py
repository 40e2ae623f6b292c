"""Roles' sessions: the temporary keys AssumeRole (and functions' credentials) hand out.

Each session is stored (kind ``sts/session``, by its ASIA... key id) before its keys are given, so
they keep working across a restart until they expire; expired sessions are removed at start and
whenever a new one is stored. ``find`` is the key ring of temporary keys; it returns expired keys
too (whoever verifies a signature checks ``expires_at``) until they are pruned.
"""

from __future__ import annotations

import base64
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Mapping

from lamina.iam.model import new_id, new_secret, parse_time, timestamp
from lamina.identity.principals import AccessKey, Principal, PrincipalKind
from lamina.store.base import Resource
from lamina.store.aggregates import ResourceStore

log = logging.getLogger(__name__)

SESSION_KIND = "sts/session"


@dataclass(frozen=True)
class Session:
    access_key_id: str
    secret: str = field(repr=False)
    token: str = field(repr=False)
    account: str = ""
    role_arn: str = ""
    role_id: str = ""
    session_name: str = ""
    expires_at: datetime = datetime.min.replace(tzinfo=timezone.utc)

    @property
    def arn(self) -> str:
        role_name = self.role_arn.rsplit("/", 1)[-1]
        return f"arn:aws:sts::{self.account}:assumed-role/{role_name}/{self.session_name}"

    @property
    def assumed_role_id(self) -> str:
        return f"{self.role_id}:{self.session_name}"

    def principal(self) -> Principal:
        return Principal(self.account, self.arn, self.assumed_role_id, PrincipalKind.ASSUMED_ROLE, self.role_arn)

    def key(self) -> AccessKey:
        return AccessKey(self.access_key_id, self.secret, self.principal(), self.token, self.expires_at)

    def doc(self) -> dict[str, object]:
        return {"id": self.access_key_id, "secret": self.secret, "token": self.token, "account": self.account,
                "role_arn": self.role_arn, "role_id": self.role_id, "session": self.session_name,
                "expires": timestamp(self.expires_at)}  # fmt: skip

    @classmethod
    def from_doc(cls, doc: Mapping[str, object]) -> Session:
        return cls(str(doc["id"]), str(doc["secret"]), str(doc["token"]), str(doc["account"]), str(doc["role_arn"]),
                   str(doc["role_id"]), str(doc["session"]), parse_time(doc["expires"]))  # fmt: skip


def new_token() -> str:
    """A session token: opaque, long, base64 as AWS's are."""
    return base64.b64encode(secrets.token_bytes(120)).decode()


class Sessions:
    def __init__(self, store: ResourceStore, now: Callable[[], datetime] | None = None) -> None:
        self._store = store
        self._now = now or (lambda: datetime.now(timezone.utc))
        self._sessions: dict[str, Session] = {}

    async def load(self) -> None:
        await self.reread()
        await self._prune(())

    async def reread(self) -> None:
        """Read the sessions again: another server started one. (A session is only ever removed
        once expired, which each server finds by itself.)"""
        for resource in await self._store.list_resources(SESSION_KIND):
            try:
                session = Session.from_doc(resource.doc)
            except (ValueError, KeyError, TypeError) as exc:
                log.error("STS session %s is dropped: %s", resource.key, exc)
                continue
            self._sessions[session.access_key_id] = session

    def follow(self, session: Resource | None, key: str) -> None:
        """Another server started (``session``) or removed (None) the session of ``key``."""
        if session is None:
            self._sessions.pop(key, None)
            return
        try:
            self._sessions[key] = Session.from_doc(session.doc)
        except (ValueError, KeyError, TypeError) as exc:
            log.error("STS session %s is dropped: %s", key, exc)

    async def start(self, account: str, role_arn: str, role_id: str, session_name: str, seconds: int) -> Session:
        """A new session of the role, stored (with the expired ones removed) before it is returned."""
        session = Session(new_id("ASIA", 16), new_secret(), new_token(), account, role_arn, role_id, session_name,
                          self._now().replace(microsecond=0) + timedelta(seconds=seconds))  # fmt: skip
        await self._prune([Resource(SESSION_KIND, session.access_key_id, session.doc())])
        self._sessions[session.access_key_id] = session
        return session

    async def _prune(self, puts: list[Resource] | tuple[()]) -> None:
        now = self._now()
        expired = [key for key, s in self._sessions.items() if s.expires_at <= now]
        if puts or expired:
            await self._store.change_resources(puts, deletes=[(SESSION_KIND, key) for key in expired])
        for key in expired:
            del self._sessions[key]

    def find(self, access_key_id: str) -> AccessKey | None:
        session = self._sessions.get(access_key_id)
        return session.key() if session is not None else None
