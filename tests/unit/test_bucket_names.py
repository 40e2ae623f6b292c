"""S3's global bucket names (objects/bucket_names.py): what CreateBucket and other requests get for a
name another cell holds, with plain values, and the index against a real in-memory store."""

from __future__ import annotations

import asyncio

import pytest

from lamina.objects.bucket_names import BucketNames, Owner, on_access, on_create
from lamina.objects.buckets import location_refused
from lamina.objects.errors import AccessDenied, BucketAlreadyExists, BucketAlreadyOwnedByYou
from lamina.store.memory import MemoryStore

A, B = "111111111111", "222222222222"


def test_create_of_a_name_held_elsewhere() -> None:
    assert on_create("free", A, None) is None
    mine = on_create("reports", A, Owner(A, "eu-west-1"))  # the same account's, in any region
    assert isinstance(mine, BucketAlreadyOwnedByYou) and mine.status == 409
    assert mine.fields == {"BucketName": "reports"}
    theirs = on_create("reports", A, Owner(B, "us-east-1"))
    assert isinstance(theirs, BucketAlreadyExists) and theirs.status == 409 and theirs.code == "BucketAlreadyExists"
    assert str(theirs).startswith("The requested bucket name is not available.")


def test_access_to_a_name_held_elsewhere() -> None:
    assert on_access(A, None) is None  # nobody's: NoSuchBucket
    assert on_access(A, Owner(A, "eu-west-1")) is None  # the account's own, another region's: NoSuchBucket
    denied = on_access(A, Owner(B, "us-east-1"))
    assert isinstance(denied, AccessDenied) and denied.status == 403


def test_claims_releases_and_reconciling_are_kept_in_the_store() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        names = BucketNames(store)
        await names.load()
        a, b, a_eu = Owner(A, "us-east-1"), Owner(B, "us-east-1"), Owner(A, "eu-west-1")
        await names.claim("reports", a)
        with pytest.raises(BucketAlreadyExists):
            await names.claim("reports", b)
        with pytest.raises(BucketAlreadyOwnedByYou):
            await names.claim("reports", a_eu)
        await names.release("reports", b)  # not b's: kept
        assert names.owner("reports") == a
        await names.claim("logs", a)
        # a's cell holds "reports" and "old" (made before the index), not "logs" (a claim whose record was lost).
        assert await names.reconcile(a, ["reports", "old"]) == []
        await names.claim("theirs", b)
        assert await names.reconcile(a_eu, ["theirs"]) == ["theirs"]  # held twice from before: left as it is
        again = BucketNames(store)
        await again.load()
        assert {n: again.owner(n) for n in ("reports", "old", "logs", "theirs")} == {
            "reports": a, "old": a, "logs": None, "theirs": b}
        await again.release("reports", a)
        await again.claim("reports", b)
        assert again.owner("reports") == b

    asyncio.run(scenario())


def test_a_region_specific_endpoint_takes_only_its_own_region() -> None:
    assert location_refused("us-east-1", None) is None
    assert location_refused("us-east-1", "eu-west-1") is None  # us-east-1's endpoint takes any region
    assert location_refused("eu-west-1", "eu-west-1") is None
    unspecified = location_refused("eu-west-1", None)
    assert unspecified is not None and unspecified.code == "IllegalLocationConstraintException"
    assert str(unspecified) == ("The unspecified location constraint is incompatible for the region specific "
                                "endpoint this request was sent to.")  # fmt: skip
    other = location_refused("eu-west-1", "eu-central-1")
    assert other is not None and str(other).startswith("The eu-central-1 location constraint is incompatible")
