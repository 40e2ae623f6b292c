"""IAM's entities as values, their stored documents, and the checks IAM makes of their members.

Roles and users belong to an account; their store keys are ``<account>/<name, lower-cased>`` (IAM
names are unique regardless of case). Access keys are stored by id, their secret with them: the
store is Lamina's user's alone (the data directory is 0700, the database 0600).
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping, Sequence

from lamina.iam.errors import InvalidInput, LimitExceeded, QueryValidationError, constraint, missing

ROLE_KIND, USER_KIND, KEY_KIND, POLICY_KIND = "iam/role", "iam/user", "iam/key", "iam/policy"
_NAME = re.compile(r"^[\w+=,.@-]+$")
_PATH = re.compile(r"^(/|/[\x21-\x7e]+/)$")
MAX_TAGS = 50
ID_ALPHABET = string.ascii_uppercase + "234567"
SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


def new_id(prefix: str, length: int = 17) -> str:
    """An IAM id: a prefix saying what it names (AROA role, AIDA user, AKIA key, ASIA temporary key)."""
    return prefix + "".join(secrets.choice(ID_ALPHABET) for _ in range(length))


def new_secret(length: int = 40) -> str:
    return "".join(secrets.choice(SECRET_ALPHABET) for _ in range(length))


def check_name(value: str | None, member: str, max_length: int = 64) -> str:
    if value is None:
        raise missing(member)
    if not 1 <= len(value) <= max_length:
        raise constraint(value, member, f"Member must have length less than or equal to {max_length}"
                         if value else "Member must have length greater than or equal to 1")  # fmt: skip
    if not _NAME.match(value):
        raise constraint(value, member, "Member must satisfy regular expression pattern: [\\w+=,.@-]+")
    return value


def check_path(value: str | None, member: str = "path") -> str:
    if value is None:
        return "/"
    if len(value) > 512 or not _PATH.match(value):
        raise constraint(value, member, "Member must satisfy regular expression pattern: "
                         "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)")  # fmt: skip
    return value


def check_tags(tags: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    if len(tags) > MAX_TAGS:
        raise LimitExceeded(f"Cannot exceed quota for TagsPerRole: {MAX_TAGS}.")
    keys = [k.lower() for k, _ in tags]
    if len(set(keys)) != len(keys):
        raise InvalidInput("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
    for key, value in tags:
        if not 1 <= len(key) <= 128:
            raise constraint(key, "tags.member.key", "Member must have length less than or equal to 128")
        if len(value) > 256:
            raise constraint(value, "tags.member.value", "Member must have length less than or equal to 256")
    return tuple(tags)


def timestamp(value: datetime) -> str:
    return value.isoformat()


def parse_time(value: object) -> datetime:
    return datetime.fromisoformat(str(value))


def _tags(doc: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    raw = doc.get("tags", [])
    return tuple((str(t[0]), str(t[1])) for t in raw) if isinstance(raw, list) else ()


def _strings(doc: Mapping[str, object], key: str) -> tuple[str, ...]:
    raw = doc.get(key, [])
    return tuple(str(v) for v in raw) if isinstance(raw, list) else ()


def _texts(doc: Mapping[str, object], key: str) -> dict[str, str]:
    raw = doc.get(key, {})
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


@dataclass(frozen=True)
class Role:
    account: str
    name: str
    path: str
    role_id: str
    created: datetime
    trust: str  # the AssumeRolePolicyDocument as given
    description: str | None = None
    max_session_seconds: int = 3600
    tags: tuple[tuple[str, str], ...] = ()
    inline: Mapping[str, str] = field(default_factory=dict)  # PutRolePolicy's, by name
    attached: tuple[str, ...] = ()  # managed policies' ARNs

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account}:role{self.path}{self.name}"

    @property
    def key(self) -> str:
        return entity_key(self.account, self.name)

    def doc(self) -> dict[str, object]:
        return {"account": self.account, "name": self.name, "path": self.path, "id": self.role_id,
                "created": timestamp(self.created), "trust": self.trust, "description": self.description,
                "max_session": self.max_session_seconds, "tags": [list(t) for t in self.tags],
                "inline": dict(self.inline), "attached": list(self.attached)}  # fmt: skip

    @classmethod
    def from_doc(cls, doc: Mapping[str, object]) -> Role:
        description = doc.get("description")
        return cls(
            account=str(doc["account"]), name=str(doc["name"]), path=str(doc["path"]), role_id=str(doc["id"]),
            created=parse_time(doc["created"]), trust=str(doc["trust"]),
            description=str(description) if description is not None else None,
            max_session_seconds=int(str(doc.get("max_session", 3600))), tags=_tags(doc),
            inline=_texts(doc, "inline"), attached=_strings(doc, "attached"),
        )  # fmt: skip


@dataclass(frozen=True)
class User:
    account: str
    name: str
    path: str
    user_id: str
    created: datetime
    tags: tuple[tuple[str, str], ...] = ()
    inline: Mapping[str, str] = field(default_factory=dict)
    attached: tuple[str, ...] = ()

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account}:user{self.path}{self.name}"

    @property
    def key(self) -> str:
        return entity_key(self.account, self.name)

    def doc(self) -> dict[str, object]:
        return {"account": self.account, "name": self.name, "path": self.path, "id": self.user_id,
                "created": timestamp(self.created), "tags": [list(t) for t in self.tags],
                "inline": dict(self.inline), "attached": list(self.attached)}  # fmt: skip

    @classmethod
    def from_doc(cls, doc: Mapping[str, object]) -> User:
        return cls(
            account=str(doc["account"]), name=str(doc["name"]), path=str(doc["path"]), user_id=str(doc["id"]),
            created=parse_time(doc["created"]), tags=_tags(doc), inline=_texts(doc, "inline"),
            attached=_strings(doc, "attached"),
        )  # fmt: skip


@dataclass(frozen=True)
class CustomerPolicy:
    """A customer managed policy (CreatePolicy): one version, v1, its document as given."""

    account: str
    name: str
    path: str
    policy_id: str
    created: datetime
    text: str
    description: str | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account}:policy{self.path}{self.name}"

    @property
    def key(self) -> str:
        return entity_key(self.account, self.name)

    def doc(self) -> dict[str, object]:
        return {"account": self.account, "name": self.name, "path": self.path, "id": self.policy_id,
                "created": timestamp(self.created), "document": self.text, "description": self.description}  # fmt: skip

    @classmethod
    def from_doc(cls, doc: Mapping[str, object]) -> CustomerPolicy:
        description = doc.get("description")
        return cls(str(doc["account"]), str(doc["name"]), str(doc["path"]), str(doc["id"]), parse_time(doc["created"]),
                   str(doc["document"]), str(description) if description is not None else None)  # fmt: skip


@dataclass(frozen=True)
class UserKey:
    """An IAM user's long-term access key."""

    access_key_id: str
    secret: str = field(repr=False)
    account: str = ""
    user_name: str = ""
    active: bool = True
    created: datetime | None = None

    def doc(self) -> dict[str, object]:
        return {"id": self.access_key_id, "secret": self.secret, "account": self.account, "user": self.user_name,
                "active": self.active, "created": timestamp(self.created) if self.created else None}  # fmt: skip

    @classmethod
    def from_doc(cls, doc: Mapping[str, object]) -> UserKey:
        created = doc.get("created")
        return cls(str(doc["id"]), str(doc["secret"]), str(doc["account"]), str(doc["user"]),
                   bool(doc.get("active", True)), parse_time(created) if created else None)  # fmt: skip


def entity_key(account: str, name: str) -> str:
    return f"{account}/{name.lower()}"


def max_session(value: str | None) -> int:
    if value is None:
        return 3600
    try:
        seconds = int(value)
    except ValueError:
        raise QueryValidationError(f"Invalid value for MaxSessionDuration: {value}") from None
    if seconds < 3600:
        raise constraint(seconds, "maxSessionDuration", "Member must have value greater than or equal to 3600")
    if seconds > 43200:
        raise constraint(seconds, "maxSessionDuration", "Member must have value less than or equal to 43200")
    return seconds
