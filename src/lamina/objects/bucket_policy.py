"""Bucket policies: a document checked as S3 checks PutBucketPolicy's, and whether it is public (pure).

A bucket policy is an IAM resource policy (``iam/policy.py`` parses it, ``iam/evaluate.py`` decides
with it) with S3's own constraints, each refused with ``MalformedPolicy`` and S3's message:

- at most 20 KB once its insignificant whitespace is gone ("Policy exceeds the maximum allowed
  document size."), JSON whose first byte is ``{`` ("Policies must be valid JSON and the first byte
  must be '{'"), that parses ("This policy contains invalid Json");
- a ``Version`` IAM knows, a non-empty ``Statement``;
- principals S3 knows: ``*``, ``{"AWS": ...}`` (``*``, an account id, an IAM or STS ARN),
  ``{"Service": ...}``, ``{"CanonicalUser": ...}`` ("Invalid principal in policy");
- actions that are S3's ("Policy has invalid action"), each of which can apply to one of the
  statement's resources ("Action does not apply to any resource(s) in statement");
- resources in the policy's own bucket: ``arn:aws:s3:::<bucket>`` or ``arn:aws:s3:::<bucket>/<key>``,
  wildcards allowed where they can match it ("Policy has invalid resource");
- condition keys of AWS's (``aws:``) or S3's (``s3:``) ("Policy has an invalid condition key").

What IAM's parser refuses besides keeps IAM's message. ``is_public`` is GetBucketPolicyStatus's
``IsPublic``: an ``Allow`` for everyone that no condition confines to fixed values.
"""

from __future__ import annotations

import json
import re

from lamina.iam.conditions import like
from lamina.iam.errors import MalformedPolicyDocument
from lamina.iam.policy import Effect, Policy, PolicyKind, Statement, parse
from lamina.objects.errors import MalformedPolicy

MAX_POLICY_BYTES = 20 * 1024  # S3's limit, measured without insignificant whitespace
MAX_BODY_BYTES = 1024 * 1024  # what PutBucketPolicy reads at most (whitespace included)
TOO_LARGE = "Policy exceeds the maximum allowed document size."

# Actions on a bucket and actions on its objects, as the Service Authorization Reference lists them.
BUCKET_ACTIONS = frozenset({
    "CreateBucket", "DeleteBucket", "DeleteBucketPolicy", "DeleteBucketWebsite", "GetAccelerateConfiguration",
    "GetAnalyticsConfiguration", "GetBucketAcl", "GetBucketCORS", "GetBucketLocation", "GetBucketLogging",
    "GetBucketNotification", "GetBucketObjectLockConfiguration", "GetBucketOwnershipControls", "GetBucketPolicy",
    "GetBucketPolicyStatus", "GetBucketPublicAccessBlock", "GetBucketRequestPayment", "GetBucketTagging",
    "GetBucketVersioning", "GetBucketWebsite", "GetEncryptionConfiguration", "GetIntelligentTieringConfiguration",
    "GetInventoryConfiguration", "GetLifecycleConfiguration", "GetMetricsConfiguration", "GetReplicationConfiguration",
    "ListBucket", "ListBucketMultipartUploads", "ListBucketVersions", "PutAccelerateConfiguration",
    "PutAnalyticsConfiguration", "PutBucketAcl", "PutBucketCORS", "PutBucketLogging", "PutBucketNotification",
    "PutBucketObjectLockConfiguration", "PutBucketOwnershipControls", "PutBucketPolicy", "PutBucketPublicAccessBlock",
    "PutBucketRequestPayment", "PutBucketTagging", "PutBucketVersioning", "PutBucketWebsite",
    "PutEncryptionConfiguration", "PutIntelligentTieringConfiguration", "PutInventoryConfiguration",
    "PutLifecycleConfiguration", "PutMetricsConfiguration", "PutReplicationConfiguration",
})  # fmt: skip
OBJECT_ACTIONS = frozenset({
    "AbortMultipartUpload", "BypassGovernanceRetention", "DeleteObject", "DeleteObjectTagging", "DeleteObjectVersion",
    "DeleteObjectVersionTagging", "GetObject", "GetObjectAcl", "GetObjectAttributes", "GetObjectLegalHold",
    "GetObjectRetention", "GetObjectTagging", "GetObjectTorrent", "GetObjectVersion", "GetObjectVersionAcl",
    "GetObjectVersionAttributes", "GetObjectVersionTagging", "GetObjectVersionTorrent", "ListMultipartUploadParts",
    "PutObject", "PutObjectAcl", "PutObjectLegalHold", "PutObjectRetention", "PutObjectTagging", "PutObjectVersionAcl",
    "PutObjectVersionTagging", "ReplicateDelete", "ReplicateObject", "ReplicateTags", "RestoreObject",
})  # fmt: skip
_ACCOUNT = re.compile(r"\d{12}")
_IAM_ARN = re.compile(r"arn:aws:(?:iam::\d{12}:(?:root|user/.+|role/.+)|sts::\d{12}:assumed-role/.+/.+)")
_CANONICAL = re.compile(r"[0-9a-f]{64}")
_SERVICE = re.compile(r"[a-z0-9.-]+\.amazonaws\.com(?:\.cn)?")
_S3_ARN = "arn:aws:s3:::"
# Condition keys that confine a statement to known callers when their values are fixed (not public).
_CONFINING = frozenset({
    "aws:sourcearn", "aws:sourceaccount", "aws:sourceowner", "aws:sourcevpc", "aws:sourcevpce", "aws:principalarn",
    "aws:principalaccount", "aws:principalorgid", "aws:userid", "aws:sourceip", "aws:principalorgpaths",
})  # fmt: skip
_CONFINING_OPERATORS = frozenset({"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike",
                                  "IpAddress"})  # fmt: skip


def check(text: str, bucket: str) -> Policy:
    """``text`` (PutBucketPolicy's body) as a ``Policy`` for ``bucket``, or ``MalformedPolicy``."""
    if not text.lstrip().startswith("{"):
        raise MalformedPolicy("Policies must be valid JSON and the first byte must be '{'")
    try:
        decoded = json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedPolicy("This policy contains invalid Json") from None
    if not isinstance(decoded, dict):
        raise MalformedPolicy("This policy contains invalid Json")
    if len(json.dumps(decoded, separators=(",", ":"), ensure_ascii=False).encode()) > MAX_POLICY_BYTES:
        raise MalformedPolicy(TOO_LARGE)
    if "Version" in decoded and decoded["Version"] not in ("2012-10-17", "2008-10-17"):
        raise MalformedPolicy("The policy must contain a valid version string")
    raw = decoded.get("Statement")
    if raw is None:
        raise MalformedPolicy("Missing required field Statement")
    if raw == [] or raw == {}:
        raise MalformedPolicy("Could not parse the policy: Statement is empty!")
    for item in raw if isinstance(raw, list) else [raw]:
        if isinstance(item, dict):
            for field in ("Principal", "NotPrincipal"):
                if field in item:
                    _check_principal(item[field])
    try:
        policy = parse(decoded, PolicyKind.RESOURCE)
    except MalformedPolicyDocument as exc:
        raise MalformedPolicy(exc.message) from None
    for statement in policy.statements:
        _check_statement(statement, bucket)
    return Policy(policy.statements, policy.version, policy.id, text)


def _check_principal(value: object) -> None:
    if value == "*":
        return
    if not isinstance(value, dict) or not value:
        raise MalformedPolicy("Invalid principal in policy")
    for kind, given in value.items():
        values = given if isinstance(given, list) else [given]
        if not values or not all(isinstance(v, str) for v in values):
            raise MalformedPolicy("Invalid principal in policy")
        for v in values:
            if kind == "AWS" and (v == "*" or _ACCOUNT.fullmatch(v) or _IAM_ARN.fullmatch(v)):
                continue
            if kind == "Service" and _SERVICE.fullmatch(v):
                continue
            if kind == "CanonicalUser" and _CANONICAL.fullmatch(v):
                continue
            raise MalformedPolicy("Invalid principal in policy")


def _kinds(pattern: str) -> set[str] | None:
    """Which kinds of resource (``bucket``, ``object``) the actions ``pattern`` names act on; None
    if it names no action of S3's."""
    if pattern == "*":
        return {"bucket", "object"}
    service, _, name = pattern.partition(":")
    if service.lower() != "s3" or not name:
        return None
    kinds = set()
    if any(like(name, a, ignore_case=True) for a in BUCKET_ACTIONS):
        kinds.add("bucket")
    if any(like(name, a, ignore_case=True) for a in OBJECT_ACTIONS):
        kinds.add("object")
    return kinds or None


def _resource_kind(resource: str, bucket: str) -> str | None:
    """``bucket`` or ``object`` for a resource pattern that can name ``bucket`` or its objects;
    None otherwise."""
    if not resource.startswith(_S3_ARN):
        return None
    name, slash, _ = resource[len(_S3_ARN):].partition("/")
    if not name:
        return None
    if not like(name, bucket):
        return None
    return "object" if slash else "bucket"


def _check_statement(statement: Statement, bucket: str) -> None:
    action_kinds: set[str] = set()
    for pattern in statement.actions:
        kinds = _kinds(pattern)
        if kinds is None:
            raise MalformedPolicy("Policy has invalid action")
        action_kinds |= kinds
    resource_kinds: set[str] = set()
    for resource in statement.resources:
        kind = _resource_kind(resource, bucket)
        if kind is None:
            raise MalformedPolicy("Policy has invalid resource")
        resource_kinds.add(kind)
        if kind == "bucket" and "*" in resource:  # ``arn:aws:s3:::my*`` runs on into the keys too
            resource_kinds.add("object")
    for condition in statement.conditions:
        if not condition.key.lower().startswith(("aws:", "s3:")):
            raise MalformedPolicy("Policy has an invalid condition key")
    if not statement.not_action and not statement.not_resource and not action_kinds & resource_kinds:
        raise MalformedPolicy("Action does not apply to any resource(s) in statement")


def is_public(policy: Policy) -> bool:
    """GetBucketPolicyStatus's ``IsPublic``: some ``Allow`` names everyone (``*``, ``{"AWS": "*"}``,
    or a ``NotPrincipal``) and no condition confines it to fixed callers or sources."""
    for statement in policy.statements:
        if statement.effect is not Effect.ALLOW or statement.principals is None:
            continue
        everyone = statement.not_principal or statement.principals.anyone or "*" in statement.principals.aws
        if everyone and not any(_confines(c.operator, c.key, c.values) for c in statement.conditions):
            return True
    return False


def _confines(operator: str, key: str, values: tuple[str, ...]) -> bool:
    if ":" in operator:
        return False  # ForAnyValue / ForAllValues: a set of values, not one fixed caller
    if operator not in _CONFINING_OPERATORS or key.lower() not in _CONFINING:
        return False
    if key.lower() == "aws:sourceip":
        return all(not v.endswith("/0") for v in values)
    return all("*" not in v and "?" not in v for v in values)
