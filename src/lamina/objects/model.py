"""The object store's values: buckets, objects, multipart uploads and parts, and their stored
documents (``ObjectRecord``s: kind, bucket, key, JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, cast

from lamina.store.base import ObjectRecord

# The content headers S3 keeps with an object and returns as they were sent (Content-Type apart).
CONTENT_HEADERS = ("Content-Encoding", "Content-Disposition", "Content-Language", "Cache-Control", "Expires")


def _strs(value: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in cast(Mapping[str, object], value or {}).items()}


@dataclass(frozen=True)
class Bucket:
    name: str
    region: str
    owner: str  # the account id
    created_ms: int
    tags: Mapping[str, str] | None = None  # None: no tag set (NoSuchTagSet)
    policy: str | None = None  # the bucket policy as PutBucketPolicy gave it (None: NoSuchBucketPolicy)

    def record(self) -> ObjectRecord:
        doc = {"region": self.region, "owner": self.owner, "created_ms": self.created_ms, "tags": self.tags,
               "policy": self.policy}  # fmt: skip
        return ObjectRecord("bucket", self.name, "", doc)

    @classmethod
    def from_record(cls, r: ObjectRecord) -> Bucket:
        d = r.doc
        tags, policy = d.get("tags"), d.get("policy")
        return cls(r.bucket, str(d["region"]), str(d["owner"]), cast(int, d["created_ms"]),
                   _strs(tags) if tags is not None else None, str(policy) if policy is not None else None)  # fmt: skip


@dataclass(frozen=True)
class Attributes:
    """What an object carries beside its body, as sent with it (or with its multipart upload)."""

    content_type: str = "binary/octet-stream"
    headers: Mapping[str, str] = field(default_factory=dict)  # of CONTENT_HEADERS
    metadata: Mapping[str, str] = field(default_factory=dict)  # x-amz-meta-*, names lower-cased, without the prefix
    tags: Mapping[str, str] = field(default_factory=dict)
    checksum_algorithm: str | None = None
    full_object_checksum: bool = False  # a multipart upload's: FULL_OBJECT rather than COMPOSITE

    def doc(self) -> dict[str, object]:
        return {"content_type": self.content_type, "headers": dict(self.headers), "metadata": dict(self.metadata),
                "tags": dict(self.tags), "checksum_algorithm": self.checksum_algorithm,
                "full_object_checksum": self.full_object_checksum}  # fmt: skip

    @classmethod
    def from_doc(cls, d: Mapping[str, object]) -> Attributes:
        algorithm = d.get("checksum_algorithm")
        return cls(str(d["content_type"]), _strs(d.get("headers")), _strs(d.get("metadata")), _strs(d.get("tags")),
                   str(algorithm) if algorithm is not None else None, bool(d.get("full_object_checksum")))  # fmt: skip


@dataclass(frozen=True)
class StoredObject:
    bucket: str
    key: str
    file: str  # the body's file name (objects/files.py)
    size: int
    etag: str  # without quotes
    modified_ms: int
    attributes: Attributes
    sequencer: str
    parts: int = 0  # a multipart object's number of parts (0: put whole)
    checksum: str | None = None  # the attributes' algorithm's value, base64 (a multipart object's: of its parts)
    part_sizes: tuple[int, ...] = ()  # a multipart object's parts' sizes, in order (GetObject's partNumber)

    @property
    def checksum_type(self) -> str:
        return "COMPOSITE" if self.parts and not self.attributes.full_object_checksum else "FULL_OBJECT"

    def record(self) -> ObjectRecord:
        doc = {"file": self.file, "size": self.size, "etag": self.etag, "modified_ms": self.modified_ms,
               "attributes": self.attributes.doc(), "sequencer": self.sequencer, "parts": self.parts,
               "checksum": self.checksum, "part_sizes": list(self.part_sizes)}  # fmt: skip
        return ObjectRecord("object", self.bucket, self.key, doc)

    @classmethod
    def from_record(cls, r: ObjectRecord) -> StoredObject:
        d = r.doc
        checksum = d.get("checksum")
        return cls(r.bucket, r.key, str(d["file"]), cast(int, d["size"]), str(d["etag"]), cast(int, d["modified_ms"]),
                   Attributes.from_doc(cast(Mapping[str, object], d["attributes"])), str(d["sequencer"]),
                   cast(int, d.get("parts", 0)), str(checksum) if checksum is not None else None,
                   tuple(cast(list[int], d.get("part_sizes") or [])))  # fmt: skip


@dataclass(frozen=True)
class Upload:
    bucket: str
    key: str
    upload_id: str
    initiated_ms: int
    attributes: Attributes

    def record(self) -> ObjectRecord:
        doc = {"key": self.key, "initiated_ms": self.initiated_ms, "attributes": self.attributes.doc()}
        return ObjectRecord("upload", self.bucket, self.upload_id, doc)

    @classmethod
    def from_record(cls, r: ObjectRecord) -> Upload:
        d = r.doc
        return cls(r.bucket, str(d["key"]), r.key, cast(int, d["initiated_ms"]),
                   Attributes.from_doc(cast(Mapping[str, object], d["attributes"])))  # fmt: skip


@dataclass(frozen=True)
class Part:
    bucket: str
    upload_id: str
    number: int
    file: str
    size: int
    etag: str
    modified_ms: int
    checksum: str | None = None

    def record(self) -> ObjectRecord:
        doc = {"file": self.file, "size": self.size, "etag": self.etag, "modified_ms": self.modified_ms,
               "checksum": self.checksum}  # fmt: skip
        return ObjectRecord("part", self.bucket, part_key(self.upload_id, self.number), doc)

    @classmethod
    def from_record(cls, r: ObjectRecord) -> Part:
        d = r.doc
        upload_id, _, number = r.key.rpartition("/")
        checksum = d.get("checksum")
        return cls(r.bucket, upload_id, int(number), str(d["file"]), cast(int, d["size"]), str(d["etag"]),
                   cast(int, d["modified_ms"]), str(checksum) if checksum is not None else None)  # fmt: skip


def part_key(upload_id: str, number: int) -> str:
    return f"{upload_id}/{number:05d}"
