"""``lamina event generate``: AWS's own samples, one record, fresh ids and times, overrides; the
events reach a real function unchanged through ``lamina invoke --payload @file``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lamina.cli.generate import KINDS, sample
from tests.conftest import LaminaProcess, deploy

LAMINA = Path(sys.executable).parent / "lamina"


def generate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LAMINA), "event", "generate", *args], capture_output=True, text=True, timeout=60,
                          env=env)  # fmt: skip


def shape(value: Any) -> Any:
    """The event's structure: the keys of every object, the shape of a list's first item, each leaf's type."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__


def decoded_logs(event: dict[str, Any]) -> dict[str, Any]:
    import base64
    import gzip

    return json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))  # type: ignore[no-any-return]


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_has_the_shape_of_aws_sample(kind: str) -> None:
    done = generate(kind)
    assert done.returncode == 0, done.stderr
    event, aws = json.loads(done.stdout), sample(kind)
    aws.pop("replay-name", None)  # AWS's EventBridge sample was replayed from an archive; a rule's event is not
    if kind == "cloudwatch-logs":
        event, aws = decoded_logs(event), decoded_logs(aws)
    if kind == "kafka":  # keyed by topic-partition, which the sample and the event share here
        assert event["records"].keys() == aws["records"].keys()
    assert shape(event) == shape(aws)


@pytest.mark.parametrize(("kind", "fresh"), [
    ("s3", lambda e: (e["Records"][0]["eventTime"], e["Records"][0]["responseElements"]["x-amz-request-id"])),
    ("sqs", lambda e: e["Records"][0]["messageId"]),
    ("sns", lambda e: e["Records"][0]["Sns"]["MessageId"]),
    ("apigw-v1", lambda e: e["requestContext"]["requestId"]),
    ("apigw-v2", lambda e: e["requestContext"]["requestId"]),
    ("schedule", lambda e: e["id"]),
    ("eventbridge", lambda e: e["id"]),
    ("dynamodb", lambda e: e["Records"][0]["eventID"]),
    ("kinesis", lambda e: e["Records"][0]["kinesis"]["sequenceNumber"]),
    ("cloudwatch-logs", lambda e: decoded_logs(e)["logEvents"][0]["id"]),
])  # fmt: skip
def test_ids_are_fresh_on_every_call(kind: str, fresh: Any) -> None:
    first, second = (json.loads(generate(kind).stdout) for _ in range(2))
    assert fresh(first) != fresh(second)
    assert fresh(first) != fresh(sample(kind))


def test_named_overrides_and_paths() -> None:
    s3 = json.loads(generate("s3", "--bucket=photos", "--key", "cat.jpg", "--size=12",
                             "--Records.0.awsRegion=eu-west-1").stdout)  # fmt: skip
    record = s3["Records"][0]
    assert record["s3"]["bucket"] == {**record["s3"]["bucket"], "name": "photos", "arn": "arn:aws:s3:::photos"}
    assert record["s3"]["object"]["key"] == "cat.jpg" and record["s3"]["object"]["size"] == 12  # still a number
    assert record["awsRegion"] == "eu-west-1"
    sqs = json.loads(generate("sqs", "--body={\"order\": 7}").stdout)["Records"][0]
    assert sqs["body"] == '{"order": 7}'
    import hashlib

    assert sqs["md5OfBody"] == hashlib.md5(b'{"order": 7}').hexdigest()  # kept true to the body
    kafka = json.loads(generate("kafka", "--topic=orders", "--value=hi").stdout)
    assert list(kafka["records"]) == ["orders-0"] and kafka["records"]["orders-0"][0]["value"] == "aGk="
    bus = json.loads(generate("eventbridge", "--detail={\"a\": [1]}", "--source=shop").stdout)
    assert bus["detail"] == {"a": [1]} and bus["source"] == "shop"
    logs = decoded_logs(json.loads(generate("cloudwatch-logs", "--message=[ERROR] x", "--group=/aws/lambda/f").stdout))
    assert logs["logGroup"] == "/aws/lambda/f" and logs["logEvents"][0]["message"] == "[ERROR] x"


@pytest.mark.parametrize(("args", "said"), [
    (["s3", "--colour=red"], "s3 events have no --colour"),
    (["s3", "--size=twelve"], "is not an integer"),
    (["s3", "--Records.9.awsRegion=x"], "is not an index of that list"),
    (["s3", "--Records.0.eventVersion.deeper=x"], "neither an object nor a list"),
    (["s3", "--" + ".".join(["a"] * 200) + "=x"], "is not a path into the event"),
    (["s3", "--Records..x=1"], "is not a path into the event"),
    (["s3", "--bucket"], "needs a value"),
    (["s3", "bucket=x"], "expected --KEY=VALUE"),
    (["eventbridge", "--detail={not json"], "--detail must be JSON"),
    (["carrier-pigeon"], "invalid choice"),
])  # fmt: skip
def test_bad_overrides_are_refused_plainly(args: list[str], said: str) -> None:
    done = generate(*args)
    assert done.returncode == 2, done.stdout
    assert said in done.stderr and "Traceback" not in done.stderr and done.stdout == ""


def test_a_generated_event_reaches_the_function_unchanged(lamina: LaminaProcess, tmp_path: Path,
                                                         fn_name: str) -> None:  # fmt: skip
    deploy(lamina.client(), fn_name, "def handler(event, context):\n    return event\n")
    event_file = tmp_path / "event.json"
    event_file.write_text(generate("sqs", "--body=hello").stdout)
    done = subprocess.run([str(LAMINA), "--endpoint", lamina.endpoint, "invoke", fn_name, "--json", "--payload",
                           f"@{event_file}"], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Payload"] == json.loads(event_file.read_text())
