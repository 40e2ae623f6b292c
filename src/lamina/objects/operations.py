"""Which S3 operation a request is (pure): its method, whether it names a bucket and a key, and
its subresources (query parameters such as ``?tagging`` or ``?uploadId``) and copy header.

The names are botocore's. An operation Lamina does not serve still gets its name, so that S3's
``NotImplemented`` can say which one it is; ``None`` is a method S3 does not allow there.
"""

from __future__ import annotations

from typing import Container

from lamina.objects.routing import Target

# Bucket subresources whose operations are named Get/Put/DeleteBucket<suffix>.
_BUCKET_CONFIG = {
    "acl": "Acl", "notification": "NotificationConfiguration", "versioning": "Versioning", "policy": "Policy",
    "cors": "Cors", "lifecycle": "LifecycleConfiguration", "website": "Website", "encryption": "Encryption",
    "logging": "Logging", "replication": "Replication", "ownershipControls": "OwnershipControls",
    "publicAccessBlock": "PublicAccessBlock", "accelerate": "AccelerateConfiguration",
    "requestPayment": "RequestPayment", "object-lock": "ObjectLockConfiguration", "policyStatus": "PolicyStatus",
    "analytics": "AnalyticsConfiguration", "inventory": "InventoryConfiguration", "metrics": "MetricsConfiguration",
    "intelligent-tiering": "IntelligentTieringConfiguration", "metadataTable": "MetadataTableConfiguration",
}  # fmt: skip
_OBJECT_CONFIG = {"acl": "Acl", "retention": "Retention", "legal-hold": "LegalHold", "torrent": "Torrent",
                  "attributes": "Attributes"}  # fmt: skip
_VERBS = {"GET": "Get", "PUT": "Put", "DELETE": "Delete", "HEAD": "Head"}

def operation(method: str, target: Target, query: Container[str], copy: bool) -> str | None:
    if target.bucket is None:
        return "ListBuckets" if method == "GET" else None
    if target.key is None:
        return _bucket(method, query)
    return _object(method, query, copy)


def _bucket(method: str, query: Container[str]) -> str | None:
    for sub, suffix in _BUCKET_CONFIG.items():
        if sub in query:
            verb = _VERBS.get(method)
            return f"{verb}Bucket{suffix}" if verb and method != "HEAD" else None
    if "tagging" in query:
        return {"GET": "GetBucketTagging", "PUT": "PutBucketTagging", "DELETE": "DeleteBucketTagging"}.get(method)
    if method == "POST":
        return "DeleteObjects" if "delete" in query else None
    if method == "GET":
        if "location" in query:
            return "GetBucketLocation"
        if "uploads" in query:
            return "ListMultipartUploads"
        if "versions" in query:
            return "ListObjectVersions"
        return "ListObjectsV2" if "list-type" in query else "ListObjects"
    return {"PUT": "CreateBucket", "DELETE": "DeleteBucket", "HEAD": "HeadBucket"}.get(method)


def _object(method: str, query: Container[str], copy: bool) -> str | None:
    for sub, suffix in _OBJECT_CONFIG.items():
        if sub in query:
            verb = _VERBS.get(method)
            return f"{verb}Object{suffix}" if verb and method in ("GET", "PUT") else None
    if "tagging" in query:
        return {"GET": "GetObjectTagging", "PUT": "PutObjectTagging", "DELETE": "DeleteObjectTagging"}.get(method)
    if method == "POST":
        if "uploads" in query:
            return "CreateMultipartUpload"
        if "uploadId" in query:
            return "CompleteMultipartUpload"
        if "restore" in query:
            return "RestoreObject"
        if "select" in query:
            return "SelectObjectContent"
        return None
    if method == "PUT":
        if "uploadId" in query or "partNumber" in query:
            return "UploadPartCopy" if copy else "UploadPart"
        return "CopyObject" if copy else "PutObject"
    if method == "GET":
        return "ListParts" if "uploadId" in query else "GetObject"
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
    if method == "HEAD":
        return "HeadObject"
    return None
