"""Versions and aliases through boto3 and the AWS CLI: publishing, reading, invoking, routing,
deleting, and what a restarted server still has."""

from __future__ import annotations

import base64
import json
import math
import subprocess
import sys
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROLE, deploy, lambda_client, make_zip

VENV_BIN = Path(sys.executable).parent
PREFIX = "arn:aws:lambda:us-east-1:000000000000:function:"
ALIAS_KEYS = {"AliasArn", "Name", "FunctionVersion", "Description", "RevisionId"}

# What ran: the code's own mark, the version Lambda told the environment it runs, the context, and
# a token drawn once per environment (the same token: the same, warm, environment).
CODE = """
import os, uuid
TOKEN = uuid.uuid4().hex

def handler(event, context):
    return {{"mark": {mark!r}, "env_version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"],
             "context_version": context.function_version, "invoked_arn": context.invoked_function_arn,
             "token": TOKEN}}
"""


def package(mark: str) -> bytes:
    return make_zip({"app.py": CODE.format(mark=mark)})


def arn(name: str, qualifier: str | None = None) -> str:
    return PREFIX + name + (f":{qualifier}" if qualifier else "")


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def call(client: Any, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Invoke; returns (response, decoded body)."""
    response = client.invoke(Payload=b"{}", **kwargs)
    assert "FunctionError" not in response, response
    return response, json.loads(response["Payload"].read())


def versions_of(client: Any, name: str) -> list[str]:
    return [v["Version"] for v in client.list_versions_by_function(FunctionName=name)["Versions"]]


def update_code(client: Any, name: str, mark: str, **kwargs: Any) -> dict[str, Any]:
    updated = dict(client.update_function_code(FunctionName=name, ZipFile=package(mark), **kwargs))
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return updated


@pytest.fixture
def two_versions(client: Any, fn_name: str) -> str:
    """A function with version 1 (mark "one") and version 2 (mark "two"), $LATEST at mark "two"."""
    deploy(client, fn_name, {"app.py": CODE.format(mark="one")})
    assert client.publish_version(FunctionName=fn_name)["Version"] == "1"
    update_code(client, fn_name, "two")
    assert client.publish_version(FunctionName=fn_name)["Version"] == "2"
    return fn_name


# -- versions ---------------------------------------------------------------------------------


def test_publish_version(client: Any, fn_name: str) -> None:
    created = deploy(client, fn_name, {"app.py": CODE.format(mark="one")}, Description="the function")
    latest = client.get_function_configuration(FunctionName=fn_name)

    published = client.publish_version(FunctionName=fn_name, CodeSha256=created["CodeSha256"],
                                       RevisionId=latest["RevisionId"])  # fmt: skip
    assert published["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert published["Version"] == "1" and published["FunctionArn"] == arn(fn_name, "1")
    assert published["CodeSha256"] == created["CodeSha256"] and published["Description"] == "the function"
    assert (published["State"], published["LastUpdateStatus"]) == ("Active", "Successful")
    assert published["RevisionId"] != latest["RevisionId"]

    # Publishing gives $LATEST a new RevisionId; the old one is stale.
    after = client.get_function_configuration(FunctionName=fn_name)
    assert after["RevisionId"] not in (latest["RevisionId"], published["RevisionId"])
    with pytest.raises(ClientError) as exc:
        client.publish_version(FunctionName=fn_name, RevisionId=latest["RevisionId"])
    assert error_of(exc)[:2] == ("PreconditionFailedException", 412)

    # Nothing changed since version 1: publishing again returns it.
    again = client.publish_version(FunctionName=fn_name, Description="ignored: nothing changed")
    assert (again["Version"], again["RevisionId"]) == ("1", published["RevisionId"])
    assert again["Description"] == "the function"

    with pytest.raises(ClientError) as exc:
        client.publish_version(FunctionName=fn_name, CodeSha256="bm90IHRoZSBjb2Rl")
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert message == (f"CodeSHA256 (bm90IHRoZSBjb2Rl) is different from current CodeSHA256 in $LATEST "
                       f"({created['CodeSha256']}). Please try again with the CodeSHA256 in $LATEST.")  # fmt: skip

    # A configuration change is a change; a Description given is the version's own.
    client.update_function_configuration(FunctionName=fn_name, Timeout=7)
    client.get_waiter("function_updated_v2").wait(FunctionName=fn_name)
    second = client.publish_version(FunctionName=fn_name, Description="seven seconds")
    assert (second["Version"], second["Timeout"], second["Description"]) == ("2", 7, "seven seconds")
    assert client.get_function_configuration(FunctionName=fn_name, Qualifier="1")["Timeout"] == 3

    with pytest.raises(ClientError) as exc:
        client.publish_version(FunctionName=f"{fn_name}-missing")
    assert error_of(exc) == ("ResourceNotFoundException", 404, f"Function not found: {arn(fn_name + '-missing')}")


def test_list_versions_by_function(client: Any, two_versions: str) -> None:
    name = two_versions
    versions = client.list_versions_by_function(FunctionName=name)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]
    assert [v["FunctionArn"] for v in versions] == [arn(name, "$LATEST"), arn(name, "1"), arn(name, "2")]
    assert "NextMarker" not in client.list_versions_by_function(FunctionName=name)

    seen, marker = [], None
    while True:
        more = {"Marker": marker} if marker else {}
        page = client.list_versions_by_function(FunctionName=arn(name), MaxItems=1, **more)
        assert len(page["Versions"]) == 1
        seen += [v["Version"] for v in page["Versions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert seen == ["$LATEST", "1", "2"]

    with pytest.raises(ClientError) as exc:
        client.list_versions_by_function(FunctionName=f"{name}-missing")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_get_function_with_a_qualifier(client: Any, two_versions: str) -> None:
    name = two_versions
    one = client.get_function(FunctionName=name, Qualifier="1")
    assert one["Configuration"]["Version"] == "1" and one["Configuration"]["FunctionArn"] == arn(name, "1")
    with urllib.request.urlopen(one["Code"]["Location"]) as response:
        assert response.read() == package("one")
    for identifier in (f"{name}:1", arn(name, "1"), f"000000000000:function:{name}:1"):
        assert client.get_function(FunctionName=identifier)["Configuration"]["Version"] == "1", identifier
        assert client.get_function_configuration(FunctionName=identifier)["Version"] == "1", identifier

    latest = client.get_function_configuration(FunctionName=name, Qualifier="$LATEST")
    assert (latest["Version"], latest["FunctionArn"]) == ("$LATEST", arn(name, "$LATEST"))
    assert client.get_function_configuration(FunctionName=name)["FunctionArn"] == arn(name)

    for qualifier in ("9", "no-such-alias"):
        with pytest.raises(ClientError) as exc:
            client.get_function(FunctionName=name, Qualifier=qualifier)
        assert error_of(exc) == ("ResourceNotFoundException", 404, f"Function not found: {arn(name, qualifier)}")
    with pytest.raises(ClientError) as exc:
        client.get_function(FunctionName=f"{name}:1", Qualifier="2")
    assert error_of(exc)[:2] == ("InvalidParameterValueException", 400)
    raw = lambda_client(client.meta.endpoint_url, parameter_validation=False)
    with pytest.raises(ClientError) as exc:
        raw.get_function(FunctionName=name, Qualifier="not valid!")
    assert error_of(exc)[:2] == ("ValidationException", 400)


def test_publish_on_create_and_on_code_update(client: Any, fn_name: str) -> None:
    created = client.create_function(FunctionName=fn_name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                                     Code={"ZipFile": package("one")}, Publish=True)  # fmt: skip
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["Version"] == "1" and created["FunctionArn"] == arn(fn_name)
    client.get_waiter("function_active_v2").wait(FunctionName=fn_name, Qualifier="1")
    client.get_waiter("function_active_v2").wait(FunctionName=fn_name)  # $LATEST too, before it is updated

    updated = client.update_function_code(FunctionName=fn_name, ZipFile=package("two"), Publish=True)
    assert updated["Version"] == "2" and updated["FunctionArn"] == arn(fn_name, "2")
    client.get_waiter("function_updated_v2").wait(FunctionName=fn_name)
    client.get_waiter("function_active_v2").wait(FunctionName=fn_name, Qualifier="2")
    assert call(client, FunctionName=fn_name, Qualifier="1")[1]["mark"] == "one"
    assert call(client, FunctionName=fn_name, Qualifier="2")[1]["mark"] == "two"
    assert versions_of(client, fn_name) == ["$LATEST", "1", "2"]


def test_invoking_a_version_runs_its_own_code_in_its_own_environments(client: Any, two_versions: str) -> None:
    name = two_versions
    update_code(client, name, "three")  # $LATEST moves on; the versions keep their code

    response, latest = call(client, FunctionName=name)
    assert response["ExecutedVersion"] == "$LATEST"
    assert latest == {"mark": "three", "env_version": "$LATEST", "context_version": "$LATEST",
                      "invoked_arn": arn(name), "token": latest["token"]}  # fmt: skip
    response, one = call(client, FunctionName=name, Qualifier="1", LogType="Tail")
    assert response["ExecutedVersion"] == "1"
    assert one == {"mark": "one", "env_version": "1", "context_version": "1", "invoked_arn": arn(name, "1"),
                   "token": one["token"]}  # fmt: skip
    assert "Version: 1" in base64.b64decode(response["LogResult"]).decode()
    assert call(client, FunctionName=f"{name}:2")[1]["mark"] == "two"

    # Every version is a warm pool of its own: $LATEST and 1 never share an environment.
    assert one["token"] != latest["token"]
    assert call(client, FunctionName=name)[1]["token"] == latest["token"]
    assert call(client, FunctionName=arn(name, "1"))[1]["token"] == one["token"]
    _, explicit = call(client, FunctionName=name, Qualifier="$LATEST")
    assert explicit["invoked_arn"] == arn(name, "$LATEST") and explicit["token"] == latest["token"]

    with pytest.raises(ClientError) as exc:
        client.invoke(FunctionName=name, Qualifier="9", Payload=b"{}")
    assert error_of(exc) == ("ResourceNotFoundException", 404, f"Function not found: {arn(name, '9')}")


def test_delete_a_version(client: Any, two_versions: str) -> None:
    name = two_versions
    client.create_alias(FunctionName=name, Name="stable", FunctionVersion="1")
    client.create_alias(FunctionName=name, Name="canary", FunctionVersion="1",
                        RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}})  # fmt: skip
    for version in ("1", "2"):
        with pytest.raises(ClientError) as exc:
            client.delete_function(FunctionName=name, Qualifier=version)
        expected = "[canary, stable]" if version == "1" else "[canary]"
        message = f"Unable to delete version because the following aliases reference it: {expected}"
        assert error_of(exc) == ("ResourceConflictException", 409, message)

    for qualifier, message in (("$LATEST", "$LATEST version cannot be deleted without deleting the function."),
                               ("stable", "Deletion of aliases is not currently supported.")):  # fmt: skip
        with pytest.raises(ClientError) as exc:
            client.delete_function(FunctionName=name, Qualifier=qualifier)
        assert error_of(exc) == ("InvalidParameterValueException", 400, message)

    client.delete_alias(FunctionName=name, Name="canary")
    deleted = client.delete_function(FunctionName=f"{name}:2")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    client.delete_function(FunctionName=name, Qualifier="2")  # gone already: not an error
    assert versions_of(client, name) == ["$LATEST", "1"]
    with pytest.raises(ClientError) as exc:
        client.invoke(FunctionName=name, Qualifier="2", Payload=b"{}")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)

    # Numbers are never reused.
    update_code(client, name, "three")
    assert client.publish_version(FunctionName=name)["Version"] == "3"
    assert client.get_function(FunctionName=name)["Configuration"]["Version"] == "$LATEST"  # the function stays


def test_deleting_the_function_deletes_its_versions_and_aliases(client: Any, two_versions: str) -> None:
    name = two_versions
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="2")
    client.delete_function(FunctionName=name)
    for qualifier in ("1", "live"):
        with pytest.raises(ClientError) as exc:
            client.get_function(FunctionName=name, Qualifier=qualifier)
        assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)

    deploy(client, name, {"app.py": CODE.format(mark="again")})  # a new function under the same name
    assert versions_of(client, name) == ["$LATEST"]
    assert client.list_aliases(FunctionName=name)["Aliases"] == []
    assert client.publish_version(FunctionName=name)["Version"] == "1"


# -- aliases ----------------------------------------------------------------------------------


def test_alias_api(client: Any, two_versions: str) -> None:
    name = two_versions
    created = client.create_alias(FunctionName=name, Name="live", FunctionVersion="1", Description="production")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    doc = {k: v for k, v in created.items() if k != "ResponseMetadata"}
    assert set(doc) == ALIAS_KEYS
    assert (doc["AliasArn"], doc["Name"], doc["FunctionVersion"], doc["Description"]) == (
        arn(name, "live"), "live", "1", "production")  # fmt: skip

    got = client.get_alias(FunctionName=arn(name), Name="live")
    assert {k: v for k, v in got.items() if k != "ResponseMetadata"} == doc

    with pytest.raises(ClientError) as exc:
        client.create_alias(FunctionName=name, Name="live", FunctionVersion="2")
    assert error_of(exc) == ("ResourceConflictException", 409, f"Alias already exists: {arn(name, 'live')}")

    routed = client.update_alias(FunctionName=name, Name="live", FunctionVersion="2", RevisionId=doc["RevisionId"],
                                 RoutingConfig={"AdditionalVersionWeights": {"1": 0.25}})  # fmt: skip
    assert routed["FunctionVersion"] == "2" and routed["Description"] == "production"
    assert routed["RoutingConfig"] == {"AdditionalVersionWeights": {"1": 0.25}}
    assert routed["RevisionId"] != doc["RevisionId"]
    with pytest.raises(ClientError) as exc:
        client.update_alias(FunctionName=name, Name="live", Description="stale", RevisionId=doc["RevisionId"])
    assert error_of(exc)[:2] == ("PreconditionFailedException", 412)
    cleared = client.update_alias(FunctionName=name, Name="live", RoutingConfig={"AdditionalVersionWeights": {}})
    assert "RoutingConfig" not in cleared and cleared["FunctionVersion"] == "2"

    client.create_alias(FunctionName=name, Name="beta", FunctionVersion="1")
    client.create_alias(FunctionName=name, Name="edge", FunctionVersion="$LATEST")
    listed = client.list_aliases(FunctionName=name)["Aliases"]
    assert [a["Name"] for a in listed] == ["beta", "edge", "live"]
    assert set(listed[0]) == ALIAS_KEYS
    assert [a["Name"] for a in client.list_aliases(FunctionName=name, FunctionVersion="1")["Aliases"]] == ["beta"]
    first = client.list_aliases(FunctionName=name, MaxItems=2)
    assert [a["Name"] for a in first["Aliases"]] == ["beta", "edge"] and first["NextMarker"]
    rest = client.list_aliases(FunctionName=name, MaxItems=2, Marker=first["NextMarker"])
    assert [a["Name"] for a in rest["Aliases"]] == ["live"] and "NextMarker" not in rest

    assert client.delete_alias(FunctionName=name, Name="beta")["ResponseMetadata"]["HTTPStatusCode"] == 204
    client.delete_alias(FunctionName=name, Name="beta")  # as on Lambda: deleting a missing alias is not an error
    with pytest.raises(ClientError) as exc:
        client.get_alias(FunctionName=name, Name="beta")
    assert error_of(exc) == ("ResourceNotFoundException", 404, f"Cannot find alias arn: {arn(name, 'beta')}")
    with pytest.raises(ClientError) as exc:
        client.update_alias(FunctionName=name, Name="beta", FunctionVersion="1")
    assert error_of(exc) == ("ResourceNotFoundException", 404, f"Alias not found: {arn(name, 'beta')}")
    with pytest.raises(ClientError) as exc:
        client.list_aliases(FunctionName=f"{name}-missing")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"Name": "123", "FunctionVersion": "1"}, ("ValidationException", 400)),
        ({"Name": "bad name", "FunctionVersion": "1"}, ("ValidationException", 400)),
        ({"Name": "a" * 129, "FunctionVersion": "1"}, ("ValidationException", 400)),
        ({"Name": "ok", "FunctionVersion": "latest"}, ("ValidationException", 400)),
        ({"Name": "ok"}, ("ValidationException", 400)),
        ({"Name": "ok", "FunctionVersion": "9"}, ("ResourceNotFoundException", 404)),
        ({"Name": "ok", "FunctionVersion": "1", "RoutingConfig": {"AdditionalVersionWeights": {"2": 1.5}}},
         ("ValidationException", 400)),
        ({"Name": "ok", "FunctionVersion": "1", "RoutingConfig": {"AdditionalVersionWeights": {"2": -0.1}}},
         ("ValidationException", 400)),
        ({"Name": "ok", "FunctionVersion": "1", "RoutingConfig": {"AdditionalVersionWeights": {"x": 0.5}}},
         ("ValidationException", 400)),
        ({"Name": "ok", "FunctionVersion": "1", "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.1, "3": 0.1}}},
         ("InvalidParameterValueException", 400)),
        ({"Name": "ok", "FunctionVersion": "1", "RoutingConfig": {"AdditionalVersionWeights": {"1": 0.5}}},
         ("InvalidParameterValueException", 400)),
        ({"Name": "ok", "FunctionVersion": "$LATEST", "RoutingConfig": {"AdditionalVersionWeights": {"1": 0.5}}},
         ("InvalidParameterValueException", 400)),
        ({"Name": "ok", "FunctionVersion": "1", "RoutingConfig": {"AdditionalVersionWeights": {"7": 0.5}}},
         ("ResourceNotFoundException", 404)),
    ],
)  # fmt: skip
def test_alias_validation(client: Any, two_versions: str, kwargs: dict[str, Any], expected: tuple[str, int]) -> None:
    raw = lambda_client(client.meta.endpoint_url, parameter_validation=False)
    with pytest.raises(ClientError) as exc:
        raw.create_alias(FunctionName=two_versions, **kwargs)
    assert error_of(exc)[:2] == expected
    assert client.list_aliases(FunctionName=two_versions)["Aliases"] == []


def test_an_alias_routes_only_between_versions_with_the_same_dead_letter_queue(client: Any, two_versions: str) -> None:
    name = two_versions
    client.update_function_configuration(FunctionName=name,
                                         DeadLetterConfig={"TargetArn": "arn:aws:sqs:us-east-1:000000000000:d"})  # fmt: skip
    client.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert client.publish_version(FunctionName=name)["Version"] == "3"
    with pytest.raises(ClientError) as exc:
        client.create_alias(FunctionName=name, Name="split", FunctionVersion="2",
                            RoutingConfig={"AdditionalVersionWeights": {"3": 0.5}})  # fmt: skip
    assert error_of(exc)[:2] == ("InvalidParameterValueException", 400)
    assert "dead-letter queue" in error_of(exc)[2]
    client.create_alias(FunctionName=name, Name="split", FunctionVersion="1",
                        RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})  # fmt: skip


def test_invoking_an_alias(client: Any, two_versions: str) -> None:
    name = two_versions
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    for kwargs in (
        {"FunctionName": f"{name}:live"},
        {"FunctionName": arn(name, "live")},
        {"FunctionName": f"000000000000:function:{name}:live"},
        {"FunctionName": name, "Qualifier": "live"},
    ):
        response, body = call(client, **kwargs)
        assert response["ExecutedVersion"] == "1", kwargs
        assert (body["mark"], body["env_version"], body["context_version"]) == ("one", "1", "1"), kwargs
        assert body["invoked_arn"] == arn(name, "live"), kwargs  # as invoked, with the alias

    config = client.get_function(FunctionName=name, Qualifier="live")["Configuration"]
    assert (config["Version"], config["FunctionArn"]) == ("1", arn(name, "live"))

    client.update_alias(FunctionName=name, Name="live", FunctionVersion="2")
    response, body = call(client, FunctionName=f"{name}:live")
    assert (response["ExecutedVersion"], body["mark"]) == ("2", "two")

    with pytest.raises(ClientError) as exc:
        client.invoke(FunctionName=f"{name}:nope", Payload=b"{}")
    assert error_of(exc) == ("ResourceNotFoundException", 404, f"Function not found: {arn(name, 'nope')}")


def test_weighted_routing_splits_invocations_by_weight(client: Any, two_versions: str) -> None:
    name, weight, total = two_versions, 0.3, 400
    client.create_alias(FunctionName=name, Name="canary", FunctionVersion="1",
                        RoutingConfig={"AdditionalVersionWeights": {"2": weight}})  # fmt: skip
    executed: Counter[str] = Counter()
    for _ in range(total):
        response, body = call(client, FunctionName=name, Qualifier="canary")
        assert body["env_version"] == response["ExecutedVersion"]  # the version reported is the one that ran
        assert body["mark"] == {"1": "one", "2": "two"}[response["ExecutedVersion"]]
        executed[response["ExecutedVersion"]] += 1
    assert set(executed) == {"1", "2"} and sum(executed.values()) == total
    # Version 2's count is Binomial(400, 0.3): mean 120, sd 9.2. Five sd either side fails a
    # correct router about once in 3.5 million runs; a router ignoring the weight fails.
    sd = math.sqrt(total * weight * (1 - weight))
    assert abs(executed["2"] - total * weight) <= 5 * sd, executed

    client.update_alias(FunctionName=name, Name="canary", RoutingConfig={"AdditionalVersionWeights": {"2": 0.0}})
    assert {call(client, FunctionName=f"{name}:canary")[0]["ExecutedVersion"] for _ in range(30)} == {"1"}
    client.update_alias(FunctionName=name, Name="canary", RoutingConfig={"AdditionalVersionWeights": {"2": 1.0}})
    assert {call(client, FunctionName=f"{name}:canary")[0]["ExecutedVersion"] for _ in range(30)} == {"2"}


# -- persistence and clients ------------------------------------------------------------------


def test_versions_and_aliases_survive_a_restart(make_server: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = make_server(data)
    client = server.client()
    name = "kept"
    deploy(client, name, {"app.py": CODE.format(mark="one")})
    client.publish_version(FunctionName=name)
    update_code(client, name, "two")
    client.publish_version(FunctionName=name)
    update_code(client, name, "three")
    client.publish_version(FunctionName=name)
    client.delete_function(FunctionName=name, Qualifier="3")
    update_code(client, name, "four")  # version 1's and 2's code are no longer $LATEST's
    alias = client.create_alias(FunctionName=name, Name="live", FunctionVersion="1",
                                RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})  # fmt: skip
    before = client.list_versions_by_function(FunctionName=name)["Versions"]
    server.stop()

    client = make_server(data).client()
    after = client.list_versions_by_function(FunctionName=name)["Versions"]
    assert [v["Version"] for v in after] == ["$LATEST", "1", "2"]
    assert [(v["RevisionId"], v["CodeSha256"]) for v in after] == [(v["RevisionId"], v["CodeSha256"]) for v in before]
    got = client.get_alias(FunctionName=name, Name="live")
    assert {k: v for k, v in got.items() if k != "ResponseMetadata"} == {
        k: v for k, v in alias.items() if k != "ResponseMetadata"}  # fmt: skip
    # The versions' code was kept through start-up's collection of unused code.
    assert call(client, FunctionName=name, Qualifier="1")[1]["mark"] == "one"
    assert call(client, FunctionName=name, Qualifier="2")[1]["mark"] == "two"
    assert call(client, FunctionName=name)[1]["mark"] == "four"
    assert {call(client, FunctionName=f"{name}:live")[0]["ExecutedVersion"] for _ in range(40)} == {"1", "2"}
    # Version 3 was deleted before the restart: its number is not used again.
    assert client.publish_version(FunctionName=name)["Version"] == "4"


def test_aws_cli(lamina: Any, fn_name: str, tmp_path: Path) -> None:
    def aws(*args: str) -> Any:
        env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
               "PATH": "/usr/bin:/bin"}  # fmt: skip
        done = subprocess.run([str(VENV_BIN / "aws"), "--endpoint-url", lamina.endpoint, "lambda", *args],
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else None

    (tmp_path / "fn.zip").write_bytes(package("cli"))
    aws("create-function", "--function-name", fn_name, "--runtime", "python3.11", "--handler", "app.handler",
        "--role", ROLE, "--zip-file", "fileb://fn.zip")  # fmt: skip
    aws("wait", "function-active-v2", "--function-name", fn_name)
    assert aws("publish-version", "--function-name", fn_name, "--description", "first")["Version"] == "1"
    created = aws("create-alias", "--function-name", fn_name, "--name", "live", "--function-version", "1",
                  "--routing-config", "AdditionalVersionWeights={}")  # fmt: skip
    assert created["AliasArn"] == arn(fn_name, "live")
    versions = aws("list-versions-by-function", "--function-name", fn_name)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]
    invoked = aws("invoke", "--function-name", fn_name, "--qualifier", "live", "out.json")
    assert invoked["ExecutedVersion"] == "1"
    assert json.loads((tmp_path / "out.json").read_text())["invoked_arn"] == arn(fn_name, "live")
    assert [a["Name"] for a in aws("list-aliases", "--function-name", fn_name)["Aliases"]] == ["live"]
    aws("delete-alias", "--function-name", fn_name, "--name", "live")
    aws("delete-function", "--function-name", fn_name, "--qualifier", "1")
    aws("delete-function", "--function-name", fn_name)
