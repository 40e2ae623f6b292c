"""Resource-based policies: AddPermission, RemovePermission, GetPolicy.

A function (or each of its versions and aliases) has at most one policy, ``{"Version": "2012-10-17",
"Id": "default", "Statement": [...]}``, whose statements AddPermission builds from its parameters
exactly as Lambda renders them. Every change gives the function (its ``$LATEST``, version or alias)
a new RevisionId, which is the policy's: AddPermission's and RemovePermission's RevisionId is it.
Lamina stores and returns policies; it does not enforce them yet (that comes with request signing).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import uuid
from typing import Mapping

from lamina.control.targets import LATEST, Targets
from lamina.control.validation import constraint
from lamina.errors import (
    InvalidParameterValue,
    PolicyLengthExceeded,
    ResourceConflict,
    ResourceNotFound,
    ValidationError,
    stale_revision,
)
from lamina.model import FunctionPolicy, PolicyStatement
from lamina.store.aggregates import ConfigStore

MAX_POLICY_BYTES = 20480
_STATEMENT_ID = re.compile(r"^[a-zA-Z0-9-_]{1,100}$")
_ACTION = re.compile(r"^(lambda:[*]|lambda:[a-zA-Z]+|[*])$")
_PRINCIPAL = re.compile(r"^[^\s]{1,2048}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_IAM_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:iam::\d{12}:\S+$")
_SERVICE = re.compile(r"^[a-z0-9][a-z0-9.-]*\.(amazonaws\.com|amazonaws\.com\.cn|amazon\.com)$")
_SOURCE_ARN = re.compile(
    r"^arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)$"
)
_ORG_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
_EVENT_SOURCE_TOKEN = re.compile(r"^[a-zA-Z0-9._\-]{0,256}$")


def statement_document(statement: PolicyStatement) -> dict[str, object]:
    """One statement as Lambda renders it (AddPermission's ``Statement``, an element of the policy)."""
    doc: dict[str, object] = {
        "Sid": statement.sid,
        "Effect": "Allow",
        "Principal": statement.principal if isinstance(statement.principal, str) else dict(statement.principal),
        "Action": statement.action,
        "Resource": statement.resource,
    }
    if statement.condition:
        doc["Condition"] = {op: dict(values) for op, values in statement.condition.items()}
    return doc


def policy_document(policy: FunctionPolicy) -> dict[str, object]:
    return {"Version": "2012-10-17", "Id": "default", "Statement": [statement_document(s) for s in policy.statements]}


def _json(doc: object) -> str:
    return json.dumps(doc, separators=(",", ":"))


def _optional(body: Mapping[str, object], key: str, field: str, pattern: re.Pattern[str], rule: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.match(value):
        raise constraint(value, field, f"Member must satisfy regular expression pattern: {rule}")
    return value


def _required(body: Mapping[str, object], key: str, field: str) -> str:
    value = body.get(key)
    if value is None:
        raise ValidationError(
            f"1 validation error detected: Value null at '{field}' failed to satisfy constraint: "
            "Member must not be null"
        )
    if not isinstance(value, str):
        raise InvalidParameterValue(f"{key} must be a string")
    return value


def principal(value: str) -> str | dict[str, str]:
    """How Lambda writes a principal: "*", an account's root, an IAM ARN, or a service."""
    if value == "*":
        return "*"
    if _ACCOUNT.match(value):
        return {"AWS": f"arn:aws:iam::{value}:root"}
    if _IAM_ARN.match(value):
        return {"AWS": value}
    if _SERVICE.match(value):
        return {"Service": value}
    raise InvalidParameterValue("The provided principal was invalid. Please check the principal and try again.")


def build_statement(body: Mapping[str, object], resource: str) -> PolicyStatement:
    """The statement AddPermission's parameters describe, checked against the API model."""
    sid = _required(body, "StatementId", "statementId")
    if not _STATEMENT_ID.match(sid):
        raise constraint(sid, "statementId", "Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)")
    action = _required(body, "Action", "action")
    if not _ACTION.match(action):
        raise constraint(action, "action", "Member must satisfy regular expression pattern: "
                         "(lambda:[*]|lambda:[a-zA-Z]+|[*])")  # fmt: skip
    raw_principal = _required(body, "Principal", "principal")
    if not _PRINCIPAL.match(raw_principal):
        raise constraint(raw_principal, "principal", "Member must satisfy regular expression pattern: [^\\s]+")
    source_arn = _optional(body, "SourceArn", "sourceArn", _SOURCE_ARN, "arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:"
                           "((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)")  # fmt: skip
    source_account = _optional(body, "SourceAccount", "sourceAccount", _ACCOUNT, "\\d{12}")
    org_id = _optional(body, "PrincipalOrgID", "principalOrgID", _ORG_ID, "o-[a-z0-9]{10,32}")
    token = _optional(body, "EventSourceToken", "eventSourceToken", _EVENT_SOURCE_TOKEN, "[a-zA-Z0-9._\\-]+")
    auth_type = body.get("FunctionUrlAuthType")
    if auth_type is not None and auth_type not in ("NONE", "AWS_IAM"):
        raise constraint(auth_type, "functionUrlAuthType", "Member must satisfy enum value set: [NONE, AWS_IAM]")
    via_url = body.get("InvokedViaFunctionUrl")
    if via_url is not None and not isinstance(via_url, bool):
        raise InvalidParameterValue("InvokedViaFunctionUrl must be a boolean")

    equals: dict[str, str] = {}
    if auth_type is not None:
        equals["lambda:FunctionUrlAuthType"] = str(auth_type)
    if org_id is not None:
        equals["aws:PrincipalOrgID"] = org_id
    if source_account is not None:
        equals["AWS:SourceAccount"] = source_account
    if token is not None:
        equals["lambda:EventSourceToken"] = token
    condition: dict[str, dict[str, str]] = {}
    if equals:
        condition["StringEquals"] = equals
    if source_arn is not None:
        condition["ArnLike"] = {"AWS:SourceArn": source_arn}
    if via_url:
        condition["Bool"] = {"lambda:InvokedViaFunctionUrl": "true"}
    return PolicyStatement(sid, principal(raw_principal), action, resource, condition)


class PolicyService:
    def __init__(self, store: ConfigStore, targets: Targets) -> None:
        self._store = store
        self._targets = targets
        self._lock = asyncio.Lock()  # a change reads, edits and writes the whole policy

    async def add(self, name: str, qualifier: str | None, body: Mapping[str, object]) -> PolicyStatement:
        """AddPermission: append a statement to the policy of ``name`` (at ``qualifier``)."""
        statement = build_statement(body, self._targets.arn(name, qualifier))
        if qualifier == LATEST:
            raise InvalidParameterValue("We currently do not support adding policies for $LATEST.")
        target = self._targets.find(name, qualifier)
        if target is None:
            raise ResourceNotFound(f"Function not found: {self._targets.arn(name, qualifier)}")
        revision = body.get("RevisionId")
        if revision is not None and not isinstance(revision, str):
            raise InvalidParameterValue("RevisionId must be a string")
        async with self._lock:
            current = await self._store.get_policy(name, target.qualifier)
            if revision is not None and revision != self._targets.revision(name, target.qualifier):
                raise stale_revision("GetPolicy")
            statements = current.statements if current else ()
            if any(s.sid == statement.sid for s in statements):
                raise ResourceConflict(
                    f"The statement id ({statement.sid}) provided already exists. Please provide a new statement id, "
                    "or remove the existing statement."
                )
            policy = FunctionPolicy(name, target.qualifier, (*statements, statement), str(uuid.uuid4()))
            size = len(_json(policy_document(policy)).encode())
            if size > MAX_POLICY_BYTES:
                raise PolicyLengthExceeded(
                    f"The final policy size ({size}) is bigger than the limit ({MAX_POLICY_BYTES})."
                )
            await self._store.put_policy(policy, expected_revision=current.revision_id if current else None)
            await self._targets.rotate_revision(name, target.qualifier, policy.revision_id)
        return statement

    async def remove(self, name: str, qualifier: str | None, sid: str, revision: str | None) -> None:
        """RemovePermission: take statement ``sid`` out; the policy goes once it has none."""
        target = self._targets.find(name, qualifier)
        if target is None:
            raise ResourceNotFound(f"No policy found for: {self._targets.arn(name, qualifier)}")
        async with self._lock:
            current = await self._store.get_policy(name, target.qualifier)
            if current is None:
                raise ResourceNotFound("No policy is associated with the given resource.")
            if not any(s.sid == sid for s in current.statements):
                raise ResourceNotFound(f"Statement {sid} is not found in resource policy.")
            if revision is not None and revision != self._targets.revision(name, target.qualifier):
                raise stale_revision("GetPolicy")
            remaining = tuple(s for s in current.statements if s.sid != sid)
            policy = FunctionPolicy(name, target.qualifier, remaining, str(uuid.uuid4()))
            await self._store.put_policy(policy, expected_revision=current.revision_id)
            await self._targets.rotate_revision(name, target.qualifier, policy.revision_id)

    async def get(self, name: str, qualifier: str | None) -> FunctionPolicy:
        """GetPolicy: the policy of ``name`` (at ``qualifier``)."""
        target = self._targets.find(name, qualifier)
        if target is None:
            raise ResourceNotFound(f"Function not found: {self._targets.arn(name, qualifier)}")
        policy = await self._store.get_policy(name, target.qualifier)
        if policy is None:
            raise ResourceNotFound("The resource you requested does not exist.")
        # Its RevisionId is the function's (or version's, or alias's), as on Lambda.
        return dataclasses.replace(policy, revision_id=self._targets.revision(name, target.qualifier))

    @staticmethod
    def render_statement(statement: PolicyStatement) -> str:
        return _json(statement_document(statement))

    @staticmethod
    def render_policy(policy: FunctionPolicy) -> str:
        return _json(policy_document(policy))
