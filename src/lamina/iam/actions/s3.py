"""S3's operations (named as objects/operations.py names them) as IAM actions and resources (pure):
objects are ``arn:aws:s3:::<bucket>/<key>``, buckets ``arn:aws:s3:::<bucket>``. Several operations
are authorized by another's action, as the Service Authorization Reference lists them."""

from __future__ import annotations

from lamina.iam.actions.operation import Operation, Wire

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


def operation(name: str, bucket: str | None, key: str | None) -> Operation:
    action = "s3:" + _ACTIONS.get(name, name)
    if bucket is None:
        return Operation(action, ("*",), Wire.S3)
    if name in _BUCKET_LEVEL:
        return Operation(action, (f"arn:aws:s3:::{bucket}/*",), Wire.S3)
    resource = f"arn:aws:s3:::{bucket}/{key}" if key is not None else f"arn:aws:s3:::{bucket}"
    return Operation(action, (resource,), Wire.S3)
