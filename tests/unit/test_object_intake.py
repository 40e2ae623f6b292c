"""The intake of other object stores' notifications, with plain values: who may post, and which
records a body holds (MinIO's recorded body, Ceph's and AWS's shape)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from lamina.errors import AccessDenied, InvalidRequestContent
from lamina.objects import intake

DATA = Path(__file__).resolve().parents[1] / "data"
TOKEN = "s3cr3t-token"


def test_the_bearer_token_or_basic_credentials_with_it_as_password_are_let_in() -> None:
    intake.authorize(f"Bearer {TOKEN}", TOKEN)
    intake.authorize(f"bearer   {TOKEN}  ", TOKEN)
    intake.authorize("Basic " + base64.b64encode(f"minio:{TOKEN}".encode()).decode(), TOKEN)


@pytest.mark.parametrize("header", [None, "", "   ", "Token abc", f"Digest {TOKEN}"])
def test_no_token_is_401_with_a_challenge(header: str | None) -> None:
    with pytest.raises(intake.TokenMissing) as caught:
        intake.authorize(header, TOKEN)
    assert caught.value.status == 401 and caught.value.headers()["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer wrong", f"Bearer {TOKEN}x", "Bearer ", "Basic !!!",
                                    "Basic " + base64.b64encode(f"{TOKEN}:".encode()).decode()])  # fmt: skip
def test_another_token_is_403(header: str) -> None:
    with pytest.raises(AccessDenied):
        intake.authorize(header, TOKEN)


def test_minios_recorded_body_gives_its_record_with_awss_event_name() -> None:
    body = json.loads((DATA / "object_events" / "minio-put.json").read_text())
    [record] = intake.records(body)
    assert record["eventName"] == "ObjectCreated:Put"
    assert {k: v for k, v in record.items() if k != "eventName"} == {
        k: v for k, v in body["Records"][0].items() if k != "eventName"
    }
    assert json.loads(intake.payload(record)) == {"Records": [record]}


def test_an_aws_or_ceph_body_gives_each_record_as_it_is() -> None:
    [aws] = json.loads((DATA / "aws_events" / "s3Event.json").read_text())["Records"]
    ceph = {**aws, "eventSource": "ceph:s3", "eventName": "ObjectRemoved:Delete"}
    assert intake.records({"Records": [aws, ceph]}) == [aws, ceph]


@pytest.mark.parametrize(("body", "problem"), [
    ([], "it has no Records"),
    ({"Records": []}, "it has no Records"),
    ({"EventName": "s3:ObjectCreated:Put"}, "it has no Records"),
    ({"Records": ["x"]}, "Records[0] is not an S3 event record: not an object"),
    ({"Records": [{"s3": {}}]}, "Records[0] is not an S3 event record: no eventName"),
    ({"Records": [{"eventName": "ObjectCreated:Put"}]}, "no s3 member"),
    ({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {}}}]},
     "no s3.object.key"),
    ({"Records": [{"eventName": "x", "s3": {"bucket": {}, "object": {"key": "k"}}}]}, "no s3.bucket.name"),
    ({"Records": [{"eventName": "x", "s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}}] * 101},
     "more than 100 records"),
])  # fmt: skip
def test_bodies_that_are_not_s3_records_are_refused_saying_why(body: object, problem: str) -> None:
    with pytest.raises(InvalidRequestContent) as caught:
        intake.records(body)
    assert problem in caught.value.message


def test_the_token_comes_from_the_environment_and_is_never_shown() -> None:
    from lamina.settings import Settings

    assert Settings.from_env({}).object_events_token is None
    assert Settings.from_env({"LAMINA_OBJECT_EVENTS_TOKEN": "  "}).object_events_token is None
    settings = Settings.from_env({"LAMINA_OBJECT_EVENTS_TOKEN": f" {TOKEN} "})
    assert settings.object_events_token == TOKEN and TOKEN not in repr(settings)
