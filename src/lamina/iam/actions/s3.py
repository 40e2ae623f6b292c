"""S3's operations (named as objects/operations.py names them) as IAM actions and resources (pure):
objects are ``arn:aws:s3:::<bucket>/<key>``, buckets ``arn:aws:s3:::<bucket>``. Several operations
are authorized by another's action, as the Service Authorization Reference lists them."""

from __future__ import annotations

from typing import Mapping

from lamina.iam.actions.operation import BucketRef, Operation, Wire

_ACTIONS = {
    "ListBuckets": "ListAllMyBuckets", "HeadBucket": "ListBucket", "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket", "ListObjectVersions": "ListBucketVersions", "HeadObject": "GetObject",
    "CreateMultipartUpload": "PutObject", "UploadPart": "PutObject", "UploadPartCopy": "PutObject",
    "CompleteMultipartUpload": "PutObject", "CopyObject": "PutObject", "DeleteObjects": "DeleteObject",
    "ListParts": "ListMultipartUploadParts", "ListMultipartUploads": "ListBucketMultipartUploads",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "PutBucketNotificationConfiguration": "PutBucketNotification",
    "GetBucketTagging": "GetBucketTagging", "PutBucketTagging": "PutBucketTagging",
    "DeleteBucketTagging": "PutBucketTagging", "DeleteObjectTagging": "DeleteObjectTagging",
    "GetBucketCors": "GetBucketCORS", "PutBucketCors": "PutBucketCORS", "DeleteBucketCors": "PutBucketCORS",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "DeleteBucketPolicy": "DeleteBucketPolicy", "GetBucketAcl": "GetBucketAcl", "GetObjectAcl": "GetObjectAcl",
}  # fmt: skip
_BUCKET_LEVEL = {"DeleteObjects"}  # acts on keys named in its body: authorized on the bucket's objects


# S3's condition keys of the listing operations, from their query parameters.
_LISTING_KEYS = {"prefix": "s3:prefix", "delimiter": "s3:delimiter", "max-keys": "s3:max-keys"}
_LISTINGS = {"ListObjects", "ListObjectsV2", "ListObjectVersions"}


def operation(name: str, bucket: str | None, key: str | None, owner: str | None = None,
              query: Mapping[str, str] = {}, context: Mapping[str, str] = {}) -> Operation:  # fmt: skip
    """``owner``: the account of the bucket (its policy is consulted; None: no bucket has that name);
    ``query``: the request's query parameters (the listings' condition keys); ``context``: the
    request's own condition keys (``aws:SecureTransport``, ``aws:SourceIp``)."""
    action = "s3:" + _ACTIONS.get(name, name)
    if bucket is None:
        return Operation(action, ("*",), Wire.S3, context)
    keys = dict(context)
    if name in _LISTINGS:
        keys.update({k: query[p] for p, k in _LISTING_KEYS.items() if p in query})
    # CreateBucket's bucket is to be the caller's: whoever holds the name now, S3 answers it so.
    ref = BucketRef(bucket, owner) if owner is not None and name != "CreateBucket" else None
    if name in _BUCKET_LEVEL:
        return Operation(action, (f"arn:aws:s3:::{bucket}/*",), Wire.S3, keys, bucket=ref)
    resource = f"arn:aws:s3:::{bucket}/{key}" if key is not None else f"arn:aws:s3:::{bucket}"
    return Operation(action, (resource,), Wire.S3, keys, bucket=ref)
