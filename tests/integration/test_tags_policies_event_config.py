"""Tags, resource-based policies and asynchronous-invocation configuration through boto3 and the AWS CLI."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROLE, deploy, lambda_client, make_zip
from tests.integration.test_clients import aws_cli

HANDLER = "def handler(event, context):\n    return event\n"
ACCOUNT = "000000000000"


def arn(name: str, qualifier: str | None = None) -> str:
    base = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"
    return f"{base}:{qualifier}" if qualifier else base


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


@pytest.fixture(scope="module")
def raw(lamina: Any) -> Any:
    """A client that does not validate parameters, to see the server's own validation."""
    return lambda_client(lamina.endpoint, parameter_validation=False)


# -- tags --------------------------------------------------------------------------------------


def test_tags(client: Any, raw: Any, fn_name: str) -> None:
    deploy(client, fn_name, HANDLER, Tags={"team": "core", "env": "dev"})
    assert client.get_function(FunctionName=fn_name)["Tags"] == {"team": "core", "env": "dev"}
    assert client.list_tags(Resource=arn(fn_name))["Tags"] == {"team": "core", "env": "dev"}

    response = client.tag_resource(Resource=arn(fn_name), Tags={"env": "prod", "cost-center": "42 / ü:x@y"})
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert client.list_tags(Resource=arn(fn_name))["Tags"] == {"team": "core", "env": "prod", "cost-center": "42 / ü:x@y"}
    response = client.untag_resource(Resource=arn(fn_name), TagKeys=["team", "not-there"])
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert client.list_tags(Resource=arn(fn_name))["Tags"] == {"env": "prod", "cost-center": "42 / ü:x@y"}
    client.untag_resource(Resource=arn(fn_name), TagKeys=["env", "cost-center"])
    assert client.list_tags(Resource=arn(fn_name))["Tags"] == {}
    assert "Tags" not in client.get_function(FunctionName=fn_name)  # as AWS: only when there are some

    # Up to 50, counting the tags already there.
    client.tag_resource(Resource=arn(fn_name), Tags={f"k{i}": str(i) for i in range(50)})
    with pytest.raises(ClientError) as exc:
        client.tag_resource(Resource=arn(fn_name), Tags={"one-more": "x"})
    assert error(exc) == ("InvalidParameterValueException", 400, "Number of tags exceeds resource tag limit.")
    client.tag_resource(Resource=arn(fn_name), Tags={"k0": "replaced"})  # replacing one is fine
    assert len(client.list_tags(Resource=arn(fn_name))["Tags"]) == 50


def test_tag_errors(client: Any, raw: Any, fn_name: str) -> None:
    deploy(client, fn_name, HANDLER)
    with pytest.raises(ClientError) as exc:
        client.tag_resource(Resource=arn(fn_name, "$LATEST"), Tags={"a": "b"})
    assert error(exc) == ("InvalidParameterValueException", 400,
                          "Tags on function aliases and versions are not supported. Please specify a function ARN.")  # fmt: skip
    with pytest.raises(ClientError) as exc:
        client.list_tags(Resource=arn("nope-" + fn_name))
    assert error(exc) == ("ResourceNotFoundException", 404, f"Function not found: {arn('nope-' + fn_name)}")
    with pytest.raises(ClientError) as exc:
        client.list_tags(Resource=fn_name)  # a name is not an ARN
    code, status, message = error(exc)
    assert (code, status) == ("ValidationException", 400) and f"Value '{fn_name}' at 'resource'" in message
    with pytest.raises(ClientError) as exc:
        client.tag_resource(Resource=arn(fn_name), Tags={f"k{i}": "v" for i in range(51)})
    assert error(exc)[0] == "InvalidParameterValueException"
    with pytest.raises(ClientError) as exc:
        raw.tag_resource(Resource=arn(fn_name), Tags={"k" * 129: "v"})
    code, status, message = error(exc)
    assert (code, status) == ("ValidationException", 400) and "Map keys must satisfy constraint" in message
    with pytest.raises(ClientError) as exc:
        raw.tag_resource(Resource=arn(fn_name), Tags={"ok": "no#hash"})
    assert "Map value must satisfy constraint" in error(exc)[2]
    with pytest.raises(ClientError) as exc:
        raw.tag_resource(Resource=arn(fn_name), Tags={})
    assert error(exc)[0] == "InvalidParameterValueException"
    with pytest.raises(ClientError) as exc:
        raw.untag_resource(Resource=arn(fn_name), TagKeys=[])
    assert error(exc)[:2] == ("ValidationException", 400)
    assert client.list_tags(Resource=arn(fn_name))["Tags"] == {}

    # Invalid Tags on CreateFunction refuse the whole function.
    with pytest.raises(ClientError) as exc:
        raw.create_function(FunctionName=f"{fn_name}-x", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": make_zip({"app.py": HANDLER})}, Tags={"bad#key": "v"})  # fmt: skip
    assert error(exc)[0] == "ValidationException"
    with pytest.raises(ClientError):
        client.get_function(FunctionName=f"{fn_name}-x")


def test_deleting_a_function_takes_its_tags_policy_and_event_config(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, HANDLER, Tags={"a": "1"})
    client.add_permission(FunctionName=fn_name, StatementId="s", Action="lambda:InvokeFunction", Principal="*")
    client.put_function_event_invoke_config(FunctionName=fn_name, MaximumRetryAttempts=0)
    client.delete_function(FunctionName=fn_name)
    with pytest.raises(ClientError) as exc:
        client.list_tags(Resource=arn(fn_name))
    assert error(exc)[0] == "ResourceNotFoundException"

    deploy(client, fn_name, HANDLER)  # the same name again starts with nothing
    assert client.list_tags(Resource=arn(fn_name))["Tags"] == {}
    assert "Tags" not in client.get_function(FunctionName=fn_name)
    with pytest.raises(ClientError) as exc:
        client.get_policy(FunctionName=fn_name)
    assert error(exc)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        client.get_function_event_invoke_config(FunctionName=fn_name)
    assert error(exc)[0] == "ResourceNotFoundException"


# -- permissions -------------------------------------------------------------------------------


def test_permissions(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, HANDLER)
    with pytest.raises(ClientError) as exc:
        client.get_policy(FunctionName=fn_name)
    assert error(exc) == ("ResourceNotFoundException", 404, "The resource you requested does not exist.")

    added = client.add_permission(
        FunctionName=fn_name, StatementId="s3-invoke", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::my-bucket", SourceAccount="123456789012",
    )  # fmt: skip
    assert added["ResponseMetadata"]["HTTPStatusCode"] == 201
    s3 = {
        "Sid": "s3-invoke", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "lambda:InvokeFunction", "Resource": arn(fn_name),
        "Condition": {"StringEquals": {"AWS:SourceAccount": "123456789012"},
                      "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::my-bucket"}},
    }  # fmt: skip
    assert json.loads(added["Statement"]) == s3

    first = client.get_policy(FunctionName=fn_name)
    account = client.add_permission(FunctionName=arn(fn_name), StatementId="other-account", Action="lambda:*",
                                    Principal="111122223333", RevisionId=first["RevisionId"])  # fmt: skip
    assert json.loads(account["Statement"])["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    url = client.add_permission(FunctionName=fn_name, StatementId="url", Action="lambda:InvokeFunctionUrl",
                                Principal="*", FunctionUrlAuthType="NONE", PrincipalOrgID="o-abcdefghij")  # fmt: skip
    assert json.loads(url["Statement"])["Principal"] == "*"
    assert json.loads(url["Statement"])["Condition"] == {
        "StringEquals": {"lambda:FunctionUrlAuthType": "NONE", "aws:PrincipalOrgID": "o-abcdefghij"}
    }

    got = client.get_policy(FunctionName=fn_name)
    policy = json.loads(got["Policy"])
    assert (policy["Version"], policy["Id"]) == ("2012-10-17", "default")
    assert [s["Sid"] for s in policy["Statement"]] == ["s3-invoke", "other-account", "url"]
    assert policy["Statement"][0] == s3
    assert got["RevisionId"] != first["RevisionId"]  # every change renews it

    with pytest.raises(ClientError) as exc:
        client.add_permission(FunctionName=fn_name, StatementId="url", Action="lambda:InvokeFunction", Principal="*")
    assert error(exc) == ("ResourceConflictException", 409, "The statement id (url) provided already exists. "
                          "Please provide a new statement id, or remove the existing statement.")  # fmt: skip
    with pytest.raises(ClientError) as exc:
        client.add_permission(FunctionName=fn_name, StatementId="late", Action="lambda:InvokeFunction", Principal="*",
                              RevisionId=first["RevisionId"])  # fmt: skip
    assert error(exc)[:2] == ("PreconditionFailedException", 412)
    with pytest.raises(ClientError) as exc:
        client.remove_permission(FunctionName=fn_name, StatementId="url", RevisionId=first["RevisionId"])
    assert error(exc)[:2] == ("PreconditionFailedException", 412)

    client.remove_permission(FunctionName=fn_name, StatementId="url", RevisionId=got["RevisionId"])
    with pytest.raises(ClientError) as exc:
        client.remove_permission(FunctionName=fn_name, StatementId="url")
    assert error(exc) == ("ResourceNotFoundException", 404, "Statement url is not found in resource policy.")
    client.remove_permission(FunctionName=fn_name, StatementId="s3-invoke")
    client.remove_permission(FunctionName=fn_name, StatementId="other-account")
    with pytest.raises(ClientError) as exc:  # the last statement took the policy with it
        client.get_policy(FunctionName=fn_name)
    assert error(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        client.remove_permission(FunctionName=fn_name, StatementId="s3-invoke")
    assert error(exc) == ("ResourceNotFoundException", 404, "No policy is associated with the given resource.")


def test_permission_errors(client: Any, raw: Any, fn_name: str) -> None:
    deploy(client, fn_name, HANDLER)
    invoke = {"Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com"}
    with pytest.raises(ClientError) as exc:
        client.add_permission(FunctionName=fn_name, StatementId="s", Qualifier="$LATEST", **invoke)
    assert error(exc) == ("InvalidParameterValueException", 400, "We currently do not support adding policies for $LATEST.")
    with pytest.raises(ClientError) as exc:  # no versions or aliases yet
        client.add_permission(FunctionName=fn_name, StatementId="s", Qualifier="1", **invoke)
    assert error(exc) == ("ResourceNotFoundException", 404, f"Function not found: {arn(fn_name, '1')}")
    with pytest.raises(ClientError) as exc:
        client.get_policy(FunctionName=fn_name, Qualifier="live")
    assert error(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        client.add_permission(FunctionName=f"{fn_name}:live", StatementId="s", Qualifier="prod", **invoke)
    assert error(exc) == ("InvalidParameterValueException", 400,
                          "The derived qualifier from the function name does not match the specified qualifier.")  # fmt: skip
    with pytest.raises(ClientError) as exc:
        client.add_permission(FunctionName="nope-" + fn_name, StatementId="s", **invoke)
    assert error(exc) == ("ResourceNotFoundException", 404, f"Function not found: {arn('nope-' + fn_name)}")
    with pytest.raises(ClientError) as exc:
        client.get_policy(FunctionName="nope-" + fn_name)
    assert error(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        client.add_permission(FunctionName=fn_name, StatementId="s", Action="lambda:InvokeFunction", Principal="bob")
    assert error(exc) == ("InvalidParameterValueException", 400,
                          "The provided principal was invalid. Please check the principal and try again.")  # fmt: skip
    for bad in ({"StatementId": "has space"}, {"Action": "s3:GetObject"}, {"SourceAccount": "123"},
                {"SourceArn": "not-an-arn"}, {"FunctionUrlAuthType": "MAYBE"}, {"PrincipalOrgID": "org"}):  # fmt: skip
        with pytest.raises(ClientError) as exc:
            raw.add_permission(FunctionName=fn_name, **{"StatementId": "s", **invoke, **bad})
        assert error(exc)[:2] == ("ValidationException", 400), bad
    with pytest.raises(ClientError) as exc:
        raw.add_permission(FunctionName=fn_name, Action="lambda:InvokeFunction", Principal="*")
    assert error(exc)[2].endswith("Value null at 'statementId' failed to satisfy constraint: Member must not be null")

    # A policy has at most 20 KB.
    long_arn = "arn:aws:s3:::" + "b" * 8000
    for sid in ("a", "b"):
        client.add_permission(FunctionName=fn_name, StatementId=sid, SourceArn=long_arn, **invoke)
    with pytest.raises(ClientError) as exc:
        client.add_permission(FunctionName=fn_name, StatementId="c", SourceArn=long_arn, **invoke)
    code, status, message = error(exc)
    assert (code, status) == ("PolicyLengthExceededException", 400) and "bigger than the limit (20480)" in message
    assert len(json.loads(client.get_policy(FunctionName=fn_name)["Policy"])["Statement"]) == 2


# -- asynchronous-invocation configuration ------------------------------------------------------


def test_event_invoke_config(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, HANDLER)
    target = f"{fn_name}-target"
    deploy(client, target, HANDLER)
    with pytest.raises(ClientError) as exc:
        client.get_function_event_invoke_config(FunctionName=fn_name)
    assert error(exc) == ("ResourceNotFoundException", 404,
                          f"The function {arn(fn_name, '$LATEST')} doesn't have an EventInvokeConfig")  # fmt: skip

    put = client.put_function_event_invoke_config(FunctionName=fn_name, MaximumRetryAttempts=1,
                                                  MaximumEventAgeInSeconds=3600)  # fmt: skip
    assert put["FunctionArn"] == arn(fn_name, "$LATEST")
    assert (put["MaximumRetryAttempts"], put["MaximumEventAgeInSeconds"]) == (1, 3600)
    assert put["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((put["LastModified"] - now).total_seconds()) < 60

    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:failures"
    destinations = {"OnSuccess": {"Destination": arn(target)}, "OnFailure": {"Destination": queue}}
    updated = client.update_function_event_invoke_config(FunctionName=fn_name, DestinationConfig=destinations)
    assert (updated["MaximumRetryAttempts"], updated["MaximumEventAgeInSeconds"]) == (1, 3600)  # kept
    assert updated["DestinationConfig"] == destinations
    updated = client.update_function_event_invoke_config(FunctionName=fn_name, MaximumRetryAttempts=0,
                                                         DestinationConfig={"OnSuccess": {}})  # fmt: skip
    assert updated["MaximumRetryAttempts"] == 0
    assert updated["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {"Destination": queue}}
    got = client.get_function_event_invoke_config(FunctionName=arn(fn_name))
    assert {k: v for k, v in got.items() if k != "ResponseMetadata"} == {
        k: v for k, v in updated.items() if k != "ResponseMetadata"
    }

    replaced = client.put_function_event_invoke_config(FunctionName=fn_name, MaximumEventAgeInSeconds=60)
    assert "MaximumRetryAttempts" not in replaced  # put replaces: what is not given is unset
    assert replaced["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}

    listed = client.list_function_event_invoke_configs(FunctionName=fn_name)
    assert [c["FunctionArn"] for c in listed["FunctionEventInvokeConfigs"]] == [arn(fn_name, "$LATEST")]
    assert "NextMarker" not in listed
    assert client.list_function_event_invoke_configs(FunctionName=target)["FunctionEventInvokeConfigs"] == []

    deleted = client.delete_function_event_invoke_config(FunctionName=fn_name)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        client.delete_function_event_invoke_config(FunctionName=fn_name)
    assert error(exc) == ("ResourceNotFoundException", 404,
                          f"The function {arn(fn_name)} doesn't have an EventInvokeConfig")  # fmt: skip
    with pytest.raises(ClientError) as exc:
        client.update_function_event_invoke_config(FunctionName=fn_name, MaximumRetryAttempts=1)
    assert error(exc)[:2] == ("ResourceNotFoundException", 404)


def test_event_invoke_config_errors(client: Any, raw: Any, fn_name: str) -> None:
    deploy(client, fn_name, HANDLER)
    for bad, field in (({"MaximumRetryAttempts": 3}, "maximumRetryAttempts"),
                       ({"MaximumEventAgeInSeconds": 59}, "maximumEventAgeInSeconds"),
                       ({"MaximumEventAgeInSeconds": 21601}, "maximumEventAgeInSeconds"),
                       ({"DestinationConfig": {"OnFailure": {"Destination": "queue"}}},
                        "destinationConfig.onFailure.destination")):  # fmt: skip
        with pytest.raises(ClientError) as exc:
            raw.put_function_event_invoke_config(FunctionName=fn_name, **bad)
        code, status, message = error(exc)
        assert (code, status) == ("ValidationException", 400) and f"at '{field}'" in message, bad
    with pytest.raises(ClientError) as exc:
        client.put_function_event_invoke_config(FunctionName=fn_name)
    assert error(exc) == ("InvalidParameterValueException", 400,
                          "You must specify at least one of error handling or destination setting.")  # fmt: skip
    own = {"OnSuccess": {"Destination": arn(fn_name)}}
    with pytest.raises(ClientError) as exc:
        client.put_function_event_invoke_config(FunctionName=fn_name, DestinationConfig=own)
    assert error(exc) == ("InvalidParameterValueException", 400,
                          "You can't specify the function as a destination for itself.")  # fmt: skip
    missing = arn("nope-" + fn_name)
    with pytest.raises(ClientError) as exc:
        client.put_function_event_invoke_config(FunctionName=fn_name,
                                                DestinationConfig={"OnFailure": {"Destination": missing}})  # fmt: skip
    assert error(exc) == ("InvalidParameterValueException", 400, f"The destination ARN {missing} is invalid.")
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t"
    with pytest.raises(ClientError) as exc:
        client.put_function_event_invoke_config(FunctionName=fn_name,
                                                DestinationConfig={"OnFailure": {"Destination": table}})  # fmt: skip
    assert error(exc) == ("InvalidParameterValueException", 400, "The provided destination config DestinationConfig("
                          f"onSuccess=null, onFailure=OnFailure(destination={table})) is invalid.")  # fmt: skip
    with pytest.raises(ClientError) as exc:
        client.put_function_event_invoke_config(FunctionName="nope-" + fn_name, MaximumRetryAttempts=1)
    assert error(exc) == ("ResourceNotFoundException", 404, "The function doesn't exist.")
    with pytest.raises(ClientError) as exc:
        client.put_function_event_invoke_config(FunctionName=fn_name, Qualifier="1", MaximumRetryAttempts=1)
    assert error(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        client.list_function_event_invoke_configs(FunctionName="nope-" + fn_name)
    assert error(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        raw.list_function_event_invoke_configs(FunctionName=fn_name, MaxItems=51)
    assert error(exc)[:2] == ("ValidationException", 400)
    # $LATEST as a qualifier is the unqualified function's configuration.
    client.put_function_event_invoke_config(FunctionName=fn_name, Qualifier="$LATEST", MaximumRetryAttempts=2)
    assert client.get_function_event_invoke_config(FunctionName=fn_name)["MaximumRetryAttempts"] == 2


# -- durability and the AWS CLI ----------------------------------------------------------------


def test_a_restarted_server_has_them_all(make_server: Any, tmp_path: Path) -> None:
    server = make_server(tmp_path / "data")
    client = server.client()
    deploy(client, "kept", HANDLER, Tags={"kept": "yes"})
    client.add_permission(FunctionName="kept", StatementId="sns", Action="lambda:InvokeFunction",
                          Principal="sns.amazonaws.com")  # fmt: skip
    policy = client.get_policy(FunctionName="kept")
    topic = {"OnFailure": {"Destination": f"arn:aws:sns:us-east-1:{ACCOUNT}:t"}}
    put = client.put_function_event_invoke_config(FunctionName="kept", MaximumRetryAttempts=0, DestinationConfig=topic)
    assert server.stop() == 0

    client = make_server(tmp_path / "data").client()
    assert client.get_function(FunctionName="kept")["Tags"] == {"kept": "yes"}
    again = client.get_policy(FunctionName="kept")
    assert (again["Policy"], again["RevisionId"]) == (policy["Policy"], policy["RevisionId"])
    got = client.get_function_event_invoke_config(FunctionName="kept")
    assert (got["MaximumRetryAttempts"], got["DestinationConfig"], got["LastModified"]) == (
        0, put["DestinationConfig"], put["LastModified"])  # fmt: skip

    client.delete_function(FunctionName="kept")
    deploy(client, "kept", HANDLER)
    assert client.list_tags(Resource=arn("kept"))["Tags"] == {}
    assert client.list_function_event_invoke_configs(FunctionName="kept")["FunctionEventInvokeConfigs"] == []


def test_aws_cli(lamina: Any, fn_name: str, tmp_path: Path) -> None:
    package = tmp_path / "fn.zip"
    package.write_bytes(make_zip({"app.py": HANDLER}))
    created = aws_cli(lamina.endpoint, "create-function", "--function-name", fn_name, "--runtime", "python3.11",
                      "--handler", "app.handler", "--role", ROLE, "--zip-file", f"fileb://{package}",
                      "--tags", "team=core", cwd=tmp_path)  # fmt: skip
    assert created.returncode == 0, created.stderr
    tagged = aws_cli(lamina.endpoint, "tag-resource", "--resource", arn(fn_name), "--tags", "env=dev", cwd=tmp_path)
    assert tagged.returncode == 0, tagged.stderr
    listed = aws_cli(lamina.endpoint, "list-tags", "--resource", arn(fn_name), cwd=tmp_path)
    assert json.loads(listed.stdout) == {"Tags": {"team": "core", "env": "dev"}}

    added = aws_cli(lamina.endpoint, "add-permission", "--function-name", fn_name, "--statement-id", "s3",
                    "--action", "lambda:InvokeFunction", "--principal", "s3.amazonaws.com",
                    "--source-arn", "arn:aws:s3:::bucket", cwd=tmp_path)  # fmt: skip
    assert added.returncode == 0, added.stderr
    condition = json.loads(json.loads(added.stdout)["Statement"])["Condition"]
    assert condition == {"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::bucket"}}
    policy = aws_cli(lamina.endpoint, "get-policy", "--function-name", fn_name, cwd=tmp_path)
    assert [s["Sid"] for s in json.loads(json.loads(policy.stdout)["Policy"])["Statement"]] == ["s3"]

    put = aws_cli(lamina.endpoint, "put-function-event-invoke-config", "--function-name", fn_name,
                  "--maximum-retry-attempts", "0", "--maximum-event-age-in-seconds", "3600", cwd=tmp_path)  # fmt: skip
    assert put.returncode == 0, put.stderr
    assert json.loads(put.stdout)["FunctionArn"] == arn(fn_name, "$LATEST")
    missing = aws_cli(lamina.endpoint, "remove-permission", "--function-name", fn_name, "--statement-id", "nope",
                      cwd=tmp_path)  # fmt: skip
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr
