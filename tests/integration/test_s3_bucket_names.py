"""S3's bucket names are global: one server, two accounts (two root keys) and two regions, real boto3
s3 clients. A name another account holds cannot be created (BucketAlreadyExists) and its bucket is
answered AccessDenied, not NoSuchBucket (without a bucket policy granting it, another account is
granted nothing: tests/integration/test_bucket_policies.py); the same account's name is BucketAlreadyOwnedByYou (but us-east-1's own bucket
created again: 200 OK, as S3 answers there). A deleted bucket's name is free again, and all of it
holds across a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.test_accounts import ACCOUNT_A, ACCOUNT_B, KEYS, client


def refused(call: Any, **kwargs: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_bucket_names_are_global_across_accounts_and_regions(make_server: Any, tmp_path: Path) -> None:
    server = make_server(tmp_path / "data", LAMINA_ACCESS_KEYS=KEYS)
    a, b = client("s3", server.endpoint, ACCOUNT_A), client("s3", server.endpoint, ACCOUNT_B)
    a_eu = client("s3", server.endpoint, ACCOUNT_A, region="eu-west-1")
    b_eu = client("s3", server.endpoint, ACCOUNT_B, region="eu-west-1")
    in_eu = {"CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}}

    a.create_bucket(Bucket="a-reports")
    a.put_object(Bucket="a-reports", Key="k", Body=b"a's")
    assert refused(b.create_bucket, Bucket="a-reports") == ("BucketAlreadyExists", 409)
    assert refused(b_eu.create_bucket, Bucket="a-reports", **in_eu) == ("BucketAlreadyExists", 409)
    a.create_bucket(Bucket="a-reports")  # in us-east-1 S3 answers its own bucket's re-creation 200 OK
    assert refused(a_eu.create_bucket, Bucket="a-reports", **in_eu) == ("BucketAlreadyOwnedByYou", 409)

    # Another account's bucket: AccessDenied for every request, whatever it asks.
    assert refused(b.get_object, Bucket="a-reports", Key="k") == ("AccessDenied", 403)
    assert refused(b.put_object, Bucket="a-reports", Key="k", Body=b"b's") == ("AccessDenied", 403)
    assert refused(b.list_objects_v2, Bucket="a-reports") == ("AccessDenied", 403)
    assert refused(b.delete_bucket, Bucket="a-reports") == ("AccessDenied", 403)
    assert refused(b.head_bucket, Bucket="a-reports") == ("403", 403)
    assert refused(b.get_object, Bucket="nobodys", Key="k") == ("NoSuchBucket", 404)
    assert a.get_object(Bucket="a-reports", Key="k")["Body"].read() == b"a's"  # untouched
    assert b.list_buckets()["Buckets"] == []

    # A region's own endpoint takes only its own region, checked before the name (as S3 does).
    assert refused(b_eu.create_bucket, Bucket="a-reports") == ("IllegalLocationConstraintException", 400)
    assert refused(b_eu.create_bucket, Bucket="elsewhere",
                   CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}) == (
        "IllegalLocationConstraintException", 400)  # fmt: skip

    # A name taken in another region is taken everywhere.
    b_eu.create_bucket(Bucket="b-eu", **in_eu)
    assert refused(a.create_bucket, Bucket="b-eu") == ("BucketAlreadyExists", 409)
    assert refused(a.get_object, Bucket="b-eu", Key="k") == ("AccessDenied", 403)

    # A deleted bucket's name is anyone's again.
    a.create_bucket(Bucket="passed-on")
    a.delete_bucket(Bucket="passed-on")
    b.create_bucket(Bucket="passed-on")
    assert refused(a.create_bucket, Bucket="passed-on") == ("BucketAlreadyExists", 409)

    assert server.stop() == 0
    server = make_server(tmp_path / "data", LAMINA_ACCESS_KEYS=KEYS)
    a, b = client("s3", server.endpoint, ACCOUNT_A), client("s3", server.endpoint, ACCOUNT_B)
    assert refused(b.create_bucket, Bucket="a-reports") == ("BucketAlreadyExists", 409)
    assert refused(a.create_bucket, Bucket="b-eu") == ("BucketAlreadyExists", 409)
    assert refused(a.get_object, Bucket="passed-on", Key="k") == ("AccessDenied", 403)
    assert a.get_object(Bucket="a-reports", Key="k")["Body"].read() == b"a's"
