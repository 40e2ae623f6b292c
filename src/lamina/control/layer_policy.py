"""Layer version permissions (AddLayerVersionPermission, GetLayerVersionPolicy,
RemoveLayerVersionPermission): who of other accounts may use a layer version.

A statement allows ``lambda:GetLayerVersion`` to one account (``Principal`` ``{"AWS":
"arn:aws:iam::<account>:root"}``) or to everyone (``"*"``), maybe only within an organization
(``Condition`` ``StringEquals aws:PrincipalOrgID``). Lamina has no organizations: a statement
with one allows nobody. A version's statements are kept in the store's resources (kind
``lambda/layer-policy``, key ``<layer>:<version>``), with a RevisionId that changes with each
change, and go with the version when it is deleted.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import Mapping

from lamina.control.validation import constraint
from lamina.errors import PolicyLengthExceeded, ResourceConflict, ResourceNotFound, stale_revision
from lamina.store.base import Resource
from lamina.store.aggregates import ResourceStore

KIND = "lambda/layer-policy"
ACTION = "lambda:GetLayerVersion"
MAX_POLICY_BYTES = 20 * 1024
_SID = re.compile(r"^[a-zA-Z0-9-_]{1,100}$")
_PRINCIPAL = re.compile(r"^(\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root)$")
_ORGANIZATION = re.compile(r"^o-[a-z0-9]{10,32}$")
Statement = Mapping[str, object]


def statement(body: Mapping[str, object], sid: object, resource: str) -> dict[str, object]:
    """The statement AddLayerVersionPermission's body makes, for the layer version ``resource`` (pure)."""
    if not isinstance(sid, str) or not _SID.match(sid):
        raise constraint(sid, "statementId", "Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)")
    action = body.get("Action")
    if action != ACTION:
        raise constraint(action, "action", "Member must satisfy regular expression pattern: lambda:GetLayerVersion")
    principal = body.get("Principal")
    if not isinstance(principal, str) or len(principal) > 10000 or not _PRINCIPAL.match(principal):
        raise constraint(principal, "principal", "Member must satisfy regular expression pattern: "
                         "\\d{12}|\\*|arn:(aws[a-zA-Z-]*):iam::\\d{12}:root")  # fmt: skip
    made: dict[str, object] = {
        "Sid": sid, "Effect": "Allow",
        "Principal": "*" if principal == "*" else {"AWS": principal if principal.startswith("arn:")
                                                   else f"arn:aws:iam::{principal}:root"},
        "Action": ACTION, "Resource": resource,
    }  # fmt: skip
    organization = body.get("OrganizationId")
    if organization is not None:
        if not isinstance(organization, str) or not _ORGANIZATION.match(organization):
            raise constraint(organization, "organizationId", "Member must satisfy regular expression pattern: "
                             "o-[a-z0-9]{10,32}")  # fmt: skip
        made["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": organization}}
    return made


def allows(statements: list[Statement], account_id: str) -> bool:
    """Whether ``statements`` allow ``account_id`` to get (and use) the layer version (pure).
    A statement with a condition (an organization) allows nobody here: Lamina has no organizations."""
    for stmt in statements:
        if stmt.get("Condition") or stmt.get("Action") != ACTION or stmt.get("Effect") != "Allow":
            continue
        principal = stmt.get("Principal")
        if principal == "*" or (isinstance(principal, Mapping) and principal.get("AWS") == f"arn:aws:iam::{account_id}:root"):
            return True
    return False


def document(statements: list[Statement]) -> str:
    return json.dumps({"Version": "2012-10-17", "Id": "default", "Statement": statements}, separators=(",", ":"))


class LayerPolicies:
    """The statements of one cell's layer versions, read from and written to the store."""

    def __init__(self, store: ResourceStore) -> None:
        self._store = store
        self._policies: dict[str, tuple[list[Statement], str]] = {}  # "<layer>:<version>" -> (statements, revision)
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        policies: dict[str, tuple[list[Statement], str]] = {}
        for res in await self._store.list_resources(KIND):
            statements = res.doc["Statements"]
            assert isinstance(statements, list)
            policies[res.key] = (statements, str(res.doc["RevisionId"]))
        self._policies = policies

    async def reread(self) -> None:
        """Read every layer version's statements again (another server changed one)."""
        async with self._lock:  # after this server's writes, which change the store then memory
            await self.load()

    def statements(self, name: str, version: int) -> list[Statement]:
        return list(self._policies.get(f"{name}:{version}", ([], ""))[0])

    def get(self, name: str, version: int) -> tuple[str, str]:
        """(the policy document, its RevisionId); ``ResourceNotFound`` if the version has none."""
        found = self._policies.get(f"{name}:{version}")
        if not found or not found[0]:
            raise ResourceNotFound("No policy is associated with the given resource.")
        return document(found[0]), found[1]

    async def add(self, name: str, version: int, made: dict[str, object], revision: str | None) -> str:
        """Add ``made`` (``statement``'s); the new RevisionId."""
        key = f"{name}:{version}"
        async with self._lock:
            statements, current = self._policies.get(key, ([], ""))
            self._check_revision(revision, current)
            if any(stmt.get("Sid") == made["Sid"] for stmt in statements):
                raise ResourceConflict(f"The statement id ({made['Sid']}) provided already exists. Please provide "
                                       "a new statement id, or remove the existing statement.")  # fmt: skip
            changed = [*statements, made]
            if len(document(changed).encode()) > MAX_POLICY_BYTES:
                raise PolicyLengthExceeded("The final policy size is bigger than the limit.")
            return await self._write(key, changed)

    async def remove(self, name: str, version: int, sid: str, revision: str | None) -> None:
        key = f"{name}:{version}"
        async with self._lock:
            statements, current = self._policies.get(key, ([], ""))
            self._check_revision(revision, current)
            if not any(stmt.get("Sid") == sid for stmt in statements):
                raise ResourceNotFound(f"Statement {sid} is not found in resource policy.")
            await self._write(key, [stmt for stmt in statements if stmt.get("Sid") != sid])

    async def forget(self, name: str, version: int) -> None:
        """A deleted version's policy goes with it."""
        key = f"{name}:{version}"
        async with self._lock:
            if self._policies.pop(key, None) is not None:
                await self._store.change_resources(deletes=[(KIND, key)])

    @staticmethod
    def _check_revision(revision: str | None, current: str) -> None:
        if revision is not None and revision != current:
            raise stale_revision("GetLayerVersionPolicy")

    async def _write(self, key: str, statements: list[Statement]) -> str:
        revision = str(uuid.uuid4())
        if statements:
            await self._store.change_resources(puts=[Resource(KIND, key, {"Statements": statements, "RevisionId": revision})])
            self._policies[key] = (statements, revision)
        else:
            await self._store.change_resources(deletes=[(KIND, key)])
            self._policies.pop(key, None)
        return revision
