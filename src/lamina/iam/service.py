"""IAM's control plane: roles, users, their policies and users' access keys, per account.

Kept in memory, written through the store's resources (kinds ``iam/role``, ``iam/user``,
``iam/key``), loaded at start. Each change is stored before it is answered and before memory
changes. It is also the key ring of users' keys (``find``) and says which identity policies apply to
a principal (``policies_of``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from datetime import datetime, timezone
from typing import AsyncIterator, Callable, Sequence

from lamina.errors import ApiError
from lamina.iam import managed
from lamina.iam.errors import DeleteConflict, EntityAlreadyExists, InvalidInput, LimitExceeded, NoSuchEntity, missing
from lamina.iam.model import (
    KEY_KIND,
    POLICY_KIND,
    ROLE_KIND,
    USER_KIND,
    CustomerPolicy,
    Role,
    User,
    UserKey,
    check_name,
    check_path,
    check_tags,
    entity_key,
    new_id,
    new_secret,
)
from lamina.iam.policy import MAX_IDENTITY_POLICY_BYTES, MAX_TRUST_POLICY_BYTES, Policy, PolicyKind, parse
from lamina.identity.principals import AccessKey, Principal, PrincipalKind
from lamina.store.base import Resource
from lamina.store.aggregates import ResourceStore

log = logging.getLogger(__name__)

MAX_KEYS_PER_USER = 2
MAX_MANAGED_PER_ENTITY = 20
MAX_MANAGED_POLICY_BYTES = 6144  # a managed policy's document, without whitespace (IAM's quota)


def role_name_of(arn: str) -> tuple[str, str] | None:
    """(account, name) of a role's ARN ``arn:aws:iam::<account>:role/<path><name>``; None if it is not one."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
        return None
    return parts[4], parts[5].rsplit("/", 1)[-1]


def _checked(document: str | None, member: str, kind: PolicyKind, limit: int) -> Policy:
    if document is None:
        raise missing(member)
    if len(document.encode()) > limit:
        raise LimitExceeded(f"Cannot exceed quota for PolicySize: {limit}")
    return parse(document, kind)


class IamService:
    def __init__(self, store: ResourceStore, now: Callable[[], datetime] | None = None) -> None:
        self._store = store
        self._now = now or (lambda: datetime.now(timezone.utc))
        self._roles: dict[str, Role] = {}
        self._users: dict[str, User] = {}
        self._keys: dict[str, UserKey] = {}
        self._policies: dict[str, CustomerPolicy] = {}  # customer managed policies, by account/name
        self._parsed: dict[tuple[str, PolicyKind], Policy] = {}  # (a policy document's text, its kind) -> its parse
        self._lock = asyncio.Lock()
        self._changed: list[Callable[[], None]] = []

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every write (dataplane/permits.py: what may change a decision)."""
        self._changed.append(listener)

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[None]:
        """Hold the lock every write holds; listeners are told once it is released."""
        try:
            async with self._lock:
                yield
        finally:
            for listener in self._changed:
                listener()

    KINDS = (ROLE_KIND, USER_KIND, KEY_KIND, POLICY_KIND)

    async def load(self) -> None:
        for kind in self.KINDS:
            self._load_all(kind, await self._store.list_resources(kind))

    async def reread(self, kind: str) -> None:
        """Read the roles, users, access keys or policies (``kind``) again: another server changed
        one. Listeners are told, as after a write."""
        if kind not in self.KINDS:
            return
        async with self._writing():  # after this server's writes, which change the store then memory
            resources = await self._store.list_resources(kind)
            {ROLE_KIND: self._roles.clear, USER_KIND: self._users.clear, KEY_KIND: self._keys.clear,
             POLICY_KIND: self._policies.clear}[kind]()  # fmt: skip
            self._load_all(kind, resources)

    def _load_all(self, kind: str, resources: Sequence[Resource]) -> None:
        load = {ROLE_KIND: self._load_role, USER_KIND: self._load_user, KEY_KIND: self._load_key,
                POLICY_KIND: self._load_policy}[kind]  # fmt: skip
        for resource in resources:
            try:
                load(resource)
            except (ApiError, ValueError, KeyError, TypeError) as exc:
                log.error("IAM %s %s is kept but not loaded: %s", kind, resource.key, exc)

    def _load_role(self, resource: Resource) -> None:
        role = Role.from_doc(resource.doc)
        self._roles[role.key] = role

    def _load_user(self, resource: Resource) -> None:
        user = User.from_doc(resource.doc)
        self._users[user.key] = user

    def _load_policy(self, resource: Resource) -> None:
        policy = CustomerPolicy.from_doc(resource.doc)
        self._policies[policy.key] = policy

    def _load_key(self, resource: Resource) -> None:
        key = UserKey.from_doc(resource.doc)
        self._keys[key.access_key_id] = key

    # -- roles ------------------------------------------------------------------------------------

    async def create_role(self, account: str, name: str | None, trust: str | None, *, path: str | None = None,
                          description: str | None = None, max_session_seconds: int = 3600,
                          tags: Sequence[tuple[str, str]] = ()) -> Role:  # fmt: skip
        name = check_name(name, "roleName")
        path = check_path(path)
        _checked(trust, "assumeRolePolicyDocument", PolicyKind.TRUST, MAX_TRUST_POLICY_BYTES)
        assert trust is not None
        if description is not None and len(description) > 1000:
            raise InvalidInput("Description must be at most 1000 characters.")
        role = Role(account, name, path, new_id("AROA"), self._now(), trust, description, max_session_seconds,
                    check_tags(tags))  # fmt: skip
        async with self._writing():
            if role.key in self._roles:
                raise EntityAlreadyExists(f"Role with name {name} already exists.")
            await self._put_role(role)
        return role

    def role(self, account: str, name: str) -> Role:
        found = self._roles.get(entity_key(account, name))
        if found is None:
            raise NoSuchEntity(f"The role with name {name} cannot be found.")
        return found

    def find_role(self, arn: str) -> Role | None:
        """The role ``arn`` names (its path must be the role's), or None."""
        named = role_name_of(arn)
        if named is None:
            return None
        role = self._roles.get(entity_key(*named))
        return role if role is not None and role.arn == arn else None

    def roles(self, account: str, path_prefix: str = "/") -> list[Role]:
        return sorted((r for r in self._roles.values() if r.account == account and r.path.startswith(path_prefix)),
                      key=lambda r: r.name.lower())  # fmt: skip

    async def delete_role(self, account: str, name: str) -> None:
        async with self._writing():
            role = self.role(account, name)
            if role.attached:
                raise DeleteConflict("Cannot delete entity, must detach all policies first.")
            if role.inline:
                raise DeleteConflict("Cannot delete entity, must delete policies first.")
            await self._store.change_resources(deletes=[(ROLE_KIND, role.key)])
            del self._roles[role.key]

    async def update_trust(self, account: str, name: str, document: str | None) -> None:
        _checked(document, "policyDocument", PolicyKind.TRUST, MAX_TRUST_POLICY_BYTES)
        assert document is not None
        async with self._writing():
            await self._put_role(replace(self.role(account, name), trust=document))

    async def update_role(self, account: str, name: str, description: str | None, max_session: int | None) -> None:
        async with self._writing():
            role = self.role(account, name)
            await self._put_role(replace(role, description=role.description if description is None else description,
                                         max_session_seconds=max_session or role.max_session_seconds))  # fmt: skip

    async def tag_role(self, account: str, name: str, tags: Sequence[tuple[str, str]], remove: Sequence[str] = ()) -> None:
        async with self._writing():
            role = self.role(account, name)
            merged = {k: v for k, v in role.tags if k not in remove}
            merged.update(dict(tags))
            await self._put_role(replace(role, tags=check_tags(list(merged.items()))))

    async def put_role_policy(self, account: str, name: str, policy_name: str | None, document: str | None) -> None:
        policy_name = check_name(policy_name, "policyName", 128)
        _checked(document, "policyDocument", PolicyKind.IDENTITY, MAX_IDENTITY_POLICY_BYTES)
        assert document is not None
        async with self._writing():
            role = self.role(account, name)
            await self._put_role(replace(role, inline={**role.inline, policy_name: document}))

    def role_policy(self, account: str, name: str, policy_name: str) -> str:
        found = self.role(account, name).inline.get(policy_name)
        if found is None:
            raise NoSuchEntity(f"The role policy with name {policy_name} cannot be found.")
        return found

    async def delete_role_policy(self, account: str, name: str, policy_name: str) -> None:
        async with self._writing():
            role = self.role(account, name)
            if policy_name not in role.inline:
                raise NoSuchEntity(f"The role policy with name {policy_name} cannot be found.")
            await self._put_role(replace(role, inline={k: v for k, v in role.inline.items() if k != policy_name}))

    async def attach_role_policy(self, account: str, name: str, arn: str) -> None:
        policy = self.attachable(account, arn)
        async with self._writing():
            role = self.role(account, name)
            if policy.arn in role.attached:
                return
            if len(role.attached) >= MAX_MANAGED_PER_ENTITY:
                raise LimitExceeded(f"Cannot exceed quota for PoliciesPerRole: {MAX_MANAGED_PER_ENTITY}")
            await self._put_role(replace(role, attached=(*role.attached, policy.arn)))

    async def detach_role_policy(self, account: str, name: str, arn: str) -> None:
        async with self._writing():
            role = self.role(account, name)
            if arn not in role.attached:
                raise NoSuchEntity(f"Policy {arn} was not found.")
            await self._put_role(replace(role, attached=tuple(a for a in role.attached if a != arn)))

    async def _put_role(self, role: Role) -> None:
        await self._store.change_resources([Resource(ROLE_KIND, role.key, role.doc())])
        self._roles[role.key] = role

    # -- users ------------------------------------------------------------------------------------

    async def create_user(self, account: str, name: str | None, path: str | None = None,
                          tags: Sequence[tuple[str, str]] = ()) -> User:  # fmt: skip
        name = check_name(name, "userName")
        user = User(account, name, check_path(path), new_id("AIDA"), self._now(), check_tags(tags))
        async with self._writing():
            if user.key in self._users:
                raise EntityAlreadyExists(f"User with name {name} already exists.")
            await self._put_user(user)
        return user

    def user(self, account: str, name: str) -> User:
        found = self._users.get(entity_key(account, name))
        if found is None:
            raise NoSuchEntity(f"The user with name {name} cannot be found.")
        return found

    def users(self, account: str, path_prefix: str = "/") -> list[User]:
        return sorted((u for u in self._users.values() if u.account == account and u.path.startswith(path_prefix)),
                      key=lambda u: u.name.lower())  # fmt: skip

    async def delete_user(self, account: str, name: str) -> None:
        async with self._writing():
            user = self.user(account, name)
            if user.attached:
                raise DeleteConflict("Cannot delete entity, must detach all policies first.")
            if user.inline:
                raise DeleteConflict("Cannot delete entity, must delete policies first.")
            if self.keys_of(account, user.name):
                raise DeleteConflict("Cannot delete entity, must delete access keys first.")
            await self._store.change_resources(deletes=[(USER_KIND, user.key)])
            del self._users[user.key]

    async def put_user_policy(self, account: str, name: str, policy_name: str | None, document: str | None) -> None:
        policy_name = check_name(policy_name, "policyName", 128)
        _checked(document, "policyDocument", PolicyKind.IDENTITY, MAX_IDENTITY_POLICY_BYTES)
        assert document is not None
        async with self._writing():
            user = self.user(account, name)
            await self._put_user(replace(user, inline={**user.inline, policy_name: document}))

    def user_policy(self, account: str, name: str, policy_name: str) -> str:
        found = self.user(account, name).inline.get(policy_name)
        if found is None:
            raise NoSuchEntity(f"The user policy with name {policy_name} cannot be found.")
        return found

    async def delete_user_policy(self, account: str, name: str, policy_name: str) -> None:
        async with self._writing():
            user = self.user(account, name)
            if policy_name not in user.inline:
                raise NoSuchEntity(f"The user policy with name {policy_name} cannot be found.")
            await self._put_user(replace(user, inline={k: v for k, v in user.inline.items() if k != policy_name}))

    async def attach_user_policy(self, account: str, name: str, arn: str) -> None:
        policy = self.attachable(account, arn)
        async with self._writing():
            user = self.user(account, name)
            if policy.arn in user.attached:
                return
            if len(user.attached) >= MAX_MANAGED_PER_ENTITY:
                raise LimitExceeded(f"Cannot exceed quota for PoliciesPerUser: {MAX_MANAGED_PER_ENTITY}")
            await self._put_user(replace(user, attached=(*user.attached, policy.arn)))

    async def detach_user_policy(self, account: str, name: str, arn: str) -> None:
        async with self._writing():
            user = self.user(account, name)
            if arn not in user.attached:
                raise NoSuchEntity(f"Policy {arn} was not found.")
            await self._put_user(replace(user, attached=tuple(a for a in user.attached if a != arn)))

    async def _put_user(self, user: User) -> None:
        await self._store.change_resources([Resource(USER_KIND, user.key, user.doc())])
        self._users[user.key] = user

    # -- access keys ------------------------------------------------------------------------------

    def keys_of(self, account: str, user_name: str) -> list[UserKey]:
        wanted = user_name.lower()
        return sorted((k for k in self._keys.values() if k.account == account and k.user_name.lower() == wanted),
                      key=lambda k: (k.created or self._now(), k.access_key_id))  # fmt: skip

    async def create_access_key(self, account: str, user_name: str) -> UserKey:
        async with self._writing():
            user = self.user(account, user_name)
            if len(self.keys_of(account, user.name)) >= MAX_KEYS_PER_USER:
                raise LimitExceeded(f"Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS_PER_USER}")
            key = UserKey(new_id("AKIA", 16), new_secret(), account, user.name, True, self._now())
            await self._store.change_resources([Resource(KEY_KIND, key.access_key_id, key.doc())])
            self._keys[key.access_key_id] = key
        return key

    def _user_key(self, account: str, user_name: str, key_id: str) -> UserKey:
        key = self._keys.get(key_id)
        if key is None or key.account != account or key.user_name.lower() != user_name.lower():
            raise NoSuchEntity(f"The Access Key with id {key_id} cannot be found.")
        return key

    async def delete_access_key(self, account: str, user_name: str, key_id: str) -> None:
        async with self._writing():
            self.user(account, user_name)
            key = self._user_key(account, user_name, key_id)
            await self._store.change_resources(deletes=[(KEY_KIND, key.access_key_id)])
            del self._keys[key.access_key_id]

    async def update_access_key(self, account: str, user_name: str, key_id: str, active: bool) -> None:
        async with self._writing():
            self.user(account, user_name)
            key = replace(self._user_key(account, user_name, key_id), active=active)
            await self._store.change_resources([Resource(KEY_KIND, key.access_key_id, key.doc())])
            self._keys[key.access_key_id] = key

    def user_of_key(self, key_id: str) -> User | None:
        key = self._keys.get(key_id)
        return self._users.get(entity_key(key.account, key.user_name)) if key is not None else None

    def find(self, access_key_id: str) -> AccessKey | None:
        """The key ring of users' keys (``identity.principals.KeyRing``): an active key of a user
        that exists, with the user as its principal."""
        key = self._keys.get(access_key_id)
        if key is None or not key.active:
            return None
        user = self._users.get(entity_key(key.account, key.user_name))
        if user is None:
            return None
        principal = Principal(user.account, user.arn, user.user_id, PrincipalKind.USER)
        return AccessKey(key.access_key_id, key.secret, principal)

    def attachments(self, account: str, arn: str) -> int:
        """How many of the account's roles and users have the managed policy ``arn`` attached."""
        entities: list[Role | User] = [*self._roles.values(), *self._users.values()]
        return sum(1 for e in entities if e.account == account and arn in e.attached)

    # -- managed policies -------------------------------------------------------------------------

    def find_policy(self, account: str, arn: str) -> managed.ManagedPolicy | CustomerPolicy | None:
        """An AWS managed policy, or one of ``account``'s own, by ARN."""
        found = managed.find(arn)
        if found is not None:
            return found
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[4] != account or not parts[5].startswith("policy/"):
            return None
        policy = self._policies.get(entity_key(account, parts[5].rsplit("/", 1)[-1]))
        return policy if policy is not None and policy.arn == arn else None

    def attachable(self, account: str, arn: str) -> managed.ManagedPolicy | CustomerPolicy:
        policy = self.find_policy(account, arn)
        if policy is None:
            raise NoSuchEntity(f"Policy {arn} does not exist or is not attachable.")
        return policy

    async def create_policy(self, account: str, name: str | None, document: str | None, path: str | None = None,
                            description: str | None = None) -> CustomerPolicy:  # fmt: skip
        name = check_name(name, "policyName", 128)
        _checked(document, "policyDocument", PolicyKind.IDENTITY, MAX_MANAGED_POLICY_BYTES)
        assert document is not None
        policy = CustomerPolicy(account, name, check_path(path), new_id("ANPA"), self._now(), document, description)
        async with self._writing():
            if policy.key in self._policies:
                raise EntityAlreadyExists(f"A policy called {name} already exists. Duplicate names are not allowed.")
            await self._store.change_resources([Resource(POLICY_KIND, policy.key, policy.doc())])
            self._policies[policy.key] = policy
        return policy

    def customer_policies(self, account: str, path_prefix: str = "/") -> list[CustomerPolicy]:
        return sorted((p for p in self._policies.values() if p.account == account and p.path.startswith(path_prefix)),
                      key=lambda p: p.name.lower())  # fmt: skip

    async def delete_policy(self, account: str, arn: str) -> None:
        async with self._writing():
            policy = self.find_policy(account, arn)
            if not isinstance(policy, CustomerPolicy):
                raise NoSuchEntity(f"Policy {arn} was not found.")
            if self.attachments(account, arn):
                raise DeleteConflict("Cannot delete a policy attached to entities.")
            await self._store.change_resources(deletes=[(POLICY_KIND, policy.key)])
            del self._policies[policy.key]

    # -- what applies to a principal --------------------------------------------------------------

    def policy(self, text: str, kind: PolicyKind = PolicyKind.IDENTITY) -> Policy:
        """``text`` parsed as a policy of ``kind`` (once: parses are kept by text and kind, as the same
        text reads differently as an identity policy and as a resource policy)."""
        found = self._parsed.get((text, kind))
        if found is None:
            found = self._parsed[(text, kind)] = parse(text, kind)
        return found

    def policies_of(self, principal: Principal) -> list[Policy]:
        """The identity policies that apply to ``principal``: a user's or its role's, inline and
        attached; none for a root (which needs none) or for an entity that no longer exists."""
        inline: Sequence[str] = ()
        attached: Sequence[str] = ()
        if principal.kind is PrincipalKind.USER:
            user = self._users.get(entity_key(principal.account_id, principal.arn.rsplit("/", 1)[-1]))
            if user is not None and user.arn == principal.arn:
                inline, attached = tuple(user.inline.values()), user.attached
        elif principal.kind is PrincipalKind.ASSUMED_ROLE and principal.role_arn is not None:
            role = self.find_role(principal.role_arn)
            if role is not None:
                inline, attached = tuple(role.inline.values()), role.attached
        policies = [self.policy(text) for text in inline]
        found = (self.find_policy(principal.account_id, arn) for arn in attached)
        policies += [self.policy(p.text) for p in found if p is not None]
        return policies

    def trust_policy(self, role: Role) -> Policy:
        return self.policy(role.trust, PolicyKind.TRUST)


