"""The policy evaluator: may this principal do this action on this resource? (pure)

AWS's logic, for the policy types Lamina has (identity policies of users and roles, resource
policies such as a function's, a role's trust policy):

1. An explicit ``Deny`` that applies, in any of them, wins.
2. The root of an account may do anything on its own account's resources (past a deny only not).
3. Within one account, an ``Allow`` from the identity policies or from the resource policy
   suffices: but a resource policy that names the account (``arn:aws:iam::<acct>:root``, or the
   bare id) rather than the principal delegates to the account's own policies, so it grants only
   to the root.
4. Across accounts both are needed: the caller's identity policies (the root of an account has
   them all) and the resource policy, naming the caller or the caller's account.
5. Otherwise the request is implicitly denied.

Service principals (``events.amazonaws.com``, ...) have no identity policies: only a resource
policy that names them allows them. Nor has the anonymous principal (S3's unsigned requests): only
a resource policy for everyone (``"Principal": "*"`` or ``{"AWS": "*"}``) allows it.

``Resource`` values and condition values may hold policy variables (``${aws:username}``,
``${aws:PrincipalAccount}``, ...; ``${*}``, ``${?}``, ``${$}`` for the characters themselves).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from lamina.iam.conditions import Condition, Context, arn_like, holds, like
from lamina.iam.policy import Effect, Policy, Principals, Statement

_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_LITERALS = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True)
class Requester:
    """Who asks: an IAM principal (``arn``, ``account_id``; ``role_arn`` for a role's session), a
    service principal (``service``, e.g. events.amazonaws.com, whose ``account_id`` is ``""``) or
    the anonymous principal (``anonymous``: an unsigned request, which only ``*`` names)."""

    arn: str = ""
    account_id: str = ""
    root: bool = False
    role_arn: str | None = None
    service: str | None = None
    anonymous: bool = False


@dataclass(frozen=True)
class Request:
    requester: Requester
    action: str  # e.g. lambda:GetFunction
    resource: str  # an ARN, or "*"
    resource_account: str  # the account that owns the resource
    context: Context = field(default_factory=dict)  # condition keys, lower-cased


class Decision(enum.Enum):
    ALLOW = "allow"
    IMPLICIT_DENY = "implicit deny"  # nothing allows
    IDENTITY_DENY = "explicit deny in an identity-based policy"
    RESOURCE_DENY = "explicit deny in a resource-based policy"

    @property
    def allowed(self) -> bool:
        return self is Decision.ALLOW


class _Match(enum.Enum):
    PRINCIPAL = "principal"  # the statement names the requester (or everyone)
    ACCOUNT = "account"  # the statement names the requester's account only


def substitute(text: str, context: Context) -> str | None:
    """``text`` with its policy variables replaced; None if one names a key the request lacks
    (the statement then does not apply, as IAM has it)."""
    if "${" not in text:
        return text
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        if name in _LITERALS:
            return _LITERALS[name]
        name, _, default = name.partition(", '")
        found = context.get(name.strip().lower())
        if found and len(found) == 1:
            return found[0]
        if default:
            return default.rstrip("'")
        missing = True
        return ""

    result = _VARIABLE.sub(value, text)
    return None if missing else result


def _action_matches(patterns: Sequence[str], action: str) -> bool:
    return any(p == "*" or like(p, action, ignore_case=True) for p in patterns)


def _resource_matches(patterns: Sequence[str], resource: str, context: Context) -> bool:
    for pattern in patterns:
        pattern_text = substitute(pattern, context)
        if pattern_text is None:
            continue
        if pattern_text == "*" or arn_like(pattern_text, resource) or like(pattern_text, resource):
            return True
    return False


def _principal_match(principals: Principals, requester: Requester) -> _Match | None:
    if principals.anyone:
        return _Match.PRINCIPAL
    if requester.service is not None:
        return _Match.PRINCIPAL if requester.service in principals.service else None
    if requester.anonymous:
        return _Match.PRINCIPAL if "*" in principals.aws else None
    best: _Match | None = None
    for value in principals.aws:
        if value == "*":
            return _Match.PRINCIPAL
        if value in (requester.arn, requester.role_arn):
            return _Match.PRINCIPAL
        if value in (requester.account_id, f"arn:aws:iam::{requester.account_id}:root"):
            best = _Match.PRINCIPAL if requester.root else _Match.ACCOUNT
    return best


def _conditions_hold(conditions: Iterable[Condition], context: Context) -> bool:
    for condition in conditions:
        values = tuple(v for v in (substitute(v, context) for v in condition.values) if v is not None)
        if not values or not holds(Condition(condition.operator, condition.key, values), context):
            return False
    return True


def applies(statement: Statement, request: Request) -> _Match | None:
    """Whether ``statement`` applies to ``request`` (and, for one naming principals, how it names
    the requester); None if it does not."""
    if _action_matches(statement.actions, request.action) == statement.not_action:
        return None
    if _resource_matches(statement.resources, request.resource, request.context) == statement.not_resource:
        return None
    match = _Match.PRINCIPAL
    if statement.principals is not None:
        found = _principal_match(statement.principals, request.requester)
        if statement.not_principal:
            if found is not None:
                return None
        elif found is None:
            return None
        else:
            match = found
    if not _conditions_hold(statement.conditions, request.context):
        return None
    return match


@dataclass(frozen=True)
class _Verdict:
    denied: bool = False
    allowed: bool = False
    account_only: bool = False  # allowed only through the requester's account (a resource policy)


def _verdict(policies: Iterable[Policy], request: Request) -> _Verdict:
    denied = allowed = account_only = False
    for policy in policies:
        for statement in policy.statements:
            match = applies(statement, request)
            if match is None:
                continue
            if statement.effect is Effect.DENY:
                denied = True
            elif match is _Match.PRINCIPAL:
                allowed = True
            else:
                account_only = True
    return _Verdict(denied, allowed, account_only)


def decide(request: Request, identity: Sequence[Policy] = (), resource: Policy | None = None) -> Decision:
    """The decision for ``request``, given the requester's identity policies and the resource's
    policy (None: it has none)."""
    requester = request.requester
    mine = _verdict(identity, request) if requester.service is None and not requester.anonymous else _Verdict()
    theirs = _verdict((resource,), request) if resource is not None else _Verdict()
    if mine.denied:
        return Decision.IDENTITY_DENY
    if theirs.denied:
        return Decision.RESOURCE_DENY
    if requester.anonymous:  # no identity policies, no account: only a resource policy for everyone
        return Decision.ALLOW if theirs.allowed else Decision.IMPLICIT_DENY
    same_account = requester.service is None and requester.account_id == request.resource_account
    identity_allows = mine.allowed or (requester.root and requester.service is None)
    if same_account:
        return Decision.ALLOW if identity_allows or theirs.allowed else Decision.IMPLICIT_DENY
    if identity_allows and (theirs.allowed or theirs.account_only) or requester.service is not None and theirs.allowed:
        return Decision.ALLOW
    return Decision.IMPLICIT_DENY


def trusts(trust: Policy, request: Request, identity: Sequence[Policy] = ()) -> bool:
    """Whether a role's trust policy lets the requester assume it (``sts:AssumeRole``): the trust
    policy must allow (it is the role's resource policy, and the root's own standing does not
    stand in for it); one naming the requester's account needs the requester's identity policies
    (a root has them all) to allow too; a deny in either refuses."""
    mine = _verdict(identity, request) if request.requester.service is None else _Verdict()
    theirs = _verdict((trust,), request)
    if mine.denied or theirs.denied:
        return False
    if theirs.allowed:
        return True
    return theirs.account_only and (mine.allowed or request.requester.root)
