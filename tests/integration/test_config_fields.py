"""Every function configuration field through boto3 and the AWS CLI: created, read, updated, published,
listed and kept across a restart, in the shapes botocore's model gives them (FunctionConfiguration)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError

from tests import signing
from tests.conftest import ROLE, deploy, make_zip
from tests.integration.test_clients import aws_cli

OK = "def handler(event, context):\n    return 'ok'\n"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
GROUPS = ["sg-0123456789abcdef0"]
ACCESS_POINT = "arn:aws:elasticfilesystem:us-east-1:000000000000:access-point/fsap-0123456789abcdef0"
KEY = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"
RUNTIME_VERSION = re.compile(r"^arn:aws:lambda:us-east-1::runtime:[0-9a-f]{64}$")
# Every field CreateFunction takes, set to something other than its default.
EVERY_FIELD: dict[str, Any] = {
    "Environment": {"Variables": {"GREETING": "hi"}},
    "TracingConfig": {"Mode": "Active"},
    "LoggingConfig": {"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG", "LogGroup": "/custom/group"},
    "VpcConfig": {"SubnetIds": SUBNETS, "SecurityGroupIds": GROUPS, "Ipv6AllowedForDualStack": True},
    "FileSystemConfigs": [{"Arn": ACCESS_POINT, "LocalMountPath": "/mnt/data"}],
    "KMSKeyArn": KEY,
    "SnapStart": {"ApplyOn": "PublishedVersions"},
    "EphemeralStorage": {"Size": 2048},
    "Architectures": ["arm64"],
}


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def configured(doc: dict[str, Any]) -> dict[str, Any]:
    """The members every field test compares (not ids, times, states)."""
    keys = ("TracingConfig", "LoggingConfig", "VpcConfig", "FileSystemConfigs", "KMSKeyArn", "SnapStart",
            "EphemeralStorage", "Architectures", "Environment")  # fmt: skip
    return {key: doc.get(key) for key in keys}


def check_every_field(doc: dict[str, Any], name: str, *, version: bool = False) -> None:
    assert configured(doc) == {
        "TracingConfig": {"Mode": "Active"},
        "LoggingConfig": {"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG", "SystemLogLevel": "INFO",
                          "LogGroup": "/custom/group"},
        "VpcConfig": {"SubnetIds": SUBNETS, "SecurityGroupIds": GROUPS, "Ipv6AllowedForDualStack": True,
                      "VpcId": doc["VpcConfig"]["VpcId"]},
        "FileSystemConfigs": [{"Arn": ACCESS_POINT, "LocalMountPath": "/mnt/data"}],
        "KMSKeyArn": KEY,
        "SnapStart": {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On" if version else "Off"},
        "EphemeralStorage": {"Size": 2048},
        "Architectures": ["arm64"],
        "Environment": {"Variables": {"GREETING": "hi"}},
    }, name  # fmt: skip
    assert re.match(r"^vpc-[0-9a-f]{17}$", doc["VpcConfig"]["VpcId"])
    assert RUNTIME_VERSION.match(doc["RuntimeVersionConfig"]["RuntimeVersionArn"])


def test_defaults_as_lambda_answers_them(client: Any, fn_name: str) -> None:
    created = deploy(client, fn_name, OK)
    got = client.get_function_configuration(FunctionName=fn_name)
    for doc in (created, got):
        assert doc["TracingConfig"] == {"Mode": "PassThrough"}
        assert doc["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{fn_name}"}
        assert doc["SnapStart"] == {"ApplyOn": "None", "OptimizationStatus": "Off"}
        assert doc["EphemeralStorage"] == {"Size": 512} and doc["Architectures"] == ["x86_64"]
        assert RUNTIME_VERSION.match(doc["RuntimeVersionConfig"]["RuntimeVersionArn"])
        for absent in ("VpcConfig", "FileSystemConfigs", "KMSKeyArn", "Environment", "ImageConfigResponse"):
            assert absent not in doc, absent


def test_every_field_created_read_published_listed(client: Any, fn_name: str) -> None:
    created = deploy(client, fn_name, OK, runtime="python3.12", **EVERY_FIELD)
    check_every_field(created, "create")
    check_every_field(client.get_function(FunctionName=fn_name)["Configuration"], "get")
    check_every_field(client.get_function_configuration(FunctionName=fn_name), "get-configuration")
    pages = client.get_paginator("list_functions").paginate()  # other tests' functions share the server
    listed = [fn for page in pages for fn in page["Functions"] if fn["FunctionName"] == fn_name]
    check_every_field(listed[0], "list")
    published = client.publish_version(FunctionName=fn_name)
    check_every_field(published, "publish", version=True)
    versions = client.list_versions_by_function(FunctionName=fn_name)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]
    check_every_field(versions[0], "versions $LATEST")
    check_every_field(versions[1], "versions 1", version=True)
    check_every_field(client.get_function_configuration(FunctionName=fn_name, Qualifier="1"), "get 1", version=True)
    # One runtime build, one RuntimeVersionArn; another runtime, another.
    other = deploy(client, fn_name + "-b", OK, runtime="python3.11")
    assert other["RuntimeVersionConfig"] != created["RuntimeVersionConfig"]
    assert deploy(client, fn_name + "-c", OK, runtime="python3.12")["RuntimeVersionConfig"] == created["RuntimeVersionConfig"]


def test_each_field_updated(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, OK, runtime="python3.12")
    revisions = {client.get_function_configuration(FunctionName=fn_name)["RevisionId"]}
    steps: list[tuple[dict[str, Any], str, Any]] = [
        ({"TracingConfig": {"Mode": "Active"}}, "TracingConfig", {"Mode": "Active"}),
        ({"LoggingConfig": {"LogFormat": "JSON"}}, "LoggingConfig",
         {"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO", "LogGroup": f"/aws/lambda/{fn_name}"}),
        ({"LoggingConfig": {"LogFormat": "JSON", "SystemLogLevel": "WARN", "LogGroup": "/mine"}}, "LoggingConfig",
         {"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN", "LogGroup": "/mine"}),
        ({"LoggingConfig": {"LogFormat": "Text"}}, "LoggingConfig", {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{fn_name}"}),
        ({"VpcConfig": {"SubnetIds": SUBNETS[:1], "SecurityGroupIds": GROUPS}}, "VpcConfig",
         {"SubnetIds": SUBNETS[:1], "SecurityGroupIds": GROUPS, "Ipv6AllowedForDualStack": False, "VpcId": ...}),
        ({"VpcConfig": {"SubnetIds": [], "SecurityGroupIds": []}}, "VpcConfig",
         {"SubnetIds": [], "SecurityGroupIds": [], "Ipv6AllowedForDualStack": False, "VpcId": ""}),
        ({"FileSystemConfigs": [{"Arn": ACCESS_POINT, "LocalMountPath": "/mnt/efs"}]}, "FileSystemConfigs",
         [{"Arn": ACCESS_POINT, "LocalMountPath": "/mnt/efs"}]),
        ({"FileSystemConfigs": []}, "FileSystemConfigs", None),
        ({"KMSKeyArn": KEY}, "KMSKeyArn", KEY),
        ({"KMSKeyArn": ""}, "KMSKeyArn", None),
        ({"SnapStart": {"ApplyOn": "PublishedVersions"}}, "SnapStart", {"ApplyOn": "PublishedVersions", "OptimizationStatus": "Off"}),
        ({"SnapStart": {"ApplyOn": "None"}}, "SnapStart", {"ApplyOn": "None", "OptimizationStatus": "Off"}),
        ({"EphemeralStorage": {"Size": 10240}}, "EphemeralStorage", {"Size": 10240}),
        ({"Environment": {"Variables": {}}}, "Environment", {"Variables": {}}),
    ]  # fmt: skip
    for change, key, expected in steps:
        answered = client.update_function_configuration(FunctionName=fn_name, **change)
        assert answered["LastUpdateStatus"] == "InProgress", change
        client.get_waiter("function_updated_v2").wait(FunctionName=fn_name, WaiterConfig={"Delay": 1})
        got = client.get_function_configuration(FunctionName=fn_name)
        for doc in (answered, got):
            value = doc.get(key)
            if isinstance(expected, dict) and expected.get("VpcId") is ...:
                expected = {**expected, "VpcId": value["VpcId"]}
            assert value == expected, (change, doc)
        # The update has a RevisionId of its own, and settling gives another, as on Lambda.
        assert answered["RevisionId"] not in revisions and got["RevisionId"] not in revisions, change
        assert answered["RevisionId"] != got["RevisionId"], change
        revisions |= {answered["RevisionId"], got["RevisionId"]}
    # What one update leaves out, it leaves as it was.
    assert client.get_function_configuration(FunctionName=fn_name)["TracingConfig"] == {"Mode": "Active"}


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"TracingConfig": {"Mode": "Sometimes"}}, "ValidationException",
         "1 validation error detected: Value 'Sometimes' at 'tracingConfig.mode' failed to satisfy constraint: "
         "Member must satisfy enum value set: [Active, PassThrough]"),
        ({"LoggingConfig": {"LogFormat": "Text", "ApplicationLogLevel": "DEBUG"}}, "InvalidParameterValueException",
         'LogLevel is not supported when LogFormat is set to "Text". Remove LogLevel from your request or change '
         'the LogFormat to "JSON" and try again.'),
        ({"SnapStart": {"ApplyOn": "PublishedVersions"}}, "InvalidParameterValueException",
         "python3.11 is not supported for SnapStart enabled functions."),
        ({"EphemeralStorage": {"Size": 10241}}, "ValidationException",
         "1 validation error detected: Value '10241' at 'ephemeralStorage.size' failed to satisfy constraint: "
         "Member must have value less than or equal to 10240"),
        ({"ImageConfig": {"Command": ["app.handler"]}}, "InvalidParameterValueException",
         "ImageConfig applies only to functions with PackageType Image; Lamina runs .zip deployment packages."),
    ],
)  # fmt: skip
def test_refused_as_lambda_refuses(client: Any, fn_name: str, change: dict[str, Any], code: str, message: str) -> None:
    with pytest.raises(ClientError) as created:
        client.create_function(FunctionName=fn_name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                               Code={"ZipFile": make_zip({"app.py": OK})}, **change)  # fmt: skip
    assert error_of(created) == (code, message)
    deploy(client, fn_name, OK)
    with pytest.raises(ClientError) as updated:
        client.update_function_configuration(FunctionName=fn_name, **change)
    assert error_of(updated) == (code, message)


def test_fields_survive_a_restart(make_server: Any, fn_name: str) -> None:
    server = make_server()
    deploy(server.client(), fn_name, OK, runtime="python3.12", **EVERY_FIELD)
    server.client().publish_version(FunctionName=fn_name)
    assert server.stop() == 0
    again = make_server(data_dir=server.data_dir).client()
    check_every_field(again.get_function_configuration(FunctionName=fn_name), "restarted")
    check_every_field(again.get_function_configuration(FunctionName=fn_name, Qualifier="1"), "restarted 1", version=True)


def test_active_tracing_and_json_logging_reach_the_function(client: Any, fn_name: str) -> None:
    code = (
        "import logging, os\n"
        "def handler(event, context):\n"
        "    logging.getLogger().debug('hidden')\n"
        "    logging.getLogger().warning('shown')\n"
        "    keys = ('_X_AMZN_TRACE_ID', 'AWS_XRAY_CONTEXT_MISSING', 'AWS_XRAY_DAEMON_ADDRESS',\n"
        "            'AWS_LAMBDA_LOG_FORMAT', 'AWS_LAMBDA_LOG_LEVEL', 'AWS_LAMBDA_LOG_GROUP_NAME')\n"
        "    return {k: os.environ.get(k) for k in keys}\n"
    )
    deploy(client, fn_name, code)
    plain = json.loads(client.invoke(FunctionName=fn_name)["Payload"].read())
    assert "Sampled=0" in plain["_X_AMZN_TRACE_ID"] and plain["AWS_XRAY_DAEMON_ADDRESS"] is None
    assert plain["AWS_LAMBDA_LOG_FORMAT"] is None and plain["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{fn_name}"
    client.update_function_configuration(
        FunctionName=fn_name, TracingConfig={"Mode": "Active"},
        LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "WARN", "LogGroup": "/shared/group"},
    )  # fmt: skip
    client.get_waiter("function_updated_v2").wait(FunctionName=fn_name)
    answer = client.invoke(FunctionName=fn_name, LogType="Tail")
    env = json.loads(answer["Payload"].read())
    assert "Sampled=1" in env["_X_AMZN_TRACE_ID"]
    assert (env["AWS_XRAY_CONTEXT_MISSING"], env["AWS_XRAY_DAEMON_ADDRESS"]) == ("LOG_ERROR", "169.254.79.129:2000")
    assert (env["AWS_LAMBDA_LOG_FORMAT"], env["AWS_LAMBDA_LOG_LEVEL"]) == ("JSON", "WARN")
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/shared/group"
    tail = base64.b64decode(answer["LogResult"]).decode()
    records = [json.loads(line) for line in tail.splitlines()]
    assert [(r["level"], r["message"]) for r in records if "level" in r] == [("WARNING", "shown")]
    platform = [r for r in records if "type" in r]
    assert [r["type"] for r in platform] == ["platform.start", "platform.runtimeDone", "platform.report"]
    assert {r["record"]["requestId"] for r in platform} == {answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]}
    assert platform[2]["record"]["status"] == "success" and platform[2]["record"]["metrics"]["memorySizeMB"] == 128
    # SystemLogLevel WARN leaves the INFO platform records out.
    client.update_function_configuration(FunctionName=fn_name, LoggingConfig={"LogFormat": "JSON", "SystemLogLevel": "WARN"})
    client.get_waiter("function_updated_v2").wait(FunctionName=fn_name)
    tail = base64.b64decode(client.invoke(FunctionName=fn_name, LogType="Tail")["LogResult"]).decode()
    assert [json.loads(line)["message"] for line in tail.splitlines()] == ["shown"]


def test_aws_cli_sets_and_reads_the_fields(lamina: Any, fn_name: str, tmp_path: Path) -> None:
    (tmp_path / "fn.zip").write_bytes(make_zip({"app.py": OK}))
    created = aws_cli(lamina.endpoint, "create-function", "--function-name", fn_name, "--runtime", "python3.11",
                      "--role", ROLE, "--handler", "app.handler", "--zip-file", "fileb://fn.zip",
                      "--tracing-config", "Mode=Active", "--logging-config", "LogFormat=JSON,ApplicationLogLevel=ERROR",
                      "--vpc-config", f"SubnetIds={SUBNETS[0]},SecurityGroupIds={GROUPS[0]}",
                      "--environment", "Variables={}", cwd=tmp_path)  # fmt: skip
    assert created.returncode == 0, created.stderr
    doc = json.loads(created.stdout)
    assert doc["TracingConfig"] == {"Mode": "Active"}
    assert doc["LoggingConfig"] == {"LogFormat": "JSON", "ApplicationLogLevel": "ERROR", "SystemLogLevel": "INFO",
                                    "LogGroup": f"/aws/lambda/{fn_name}"}  # fmt: skip
    assert doc["VpcConfig"]["SubnetIds"] == SUBNETS[:1] and doc["VpcConfig"]["SecurityGroupIds"] == GROUPS
    assert doc["Environment"] == {"Variables": {}}


def test_revision_id_rotates_with_permissions(client: Any, fn_name: str) -> None:
    """AddPermission and RemovePermission give the function ($LATEST, a version, an alias) a new RevisionId,
    which is its policy's; tagging does not."""
    deploy(client, fn_name, OK)
    version = client.publish_version(FunctionName=fn_name)
    client.create_alias(FunctionName=fn_name, Name="live", FunctionVersion="1")

    def revision(qualifier: str | None) -> str:
        if qualifier == "live":
            return str(client.get_alias(FunctionName=fn_name, Name="live")["RevisionId"])
        extra = {} if qualifier is None else {"Qualifier": qualifier}
        return str(client.get_function_configuration(FunctionName=fn_name, **extra)["RevisionId"])

    for qualifier in (None, "1", "live"):
        extra = {} if qualifier is None else {"Qualifier": qualifier}
        before = revision(qualifier)
        with pytest.raises(ClientError) as stale:
            client.add_permission(FunctionName=fn_name, StatementId="s3", Action="lambda:InvokeFunction",
                                  Principal="s3.amazonaws.com", RevisionId="not-the-one", **extra)  # fmt: skip
        assert error_of(stale)[0] == "PreconditionFailedException"
        client.add_permission(FunctionName=fn_name, StatementId="s3", Action="lambda:InvokeFunction",
                              Principal="s3.amazonaws.com", RevisionId=before, **extra)  # fmt: skip
        added = revision(qualifier)
        assert added != before, qualifier
        assert client.get_policy(FunctionName=fn_name, **extra)["RevisionId"] == added
        client.remove_permission(FunctionName=fn_name, StatementId="s3", RevisionId=added, **extra)
        assert revision(qualifier) not in (before, added), qualifier
    assert version["RevisionId"] != revision("1")
    arn = client.get_function_configuration(FunctionName=fn_name)["FunctionArn"]
    before = revision(None)
    client.tag_resource(Resource=arn, Tags={"team": "a"})
    assert revision(None) == before
    # A new RevisionId changes nothing else: the alias still invokes its version.
    assert json.loads(client.invoke(FunctionName=fn_name, Qualifier="live")["Payload"].read()) == "ok"


def test_raw_answers_hold_only_the_models_members(lamina: Any, client: Any, fn_name: str) -> None:
    """boto3 drops members its model does not know: the raw JSON shows Lamina sends none."""
    deploy(client, fn_name, OK, runtime="python3.12", **EVERY_FIELD)
    model = botocore.session.get_session().get_service_model("lambda")
    shape = model.shape_for("FunctionConfiguration")
    with signing.urlopen(f"{lamina.endpoint}/2015-03-31/functions/{fn_name}/configuration") as response:
        raw = json.loads(response.read())
    assert set(raw) <= set(shape.members), set(raw) - set(shape.members)
    for key in ("VpcConfig", "LoggingConfig", "SnapStart", "TracingConfig", "RuntimeVersionConfig", "EphemeralStorage"):
        assert set(raw[key]) <= set(shape.members[key].members), key  # type: ignore[attr-defined]
    assert set(raw["FileSystemConfigs"][0]) <= set(shape.members["FileSystemConfigs"].member.members)  # type: ignore[attr-defined]
