"""Bucket policies checked as S3 checks PutBucketPolicy's, and GetBucketPolicyStatus's IsPublic (pure)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lamina.objects.bucket_policy import MAX_POLICY_BYTES, check, is_public
from lamina.objects.errors import MalformedPolicy

BUCKET = "reports"


def statement(**changes: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": "222222222222"}, "Action": "s3:GetObject",
                             "Resource": f"arn:aws:s3:::{BUCKET}/*"}  # fmt: skip
    found.update(changes)
    return {k: v for k, v in found.items() if v is not None}  # None: without that element


def text(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def refusal(document: str) -> str:
    with pytest.raises(MalformedPolicy) as raised:
        check(document, BUCKET)
    return raised.value.message


ACCEPTED = [
    statement(),
    statement(Principal="*"),
    statement(Principal={"AWS": "*"}),
    statement(Principal={"AWS": ["arn:aws:iam::222222222222:root", "arn:aws:iam::222222222222:user/x",
                                 "arn:aws:iam::222222222222:role/r",
                                 "arn:aws:sts::222222222222:assumed-role/r/s"]}),
    statement(Principal={"Service": "lambda.amazonaws.com"}),
    statement(Principal={"CanonicalUser": "a" * 64}),
    statement(Action=["s3:Get*", "s3:List*"], Resource=[f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]),
    statement(Action="s3:*", Resource="arn:aws:s3:::rep*"),  # a bucket pattern that runs on into the keys
    statement(Action="*", Resource=f"arn:aws:s3:::{BUCKET}"),
    statement(Action="s3:ListBucket", Resource=f"arn:aws:s3:::{BUCKET}",
              Condition={"StringLike": {"s3:prefix": "home/${aws:username}/*"}}),
    statement(Action=None, NotAction="s3:DeleteObject", Resource=f"arn:aws:s3:::{BUCKET}"),  # NotAction: no kind check
    statement(Effect="Deny", Principal=None, NotPrincipal={"AWS": "222222222222"}),
]  # fmt: skip


@pytest.mark.parametrize("given", ACCEPTED)
def test_policies_s3_accepts(given: dict[str, Any]) -> None:
    document = text(given)
    policy = check(document, BUCKET)
    assert policy.text == document and len(policy.statements) == 1


REFUSED = [
    ("", "Policies must be valid JSON and the first byte must be '{'"),
    ("null", "Policies must be valid JSON and the first byte must be '{'"),
    ("{", "This policy contains invalid Json"),
    ('{"Statement": [' + "[" * 100_000 + "]" * 100_000 + "]}", "This policy contains invalid Json"),
    (json.dumps({"Statement": []}), "Could not parse the policy: Statement is empty!"),
    (json.dumps({"Version": "2012-10-17"}), "Missing required field Statement"),
    (json.dumps({"Version": 2012, "Statement": [statement()]}), "The policy must contain a valid version string"),
    (text(statement(Principal="someone")), "Invalid principal in policy"),
    (text(statement(Principal={"AWS": "arn:aws:iam::2222:root"})), "Invalid principal in policy"),
    (text(statement(Principal={"AWS": []})), "Invalid principal in policy"),
    (text(statement(Principal={"AWS": {"nested": "x"}})), "Invalid principal in policy"),
    (text(statement(Principal={"Service": "not a service"})), "Invalid principal in policy"),
    (text(statement(Action="lambda:InvokeFunction")), "Policy has invalid action"),
    (text(statement(Action="s3")), "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
    (text(statement(Action="s3:Nothing*")), "Policy has invalid action"),
    (text(statement(Resource="*")), "Policy has invalid resource"),
    (text(statement(Resource="arn:aws:s3:::")), "Policy has invalid resource"),
    (text(statement(Resource="arn:aws:s3:::other/*")), "Policy has invalid resource"),
    (text(statement(Resource=f"arn:aws:s3:::{BUCKET}x/*")), "Policy has invalid resource"),
    (text(statement(Resource=f"arn:aws:s3:::{BUCKET}")), "Action does not apply to any resource(s) in statement"),
    (text(statement(Action="s3:ListBucket")), "Action does not apply to any resource(s) in statement"),
    (text(statement(Condition={"StringEquals": {"ec2:Vpc": "v"}})), "Policy has an invalid condition key"),
    (text(statement(Condition={"StringEqualz": {"aws:userid": "v"}})),
     "Syntax errors in policy. Invalid Condition type : StringEqualz"),
    (text(statement(Principal=None)), "Missing required field Principal"),
    (text(statement(Resource=None)), "Missing required field Resource"),
    (text(statement(Sid="a"), statement(Sid="a")), "Statement IDs (SID) in a single policy must be unique."),
    (text(statement(Extra=1)), "Syntax errors in policy. Unknown field Extra"),
    (text(statement(Resource=[f"arn:aws:s3:::{BUCKET}/{i:05d}" for i in range(MAX_POLICY_BYTES // 20)])),
     "Policy exceeds the maximum allowed document size."),
]  # fmt: skip


@pytest.mark.parametrize(("document", "message"), REFUSED, ids=[m + f"-{i}" for i, (_, m) in enumerate(REFUSED)])
def test_policies_s3_refuses_with_its_messages(document: str, message: str) -> None:
    assert refusal(document) == message


def test_the_limit_counts_no_insignificant_whitespace() -> None:
    padded = text(statement()).replace(",", "," + " " * MAX_POLICY_BYTES)
    assert check(padded, BUCKET).text == padded


PUBLIC = [
    (statement(Principal="*"), True),
    (statement(Principal={"AWS": "*"}), True),
    (statement(Principal={"AWS": ["222222222222", "*"]}), True),
    (statement(Effect="Deny", Principal="*"), False),
    (statement(), False),
    (statement(Principal="*", Condition={"StringEquals": {"aws:SourceAccount": "222222222222"}}), False),
    (statement(Principal="*", Condition={"StringEquals": {"aws:PrincipalAccount": "222222222222"}}), False),
    (statement(Principal="*", Condition={"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*"}}), True),
    (statement(Principal="*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), False),
    (statement(Principal="*", Condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}), True),
    (statement(Principal="*", Condition={"StringNotEquals": {"aws:SourceAccount": "222222222222"}}), True),
    (statement(Principal="*", Condition={"Bool": {"aws:SecureTransport": "true"}}), True),
]  # fmt: skip


@pytest.mark.parametrize(("given", "public"), PUBLIC)
def test_a_policy_is_public_when_an_allow_for_everyone_is_not_confined(given: dict[str, Any], public: bool) -> None:
    assert is_public(check(text(given), BUCKET)) is public
