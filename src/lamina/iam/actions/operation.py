"""An operation as IAM sees it: the action, the resources, and how its service answers a refusal."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Mapping


class Wire(enum.Enum):
    """How a service words its errors (api/authorization.py renders AccessDenied in each)."""

    REST_JSON = "rest-json"  # Lambda, Scheduler, IoT, API Gateway: X-Amzn-ErrorType and a JSON body
    JSON = "json"  # EventBridge (json-1.1), SQS (json-1.0): {"__type": ...}
    QUERY = "query"  # IAM, STS, CloudWatch: <ErrorResponse>
    CBOR = "rpc-v2-cbor"  # CloudWatch: a CBOR map with __type
    S3 = "s3"  # <Error><Code>AccessDenied</Code>


@dataclass(frozen=True)
class FunctionRef:
    """The Lambda function (and qualifier) whose resource-based policy applies to an operation."""

    name: str
    qualifier: str | None = None


@dataclass(frozen=True)
class QueueRef:
    """The SQS queue (its ARN) whose ``Policy`` attribute applies to an operation."""

    arn: str


@dataclass(frozen=True)
class LayerRef:
    """The Lambda layer version (its ARN) whose layer version policy applies to an operation."""

    arn: str


@dataclass(frozen=True)
class BucketRef:
    """The S3 bucket whose bucket policy applies to an operation, and the account that owns it."""

    name: str
    account: str


ResourceRef = FunctionRef | QueueRef | LayerRef | BucketRef


@dataclass(frozen=True)
class Operation:
    action: str  # e.g. lambda:GetFunction
    resources: tuple[str, ...]  # every one must be allowed ("*" for operations on no resource)
    wire: Wire
    context: Mapping[str, str] = field(default_factory=dict)  # the operation's own condition keys
    function: FunctionRef | LayerRef | None = None  # whose resource policy to consult (Lambda's operations on
    # a function, or on a layer version)
    also: tuple[Operation, ...] = ()  # what the request needs besides (iam:PassRole for a function's role)
    queue: QueueRef | None = None  # whose policy to consult (SQS's operations on a queue)
    bucket: BucketRef | None = None  # whose policy to consult (S3's operations on a bucket or its objects)

    def all(self) -> tuple[Operation, ...]:
        return (self, *self.also)

    @property
    def service(self) -> str:
        return self.action.partition(":")[0]

    def account_of(self, resource: str, default: str) -> str:
        """The account that owns ``resource``: the bucket's for S3 (its ARNs name none), else the ARN's."""
        return self.bucket.account if self.bucket is not None else resource_account(resource, default)


def resource_account(resource: str, default: str) -> str:
    """The account an ARN names (its fifth part); ``default`` for ``*``, ARNs without one (S3's) and
    AWS's own (``arn:aws:iam::aws:policy/...``: AWS managed policies, readable by every account)."""
    parts = resource.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[4] and parts[4] != "aws" else default
