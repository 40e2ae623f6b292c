"""The embedded S3 through the unchanged boto3 ``s3`` client: buckets, objects, listings, copies,
tags, conditional and range reads, multipart uploads."""

from __future__ import annotations

import base64
import hashlib
import io
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess
from tests.objects import bucket_name, s3_client

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def s3(lamina: LaminaProcess) -> Any:
    return s3_client(lamina.endpoint)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    return name


def code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_buckets_are_created_listed_located_and_deleted(s3: Any) -> None:
    name, eu = bucket_name(), bucket_name()
    s3.create_bucket(Bucket=name)
    s3.create_bucket(Bucket=eu, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.create_bucket(Bucket=name)  # one's own bucket again in us-east-1: S3's legacy 200 OK
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket=eu, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert code(exc) == ("BucketAlreadyOwnedByYou", 409)
    assert {name, eu} <= {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    assert s3.get_bucket_location(Bucket=eu)["LocationConstraint"] == "eu-west-1"
    assert s3.head_bucket(Bucket=eu)["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "eu-west-1"
    assert "Status" not in s3.get_bucket_versioning(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket=name)
    assert code(exc) == ("BucketNotEmpty", 409)
    s3.delete_object(Bucket=name, Key="k")
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as exc:
        s3.head_bucket(Bucket=name)
    assert code(exc)[1] == 404
    with pytest.raises(ClientError) as exc:
        s3.list_objects_v2(Bucket=name)
    assert code(exc) == ("NoSuchBucket", 404)
    for bad in ("ab", "Upper-case", "a..b", "192.168.1.1", "-leading", "xn--punycode"):
        with pytest.raises(ClientError) as exc:
            s3.create_bucket(Bucket=bad)
        assert code(exc) == ("InvalidBucketName", 400), bad


def test_objects_keep_their_metadata_and_content_headers(s3: Any, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="docs/a.txt", Body=b"hello world", ContentType="text/plain",
                        Metadata={"Owner": "me"}, CacheControl="max-age=60", ContentDisposition="inline",
                        ContentLanguage="en", ContentEncoding="identity",
                        Expires=datetime(2030, 1, 1, tzinfo=timezone.utc))  # fmt: skip
    assert put["ETag"] == f'"{hashlib.md5(b"hello world").hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="docs/a.txt")
    assert got["Body"].read() == b"hello world"
    assert got["ETag"] == put["ETag"]
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"owner": "me"}
    assert (got["CacheControl"], got["ContentDisposition"], got["ContentLanguage"]) == ("max-age=60", "inline", "en")
    assert got["ContentEncoding"] == "identity"
    assert got["ContentLength"] == 11
    head = s3.head_object(Bucket=bucket, Key="docs/a.txt")
    assert head["ContentLength"] == 11 and head["Metadata"] == {"owner": "me"}
    assert abs(head["LastModified"] - datetime.now(timezone.utc)) < timedelta(minutes=5)
    s3.delete_object(Bucket=bucket, Key="docs/a.txt")
    s3.delete_object(Bucket=bucket, Key="docs/a.txt")  # absent: 204 all the same
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="docs/a.txt")
    assert code(exc) == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="docs/a.txt")
    assert code(exc)[1] == 404


def test_keys_of_any_shape_round_trip(s3: Any, bucket: str) -> None:
    keys = ["a/../b", "../../etc/passwd", "/leading", "sp ace+plus%25", "ünï/cødé/🙂", "a//b", "x?y=z#f", "tab\there"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    for key in keys:
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == sorted(keys, key=lambda k: k.encode())
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"x")
    assert code(exc) == ("KeyTooLongError", 400)
    s3.put_object(Bucket=bucket, Key="k" * 1024, Body=b"x")


def test_ranges_and_conditions(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="r", Body=b"0123456789")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=2-4")["Body"].read() == b"234"
    ranged = s3.get_object(Bucket=bucket, Key="r", Range="bytes=7-")
    assert ranged["Body"].read() == b"789" and ranged["ContentRange"] == "bytes 7-9/10"
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=-3")["Body"].read() == b"789"
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=5-100")["Body"].read() == b"56789"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="r", Range="bytes=10-20")
    assert code(exc) == ("InvalidRange", 416)
    assert s3.get_object(Bucket=bucket, Key="r", IfMatch=etag)["Body"].read() == b"0123456789"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="r", IfMatch='"nope"')
    assert code(exc) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="r", IfNoneMatch=etag)
    assert code(exc)[1] == 304
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    earlier = datetime.now(timezone.utc) - timedelta(hours=1)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="r", IfModifiedSince=later)
    assert code(exc)[1] == 304
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="r", IfUnmodifiedSince=earlier)
    assert code(exc) == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=bucket, Key="r", IfModifiedSince=earlier, IfUnmodifiedSince=later)["ContentLength"] == 10


def test_listings_page_and_group_as_s3_does(s3: Any, bucket: str) -> None:
    keys = ["a/1", "a/2", "b/1", "b/c/1", "c", "d/1", "é/1"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "b/", "d/", "é/"]
    assert [o["Key"] for o in top["Contents"]] == ["c"] and top["KeyCount"] == 5
    under = s3.list_objects_v2(Bucket=bucket, Prefix="b/", Delimiter="/")
    assert [o["Key"] for o in under["Contents"]] == ["b/1"] and under["CommonPrefixes"] == [{"Prefix": "b/c/"}]
    seen, token = [], None
    while True:
        page = s3.list_objects_v2(Bucket=bucket, MaxKeys=2, **({"ContinuationToken": token} if token else {}))
        seen += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == keys
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, StartAfter="b/c/1")["Contents"]] == ["c", "d/1", "é/1"]
    paginated = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 1})
    prefixes = [p["Prefix"] for page in paginated for p in page.get("CommonPrefixes", [])]
    assert prefixes == ["a/", "b/", "d/", "é/"]
    v1 = s3.list_objects(Bucket=bucket, MaxKeys=3, Delimiter="/")
    assert v1["IsTruncated"] and v1["NextMarker"] == "c"
    rest = s3.list_objects(Bucket=bucket, Marker=v1["NextMarker"], Delimiter="/")
    assert [p["Prefix"] for p in rest["CommonPrefixes"]] == ["d/", "é/"] and not rest["IsTruncated"]
    v1_all = s3.get_paginator("list_objects").paginate(Bucket=bucket, PaginationConfig={"PageSize": 3})
    assert [o["Key"] for page in v1_all for o in page["Contents"]] == keys
    assert s3.list_objects_v2(Bucket=bucket, Prefix="zzz")["KeyCount"] == 0
    versions = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, PaginationConfig={"PageSize": 3})
    listed = [(v["Key"], v["VersionId"], v["IsLatest"]) for page in versions for v in page["Versions"]]
    assert listed == [(k, "null", True) for k in keys]


def test_copies_keep_or_replace_metadata(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"payload", ContentType="text/x-src", Metadata={"m": "1"},
                  Tagging="t=1")  # fmt: skip
    copied = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"payload").hexdigest()}"'
    dst = s3.get_object(Bucket=bucket, Key="dst")
    assert (dst["Body"].read(), dst["ContentType"], dst["Metadata"]) == (b"payload", "text/x-src", {"m": "1"})
    assert s3.get_object_tagging(Bucket=bucket, Key="dst")["TagSet"] == [{"Key": "t", "Value": "1"}]
    s3.copy_object(Bucket=bucket, Key="dst2", CopySource=f"{bucket}/src", MetadataDirective="REPLACE",
                   ContentType="text/plain", Metadata={"n": "2"})  # fmt: skip
    dst2 = s3.head_object(Bucket=bucket, Key="dst2")
    assert (dst2["ContentType"], dst2["Metadata"]) == ("text/plain", {"n": "2"})
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="src", CopySource=f"{bucket}/src")
    assert code(exc) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="x", CopySource=f"{bucket}/missing")
    assert code(exc) == ("NoSuchKey", 404)


def test_tags_on_objects_and_buckets(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="a=1&b=two%20words")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == [
        {"Key": "a", "Value": "1"}, {"Key": "b", "Value": "two words"}]  # fmt: skip
    assert s3.head_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "2"
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "z", "Value": ""}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == [{"Key": "z", "Value": ""}]
    s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    with pytest.raises(ClientError) as exc:
        s3.put_object_tagging(Bucket=bucket, Key="k",
                              Tagging={"TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]})  # fmt: skip
    assert code(exc) == ("InvalidTag", 400)
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_tagging(Bucket=bucket)
    assert code(exc) == ("NoSuchTagSet", 404)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "x"}]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "team", "Value": "x"}]
    s3.delete_bucket_tagging(Bucket=bucket)
    with pytest.raises(ClientError):
        s3.get_bucket_tagging(Bucket=bucket)


def test_delete_objects_reports_each_key(s3: Any, bucket: str) -> None:
    for key in ("a", "b"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    done = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "never"}]})
    assert sorted(d["Key"] for d in done["Deleted"]) == ["a", "b", "never"]
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    s3.put_object(Bucket=bucket, Key="q", Body=b"x")
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "q"}, {"Key": "k" * 1025}], "Quiet": True})
    assert "Deleted" not in quiet and [e["Code"] for e in quiet["Errors"]] == ["KeyTooLongError"]


def test_multipart_upload(s3: Any, bucket: str) -> None:
    parts_data = [b"a" * (5 * MiB), b"b" * (5 * MiB), b"tail"]
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp", ContentType="application/x-mp", Metadata={"k": "v"})
    uid = up["UploadId"]
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [uid]
    etags = [s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=i + 1, Body=data)["ETag"]
             for i, data in enumerate(parts_data)]  # fmt: skip
    listed = s3.list_parts(Bucket=bucket, Key="mp", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in listed] == [
        (i + 1, len(d), e) for i, (d, e) in enumerate(zip(parts_data, etags))]  # fmt: skip
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": [
            {"PartNumber": 2, "ETag": etags[1]}, {"PartNumber": 1, "ETag": etags[0]}]})  # fmt: skip
    assert code(exc) == ("InvalidPartOrder", 400)
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": etags[1]}]})  # fmt: skip
    assert code(exc) == ("InvalidPart", 400)
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": [
            {"PartNumber": 3, "ETag": etags[2]}, {"PartNumber": 4, "ETag": etags[2]}]})  # fmt: skip
    assert code(exc) == ("InvalidPart", 400)
    small = s3.create_multipart_upload(Bucket=bucket, Key="small")["UploadId"]
    tiny = [s3.upload_part(Bucket=bucket, Key="small", UploadId=small, PartNumber=n, Body=b"x")["ETag"] for n in (1, 2)]
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="small", UploadId=small, MultipartUpload={"Parts": [
            {"PartNumber": n, "ETag": e} for n, e in zip((1, 2), tiny)]})  # fmt: skip
    assert code(exc) == ("EntityTooSmall", 400)
    s3.abort_multipart_upload(Bucket=bucket, Key="small", UploadId=small)
    with pytest.raises(ClientError) as exc:
        s3.list_parts(Bucket=bucket, Key="small", UploadId=small)
    assert code(exc) == ("NoSuchUpload", 404)
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})  # fmt: skip
    expected = hashlib.md5(b"".join(hashlib.md5(d).digest() for d in parts_data)).hexdigest() + "-3"
    assert done["ETag"] == f'"{expected}"'
    got = s3.get_object(Bucket=bucket, Key="mp")
    assert got["Body"].read() == b"".join(parts_data)
    assert (got["ContentType"], got["Metadata"], got["ETag"]) == ("application/x-mp", {"k": "v"}, f'"{expected}"')
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    second = s3.get_object(Bucket=bucket, Key="mp", PartNumber=2)
    assert second["Body"].read() == parts_data[1] and second["PartsCount"] == 3
    assert second["ContentRange"] == f"bytes {5 * MiB}-{10 * MiB - 1}/{10 * MiB + 4}"
    assert s3.head_object(Bucket=bucket, Key="mp", PartNumber=3)["ContentLength"] == 4
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="mp", PartNumber=4)
    assert code(exc) == ("InvalidPartNumber", 416)


def test_listing_uploads_pages_by_key_and_upload_id(s3: Any, bucket: str) -> None:
    ids = {key: [s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"] for _ in range(2)] for key in "ab"}
    seen: list[tuple[str, str]] = []
    marker: dict[str, str] = {}
    while True:
        page = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=1, **marker)
        seen += [(u["Key"], u["UploadId"]) for u in page.get("Uploads", [])]
        if not page["IsTruncated"]:
            break
        marker = {"KeyMarker": page["NextKeyMarker"], "UploadIdMarker": page["NextUploadIdMarker"]}
    assert sorted(seen) == sorted((k, u) for k, us in ids.items() for u in us) and len(seen) == 4
    assert [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket, Prefix="b")["Uploads"]] == ["b", "b"]


def test_multipart_full_object_checksums(s3: Any, bucket: str) -> None:
    from awscrt import checksums as crt

    parts = [b"f" * (5 * MiB), b"last"]
    whole = base64.b64encode(crt.crc64nvme(b"".join(parts)).to_bytes(8, "big")).decode()
    for sent, ok in ((base64.b64encode(b"\0" * 8).decode(), False), (whole, True)):
        uid = s3.create_multipart_upload(Bucket=bucket, Key="full", ChecksumAlgorithm="CRC64NVME",
                                         ChecksumType="FULL_OBJECT")["UploadId"]  # fmt: skip
        done = [s3.upload_part(Bucket=bucket, Key="full", UploadId=uid, PartNumber=n + 1, Body=data,
                               ChecksumAlgorithm="CRC64NVME") for n, data in enumerate(parts)]  # fmt: skip
        listed = [{"PartNumber": n + 1, "ETag": d["ETag"], "ChecksumCRC64NVME": d["ChecksumCRC64NVME"]}
                  for n, d in enumerate(done)]  # fmt: skip
        complete = {"Bucket": bucket, "Key": "full", "UploadId": uid, "MultipartUpload": {"Parts": listed},
                    "ChecksumCRC64NVME": sent, "ChecksumType": "FULL_OBJECT"}  # fmt: skip
        if not ok:
            with pytest.raises(ClientError) as exc:
                s3.complete_multipart_upload(**complete)
            assert code(exc) == ("BadDigest", 400)
            s3.abort_multipart_upload(Bucket=bucket, Key="full", UploadId=uid)
            continue
        assert s3.complete_multipart_upload(**complete)["ChecksumCRC64NVME"] == whole
    head = s3.head_object(Bucket=bucket, Key="full", ChecksumMode="ENABLED")
    assert (head["ChecksumCRC64NVME"], head["ChecksumType"]) == (whole, "FULL_OBJECT")
    assert s3.get_object(Bucket=bucket, Key="full", ChecksumMode="ENABLED")["Body"].read() == b"".join(parts)


def test_upload_part_copy(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="source", Body=b"s" * (5 * MiB) + b"end")
    uid = s3.create_multipart_upload(Bucket=bucket, Key="joined")["UploadId"]
    first = s3.upload_part_copy(Bucket=bucket, Key="joined", UploadId=uid, PartNumber=1,
                                CopySource={"Bucket": bucket, "Key": "source"})["CopyPartResult"]["ETag"]  # fmt: skip
    second = s3.upload_part_copy(Bucket=bucket, Key="joined", UploadId=uid, PartNumber=2, CopySource=f"{bucket}/source",
                                 CopySourceRange=f"bytes={5 * MiB}-{5 * MiB + 2}")["CopyPartResult"]["ETag"]  # fmt: skip
    s3.complete_multipart_upload(Bucket=bucket, Key="joined", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": first}, {"PartNumber": 2, "ETag": second}]})  # fmt: skip
    joined = b"s" * (5 * MiB) + b"end" + b"end"
    assert s3.get_object(Bucket=bucket, Key="joined")["Body"].read() == joined
    # CopyObject makes one object of a multipart one: a plain ETag.
    copied = s3.copy_object(Bucket=bucket, Key="flat", CopySource=f"{bucket}/joined", ChecksumAlgorithm="SHA256")
    assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(joined).hexdigest()}"'
    sha = base64.b64encode(hashlib.sha256(joined).digest()).decode()
    assert copied["CopyObjectResult"]["ChecksumSHA256"] == sha
    assert s3.head_object(Bucket=bucket, Key="flat", ChecksumMode="ENABLED")["ChecksumSHA256"] == sha


def test_transfer_manager_upload_and_download_with_checksums(s3: Any, bucket: str) -> None:
    from boto3.s3.transfer import TransferConfig

    data = bytes(range(256)) * (48 * 1024)  # 12 MiB: multipart
    config = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=5 * MiB)
    s3.upload_fileobj(io.BytesIO(data), bucket, "big", Config=config)
    head = s3.head_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
    assert head["ContentLength"] == len(data) and head["ETag"].endswith('-3"')
    out = io.BytesIO()
    s3.download_fileobj(bucket, "big", out, Config=config)
    assert out.getvalue() == data
    for algorithm in ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256", "SHA512", "XXHASH64", "XXHASH3",
                      "XXHASH128"):  # fmt: skip
        put = s3.put_object(Bucket=bucket, Key=f"sum-{algorithm}", Body=b"checked", ChecksumAlgorithm=algorithm)
        got = s3.get_object(Bucket=bucket, Key=f"sum-{algorithm}", ChecksumMode="ENABLED")
        assert got["Body"].read() == b"checked"
        assert got[f"Checksum{algorithm}"] == put[f"Checksum{algorithm}"]


def test_unknown_operations_are_not_implemented_and_wrong_methods_not_allowed(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_acl(Bucket=bucket)
    assert code(exc) == ("NotImplemented", 501)
    assert "GetBucketAcl" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert code(exc) == ("NotImplemented", 501)


def test_conditional_writes(s3: Any, bucket: str) -> None:
    first = s3.put_object(Bucket=bucket, Key="once", Body=b"first", IfNoneMatch="*")["ETag"]
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="once", Body=b"second", IfNoneMatch="*")
    assert code(exc) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="once", Body=b"second", IfMatch='"0123"')
    assert code(exc) == ("PreconditionFailed", 412)
    s3.put_object(Bucket=bucket, Key="once", Body=b"third", IfMatch=first)
    assert s3.get_object(Bucket=bucket, Key="once")["Body"].read() == b"third"
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="never", Body=b"x", IfMatch=first)
    assert code(exc) == ("NoSuchKey", 404)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="once")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="once", UploadId=uid, PartNumber=1, Body=b"p")["ETag"]
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="once", UploadId=uid, IfNoneMatch="*",
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})  # fmt: skip
    assert code(exc) == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=bucket, Key="once")["Body"].read() == b"third"
