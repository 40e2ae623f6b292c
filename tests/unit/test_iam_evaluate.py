"""The policy evaluator and the policy language, with plain values."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lamina.iam.conditions import Condition, holds, like
from lamina.iam.errors import MalformedPolicyDocument
from lamina.iam.evaluate import Decision, Request, Requester, decide, substitute, trusts
from lamina.iam.policy import Policy, PolicyKind, parse

ACCT, OTHER = "111111111111", "222222222222"
FN = f"arn:aws:lambda:us-east-1:{ACCT}:function:orders"
ALICE = Requester(arn=f"arn:aws:iam::{ACCT}:user/alice", account_id=ACCT)
ROOT = Requester(arn=f"arn:aws:iam::{ACCT}:root", account_id=ACCT, root=True)
STRANGER = Requester(arn=f"arn:aws:iam::{OTHER}:user/bob", account_id=OTHER)
STRANGER_ROOT = Requester(arn=f"arn:aws:iam::{OTHER}:root", account_id=OTHER, root=True)
EVENTS = Requester(service="events.amazonaws.com")


def identity(*statements: dict[str, Any]) -> Policy:
    return parse(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))


def resource_policy(*statements: dict[str, Any]) -> Policy:
    return parse({"Version": "2012-10-17", "Statement": list(statements)}, PolicyKind.RESOURCE)


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def ask(requester: Requester, action: str = "lambda:GetFunction", resource: str = FN,
        account: str = ACCT, **context: str) -> Request:  # fmt: skip
    return Request(requester, action, resource, account, {k.lower(): (v,) for k, v in context.items()})


IDENTITY_CASES = [
    ("nothing allows", [], "lambda:GetFunction", FN, Decision.IMPLICIT_DENY),
    ("exact action and resource", [allow("lambda:GetFunction", FN)], "lambda:GetFunction", FN, Decision.ALLOW),
    ("another action", [allow("lambda:GetFunction", FN)], "lambda:DeleteFunction", FN, Decision.IMPLICIT_DENY),
    ("action wildcard", [allow("lambda:Get*")], "lambda:GetFunctionConfiguration", FN, Decision.ALLOW),
    ("action ? wildcard", [allow("lambda:?etFunction")], "lambda:GetFunction", FN, Decision.ALLOW),
    ("action case-insensitive", [allow("LAMBDA:getfunction")], "lambda:GetFunction", FN, Decision.ALLOW),
    ("star action", [allow("*")], "sqs:SendMessage", FN, Decision.ALLOW),
    ("resource wildcard", [allow("lambda:*", f"arn:aws:lambda:*:{ACCT}:function:ord*")], "lambda:Invoke", FN,
     Decision.ALLOW),
    ("resource wildcard stays in its part", [allow("lambda:*", "arn:aws:lambda:*:*:function:x*")],
     "lambda:GetFunction", FN, Decision.IMPLICIT_DENY),
    ("resource case-sensitive", [allow("lambda:*", FN.replace("orders", "ORDERS"))], "lambda:GetFunction", FN, Decision.IMPLICIT_DENY),
    ("explicit deny wins", [allow("lambda:*"), deny("lambda:GetFunction", FN)], "lambda:GetFunction", FN,
     Decision.IDENTITY_DENY),
    ("deny elsewhere", [allow("lambda:*"), deny("lambda:GetFunction", FN + "x")], "lambda:GetFunction", FN,
     Decision.ALLOW),
    ("NotAction allows the rest", [{"Effect": "Allow", "NotAction": "lambda:Delete*", "Resource": "*"}],
     "lambda:GetFunction", FN, Decision.ALLOW),
    ("NotAction leaves out its own", [{"Effect": "Allow", "NotAction": "lambda:Delete*", "Resource": "*"}],
     "lambda:DeleteFunction", FN, Decision.IMPLICIT_DENY),
    ("NotResource", [{"Effect": "Allow", "Action": "lambda:*", "NotResource": FN}], "lambda:GetFunction",
     FN + "2", Decision.ALLOW),
    ("NotResource leaves out its own", [{"Effect": "Allow", "Action": "lambda:*", "NotResource": FN}],
     "lambda:GetFunction", FN, Decision.IMPLICIT_DENY),
    ("deny with NotAction", [allow("*"), {"Effect": "Deny", "NotAction": "lambda:Get*", "Resource": "*"}],
     "lambda:DeleteFunction", FN, Decision.IDENTITY_DENY),
]


@pytest.mark.parametrize(("name", "statements", "action", "resource", "expected"), IDENTITY_CASES,
                         ids=[c[0] for c in IDENTITY_CASES])  # fmt: skip
def test_identity_policies(name: str, statements: list[dict[str, Any]], action: str, resource: str,
                           expected: Decision) -> None:  # fmt: skip
    policies = [identity(*statements)] if statements else []
    assert decide(ask(ALICE, action, resource), policies) is expected


def test_root_may_do_anything_in_its_account_but_not_past_a_resource_deny() -> None:
    assert decide(ask(ROOT)) is Decision.ALLOW
    denying = resource_policy({**deny("lambda:GetFunction", FN), "Principal": "*"})
    assert decide(ask(ROOT), resource=denying) is Decision.RESOURCE_DENY
    # Another account's root is not this one's.
    assert decide(ask(STRANGER_ROOT)) is Decision.IMPLICIT_DENY


def test_same_account_resource_policy_naming_the_user_suffices() -> None:
    naming = resource_policy({**allow("lambda:GetFunction", FN), "Principal": {"AWS": ALICE.arn}})
    assert decide(ask(ALICE), resource=naming) is Decision.ALLOW
    naming_account = resource_policy({**allow("lambda:GetFunction", FN), "Principal": {"AWS": ACCT}})
    assert decide(ask(ALICE), resource=naming_account) is Decision.IMPLICIT_DENY  # delegated to IAM
    assert decide(ask(ALICE), [identity(allow("lambda:*"))], naming_account) is Decision.ALLOW


def test_cross_account_needs_both_sides() -> None:
    grants = resource_policy({**allow("lambda:InvokeFunction", FN), "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"}})
    own = [identity(allow("lambda:InvokeFunction"))]
    invoke = ask(STRANGER, "lambda:InvokeFunction")
    assert decide(invoke, own, grants) is Decision.ALLOW
    assert decide(invoke, [], grants) is Decision.IMPLICIT_DENY  # the caller's account did not allow it
    assert decide(invoke, own, None) is Decision.IMPLICIT_DENY  # the function's owner did not
    assert decide(ask(STRANGER_ROOT, "lambda:InvokeFunction"), [], grants) is Decision.ALLOW
    assert decide(ask(STRANGER, "lambda:GetFunction"), own, grants) is Decision.IMPLICIT_DENY


def test_service_principals_need_the_resource_policy_and_its_conditions() -> None:
    rule = f"arn:aws:events:us-east-1:{ACCT}:rule/nightly"
    grants = resource_policy({**allow("lambda:InvokeFunction", FN), "Principal": {"Service": "events.amazonaws.com"},
                              "Condition": {"ArnLike": {"AWS:SourceArn": rule}}})  # fmt: skip
    assert decide(ask(EVENTS, "lambda:InvokeFunction", **{"aws:SourceArn": rule}), resource=grants) is Decision.ALLOW
    other_rule = ask(EVENTS, "lambda:InvokeFunction", **{"aws:SourceArn": rule + "2"})
    assert decide(other_rule, resource=grants) is Decision.IMPLICIT_DENY
    assert decide(ask(EVENTS, "lambda:InvokeFunction"), resource=grants) is Decision.IMPLICIT_DENY
    assert decide(ask(EVENTS, "lambda:InvokeFunction", **{"aws:SourceArn": rule})) is Decision.IMPLICIT_DENY
    s3 = Requester(service="s3.amazonaws.com")
    assert decide(ask(s3, "lambda:InvokeFunction", **{"aws:SourceArn": rule}), resource=grants) is Decision.IMPLICIT_DENY


def test_not_principal() -> None:
    policy = resource_policy({**deny("lambda:*"), "NotPrincipal": {"AWS": ALICE.arn}})
    assert decide(ask(ALICE), [identity(allow("*"))], policy) is Decision.ALLOW
    carol = Requester(arn=f"arn:aws:iam::{ACCT}:user/carol", account_id=ACCT)
    assert decide(ask(carol), [identity(allow("*"))], policy) is Decision.RESOURCE_DENY


def test_conditions_in_identity_policies() -> None:
    policy = identity(allow("lambda:InvokeFunction", "*", Condition={"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}}))
    assert decide(ask(ALICE, "lambda:InvokeFunction", **{"lambda:FunctionUrlAuthType": "AWS_IAM"}), [policy]).allowed
    assert not decide(ask(ALICE, "lambda:InvokeFunction", **{"lambda:FunctionUrlAuthType": "NONE"}), [policy]).allowed
    assert not decide(ask(ALICE, "lambda:InvokeFunction"), [policy]).allowed


def test_policy_variables() -> None:
    policy = identity(allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*"))
    mine = ask(ALICE, "s3:GetObject", "arn:aws:s3:::home/alice/notes", **{"aws:username": "alice"})
    theirs = ask(ALICE, "s3:GetObject", "arn:aws:s3:::home/bob/notes", **{"aws:username": "alice"})
    assert decide(mine, [policy]).allowed and not decide(theirs, [policy]).allowed
    assert substitute("a${*}b${?}${$}", {}) == "a*b?$"
    assert substitute("${aws:username}", {}) is None
    assert substitute("${aws:username, 'nobody'}", {}) == "nobody"


def ctx(**values: str | tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    return {k.lower(): (v,) if isinstance(v, str) else v for k, v in values.items()}


CONDITION_CASES = [
    ("StringEquals", "aws:SourceAccount", ["111111111111"], ctx(**{"aws:SourceAccount": ACCT}), True),
    ("StringEquals", "aws:SourceAccount", ["1", "111111111111"], ctx(**{"aws:SourceAccount": ACCT}), True),
    ("StringEquals", "aws:SourceAccount", ["1"], ctx(**{"aws:SourceAccount": ACCT}), False),
    ("StringEquals", "aws:SourceAccount", ["1"], ctx(), False),
    ("StringNotEquals", "aws:SourceAccount", ["1"], ctx(**{"aws:SourceAccount": ACCT}), True),
    ("StringNotEquals", "aws:SourceAccount", ["1"], ctx(), True),  # absent: negated operators hold
    ("StringNotEquals", "aws:SourceAccount", [ACCT], ctx(**{"aws:SourceAccount": ACCT}), False),
    ("StringEqualsIgnoreCase", "aws:username", ["ALICE"], ctx(**{"aws:username": "alice"}), True),
    ("StringLike", "aws:PrincipalArn", ["arn:aws:iam::*:user/a*"], ctx(**{"aws:PrincipalArn": ALICE.arn}), True),
    ("StringNotLike", "aws:PrincipalArn", ["*:user/a*"], ctx(**{"aws:PrincipalArn": ALICE.arn}), False),
    ("StringEqualsIfExists", "aws:SourceAccount", ["1"], ctx(), True),
    ("StringEqualsIfExists", "aws:SourceAccount", ["1"], ctx(**{"aws:SourceAccount": ACCT}), False),
    ("ArnLike", "aws:SourceArn", ["arn:aws:events:*:*:rule/*"], ctx(**{"aws:SourceArn": "arn:aws:events:us-east-1:1:rule/r"}), True),
    ("ArnLike", "aws:SourceArn", ["arn:aws:events:*:*:rule/*"], ctx(**{"aws:SourceArn": "arn:aws:s3:::b"}), False),
    ("ArnEquals", "aws:SourceArn", ["arn:aws:s3:::b"], ctx(**{"aws:SourceArn": "arn:aws:s3:::b"}), True),
    ("ArnNotLike", "aws:SourceArn", ["arn:aws:s3:::*"], ctx(**{"aws:SourceArn": "arn:aws:s3:::b"}), False),
    ("ArnNotEquals", "aws:SourceArn", ["arn:aws:s3:::a"], ctx(**{"aws:SourceArn": "arn:aws:s3:::b"}), True),
    ("Bool", "aws:SecureTransport", ["false"], ctx(**{"aws:SecureTransport": "false"}), True),
    ("Bool", "aws:SecureTransport", ["true"], ctx(**{"aws:SecureTransport": "false"}), False),
    ("NumericLessThan", "s3:max-keys", ["10"], ctx(**{"s3:max-keys": "5"}), True),
    ("NumericGreaterThanEquals", "s3:max-keys", ["10"], ctx(**{"s3:max-keys": "5"}), False),
    ("NumericEquals", "s3:max-keys", ["x"], ctx(**{"s3:max-keys": "5"}), False),
    ("DateLessThan", "aws:CurrentTime", ["2030-01-01T00:00:00Z"], ctx(**{"aws:CurrentTime": "2026-12-07T06:00:00Z"}), True),
    ("DateGreaterThan", "aws:CurrentTime", ["2030-01-01T00:00:00Z"], ctx(**{"aws:CurrentTime": "2026-12-07T06:00:00Z"}), False),
    ("IpAddress", "aws:SourceIp", ["127.0.0.0/8"], ctx(**{"aws:SourceIp": "127.0.0.1"}), True),
    ("NotIpAddress", "aws:SourceIp", ["127.0.0.0/8"], ctx(**{"aws:SourceIp": "127.0.0.1"}), False),
    ("Null", "aws:SourceArn", ["true"], ctx(), True),
    ("Null", "aws:SourceArn", ["false"], ctx(), False),
    ("Null", "aws:SourceArn", ["false"], ctx(**{"aws:SourceArn": "x"}), True),
    ("ForAnyValue:StringEquals", "aws:TagKeys", ["a", "b"], ctx(**{"aws:TagKeys": ("c", "b")}), True),
    ("ForAnyValue:StringEquals", "aws:TagKeys", ["a"], ctx(), False),
    ("ForAllValues:StringEquals", "aws:TagKeys", ["a", "b"], ctx(**{"aws:TagKeys": ("a", "b")}), True),
    ("ForAllValues:StringEquals", "aws:TagKeys", ["a", "b"], ctx(**{"aws:TagKeys": ("a", "c")}), False),
    ("ForAllValues:StringEquals", "aws:TagKeys", ["a"], ctx(), True),
]


@pytest.mark.parametrize(("operator", "key", "values", "context", "expected"), CONDITION_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CONDITION_CASES)])  # fmt: skip
def test_conditions(operator: str, key: str, values: list[str], context: dict[str, tuple[str, ...]],
                    expected: bool) -> None:  # fmt: skip
    assert holds(Condition(operator, key, tuple(values)), context) is expected


def test_condition_keys_are_case_insensitive() -> None:
    policy = identity(allow("*", "*", Condition={"StringEquals": {"AWS:SOURCEACCOUNT": ACCT}}))
    assert decide(ask(ALICE, **{"aws:SourceAccount": ACCT}), [policy]).allowed


def test_trust_policies() -> None:
    role = "arn:aws:iam::111111111111:role/worker"
    lambda_trust = parse({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "sts:AssumeRole",
                          "Principal": {"Service": "lambda.amazonaws.com"}}}, PolicyKind.TRUST)  # fmt: skip
    lam = Requester(service="lambda.amazonaws.com")
    assert trusts(lambda_trust, ask(lam, "sts:AssumeRole", role))
    assert not trusts(lambda_trust, ask(ALICE, "sts:AssumeRole", role))
    assert not trusts(lambda_trust, ask(ROOT, "sts:AssumeRole", role))  # the trust policy must allow
    account_trust = parse({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                           "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}}]}, PolicyKind.TRUST)  # fmt: skip
    assert trusts(account_trust, ask(ROOT, "sts:AssumeRole", role))
    assert not trusts(account_trust, ask(ALICE, "sts:AssumeRole", role))
    assert trusts(account_trust, ask(ALICE, "sts:AssumeRole", role), [identity(allow("sts:AssumeRole", role))])
    assert not trusts(account_trust, ask(ALICE, "sts:AssumeRole", role), [identity(deny("sts:*"), allow("*"))])


MALFORMED = [
    ("not json", "{", "Syntax errors in policy."),
    ("bad version", {"Version": "2020-01-01", "Statement": [allow("*")]}, "The policy failed legacy parsing"),
    ("no statement", {"Version": "2012-10-17"}, "Syntax errors in policy."),
    ("no effect", {"Version": "2012-10-17", "Statement": {"Action": "*", "Resource": "*"}},
     "Missing required field Effect"),
    ("bad effect", {"Version": "2012-10-17", "Statement": {"Effect": "Maybe", "Action": "*", "Resource": "*"}},
     "Syntax errors in policy."),
    ("no action", {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Resource": "*"}},
     "Policy statement must contain actions."),
    ("no vendor", {"Version": "2012-10-17", "Statement": allow("GetFunction")},
     "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
    ("no resource", {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*"}},
     "Missing required field Resource"),
    ("principal in identity policy", {"Version": "2012-10-17", "Statement": {**allow("*"), "Principal": "*"}},
     "Policy document should not specify a principal."),
    ("unknown field", {"Version": "2012-10-17", "Statement": {**allow("*"), "Foo": 1}},
     "Syntax errors in policy. Unknown field Foo"),
    ("unknown operator", {"Version": "2012-10-17", "Statement": {**allow("*"), "Condition": {"StringSortOf": {"a:b": "c"}}}},
     "Syntax errors in policy. Invalid Condition type : StringSortOf"),
    ("duplicate sids", {"Version": "2012-10-17", "Statement": [{**allow("*"), "Sid": "a"}, {**allow("*"), "Sid": "a"}]},
     "Statement IDs (SID) in a single policy must be unique."),
]


@pytest.mark.parametrize(("name", "document", "message"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_identity_policies(name: str, document: Any, message: str) -> None:
    with pytest.raises(MalformedPolicyDocument) as raised:
        parse(document if isinstance(document, str) else json.dumps(document))
    assert raised.value.message == message


def test_trust_policies_are_validated_as_iam_does() -> None:
    with pytest.raises(MalformedPolicyDocument, match="Has prohibited field Resource"):
        parse({"Version": "2012-10-17", "Statement": {**allow("sts:AssumeRole"), "Principal": "*"}}, PolicyKind.TRUST)
    with pytest.raises(MalformedPolicyDocument, match="Missing required field Principal"):
        parse({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "sts:AssumeRole"}}, PolicyKind.TRUST)
    with pytest.raises(MalformedPolicyDocument, match="Invalid principal"):
        parse({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "sts:AssumeRole",
               "Principal": {"AWS": "bob"}}}, PolicyKind.TRUST)  # fmt: skip
    single = parse({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "sts:AssumeRole",
                    "Principal": {"Service": ["lambda.amazonaws.com", "events.amazonaws.com"]}}}, PolicyKind.TRUST)  # fmt: skip
    assert single.statements[0].principals is not None
    assert single.statements[0].principals.service == ("lambda.amazonaws.com", "events.amazonaws.com")


def test_the_anonymous_principal_is_allowed_only_by_a_policy_for_everyone() -> None:
    anonymous = Requester(anonymous=True)
    obj = "arn:aws:s3:::site/index.html"

    def asked(policy: Policy | None, identities: tuple[Policy, ...] = ()) -> Decision:
        return decide(Request(anonymous, "s3:GetObject", obj, ACCT), identities, policy)

    assert asked(None) is Decision.IMPLICIT_DENY
    assert asked(None, (identity(allow("s3:*")),)) is Decision.IMPLICIT_DENY  # it has no identity policies
    assert asked(resource_policy(allow("s3:GetObject", obj, Principal="*"))) is Decision.ALLOW
    assert asked(resource_policy(allow("s3:GetObject", obj, Principal={"AWS": "*"}))) is Decision.ALLOW
    for named in (ACCT, f"arn:aws:iam::{ACCT}:root", f"arn:aws:iam::{OTHER}:user/bob"):
        assert asked(resource_policy(allow("s3:GetObject", obj, Principal={"AWS": named}))) is Decision.IMPLICIT_DENY
    assert asked(resource_policy(allow("s3:GetObject", obj, Principal={"Service": "s3.amazonaws.com"}))) \
        is Decision.IMPLICIT_DENY  # fmt: skip
    assert asked(resource_policy(allow("s3:GetObject", obj, Principal="*"),
                                 deny("s3:GetObject", obj, Principal="*"))) is Decision.RESOURCE_DENY  # fmt: skip
    # A condition on a key the anonymous request does not carry does not hold.
    assert asked(resource_policy(allow("s3:GetObject", obj, Principal="*",
                                       Condition={"StringEquals": {"aws:PrincipalAccount": ACCT}}))) \
        is Decision.IMPLICIT_DENY  # fmt: skip


LIKE = [
    ("", "", True), ("", "a", False), ("*", "", True), ("*", "anything/at:all", True), ("a*", "a", True),
    ("a*", "ba", False), ("*a", "ba", True), ("*a", "ab", False), ("a?c", "abc", True), ("a?c", "ac", False),
    ("a*b*c", "aXbYc", True), ("a*b*c", "acb", False), ("a*bc*bc", "abcbc", True), ("a*bc*bc", "abc", False),
    ("a**b", "ab", True), ("?*?", "a", False), ("?*?", "ab", True), ("*?b*", "bb", True), ("ab*ab", "aba", False),
    ("a\n*", "a\nb\nc", True), ("a.c", "abc", False), ("[a]", "[a]", True), ("(x|y)+", "x", False),
]  # fmt: skip


@pytest.mark.parametrize(("pattern", "value", "matches"), LIKE)
def test_like_matches_as_iam_wildcards_do(pattern: str, value: str, matches: bool) -> None:
    assert like(pattern, value) is matches


def test_like_ignores_case_only_when_asked() -> None:
    assert like("S3:Get*", "s3:getobject", ignore_case=True) and not like("S3:Get*", "s3:getobject")


def test_like_takes_hostile_patterns_in_linear_time() -> None:
    """``*a*a*...*b`` against ``aaa...``: as one regular expression (a ``.*`` a star) it backtracks
    exponentially (twelve stars over 40 characters: minutes); run by run it is one pass each."""
    assert not like("*a" * 500 + "*b", "a" * 20_000)
    assert like("*a" * 500 + "*b", "a" * 20_000 + "b")
    assert not like("a*" * 500, "a" * 499)
    assert not like("?" * 500 + "*x", "y" * 20_000)
