"""Code signing configurations and functions' configurations through boto3 and the AWS CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROLE, deploy, lambda_client, make_zip
from tests.integration.test_clients import aws_cli

HANDLER = "def handler(event, context):\n    return event\n"
ACCOUNT = "000000000000"
PROFILE = f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-profiles/release/abcdef1234"
OTHER_PROFILE = f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-profiles/nightly/0123456789"
CSC_ARN = re.compile(rf"^arn:aws:lambda:us-east-1:{ACCOUNT}:code-signing-config:csc-[a-z0-9]{{17}}$")


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def create_config(client: Any, policy: str = "Warn", **kwargs: Any) -> dict[str, Any]:
    made = client.create_code_signing_config(
        AllowedPublishers={"SigningProfileVersionArns": [PROFILE]},
        CodeSigningPolicies={"UntrustedArtifactOnDeployment": policy}, **kwargs,
    )  # fmt: skip
    assert made["ResponseMetadata"]["HTTPStatusCode"] == 201
    return dict(made["CodeSigningConfig"])


def every_config(client: Any) -> list[dict[str, Any]]:
    return [c for page in client.get_paginator("list_code_signing_configs").paginate(PaginationConfig={"PageSize": 2})
            for c in page["CodeSigningConfigs"]]  # fmt: skip


def test_code_signing_config_lifecycle(client: Any) -> None:
    config = create_config(client, Description="release builds", Tags={"team": "core"})
    arn = config["CodeSigningConfigArn"]
    assert CSC_ARN.match(arn) and arn.endswith(config["CodeSigningConfigId"])
    assert re.fullmatch(r"csc-[a-z0-9]{17}", config["CodeSigningConfigId"])
    assert config["AllowedPublishers"] == {"SigningProfileVersionArns": [PROFILE]}
    assert config["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Warn"}
    assert config["Description"] == "release builds"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", config["LastModified"])
    assert client.get_code_signing_config(CodeSigningConfigArn=arn)["CodeSigningConfig"] == config
    assert client.list_tags(Resource=arn)["Tags"] == {"team": "core"}

    client.tag_resource(Resource=arn, Tags={"env": "prod"})
    client.untag_resource(Resource=arn, TagKeys=["team"])
    assert client.list_tags(Resource=arn)["Tags"] == {"env": "prod"}

    updated = client.update_code_signing_config(
        CodeSigningConfigArn=arn, AllowedPublishers={"SigningProfileVersionArns": [PROFILE, OTHER_PROFILE]},
        CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Enforce"},
    )["CodeSigningConfig"]  # fmt: skip
    assert updated["AllowedPublishers"]["SigningProfileVersionArns"] == [PROFILE, OTHER_PROFILE]
    assert updated["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Enforce"}
    assert updated["Description"] == "release builds"  # what the update does not name is kept

    second = create_config(client)
    assert second["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Warn"}
    listed = every_config(client)  # paged two at a time
    assert updated in listed and second in listed
    assert len({c["CodeSigningConfigArn"] for c in listed}) == len(listed)

    assert client.delete_code_signing_config(CodeSigningConfigArn=arn)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        client.get_code_signing_config(CodeSigningConfigArn=arn)
    assert error(exc)[:2] == ("ResourceNotFoundException", 404)
    assert updated not in every_config(client)


def test_code_signing_config_validation(client: Any) -> None:
    raw = lambda_client(client.meta.endpoint_url, parameter_validation=False)
    with pytest.raises(ClientError) as exc:
        raw.create_code_signing_config(AllowedPublishers={"SigningProfileVersionArns": []})
    assert error(exc)[:2] == ("ValidationException", 400)
    with pytest.raises(ClientError) as exc:
        raw.create_code_signing_config(AllowedPublishers={"SigningProfileVersionArns": [PROFILE] * 21})
    assert error(exc)[:2] == ("ValidationException", 400)
    with pytest.raises(ClientError) as exc:
        raw.create_code_signing_config(AllowedPublishers={"SigningProfileVersionArns": [PROFILE]},
                                       CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Block"})  # fmt: skip
    assert error(exc)[0] == "ValidationException" and "[Warn, Enforce]" in error(exc)[2]
    with pytest.raises(ClientError) as exc:
        raw.get_code_signing_config(CodeSigningConfigArn="csc-nope")
    assert error(exc)[:2] == ("ValidationException", 400)


def test_function_code_signing_config(client: Any, fn_name: str) -> None:
    config = create_config(client)
    arn = config["CodeSigningConfigArn"]
    deploy(client, fn_name, HANDLER, CodeSigningConfigArn=arn)  # Warn: the unsigned code is deployed
    got = client.get_function_code_signing_config(FunctionName=fn_name)
    assert (got["CodeSigningConfigArn"], got["FunctionName"]) == (arn, fn_name)
    fn_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{fn_name}"
    assert client.list_functions_by_code_signing_config(CodeSigningConfigArn=arn)["FunctionArns"] == [fn_arn]

    with pytest.raises(ClientError) as exc:  # in use
        client.delete_code_signing_config(CodeSigningConfigArn=arn)
    assert error(exc)[:2] == ("ResourceConflictException", 409)

    client.delete_function_code_signing_config(FunctionName=fn_name)
    got = client.get_function_code_signing_config(FunctionName=fn_name)
    assert (got["CodeSigningConfigArn"], got["FunctionName"]) == ("", fn_name)  # none: an empty ARN, as AWS
    assert client.list_functions_by_code_signing_config(CodeSigningConfigArn=arn)["FunctionArns"] == []

    put = client.put_function_code_signing_config(FunctionName=fn_arn, CodeSigningConfigArn=arn)
    assert (put["CodeSigningConfigArn"], put["FunctionName"]) == (arn, fn_name)
    client.delete_function(FunctionName=fn_name)  # the function's configuration goes with it
    assert client.list_functions_by_code_signing_config(CodeSigningConfigArn=arn)["FunctionArns"] == []
    client.delete_code_signing_config(CodeSigningConfigArn=arn)

    missing = arn[:-17] + "0" * 17
    with pytest.raises(ClientError) as exc:
        deploy(client, fn_name, HANDLER, CodeSigningConfigArn=missing)
    assert error(exc)[:2] == ("CodeSigningConfigNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        client.get_function(FunctionName=fn_name)  # nothing was created
    assert error(exc)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        client.get_function_code_signing_config(FunctionName=fn_name)
    assert error(exc)[:2] == ("ResourceNotFoundException", 404)


def test_enforce_refuses_unsigned_code(client: Any, fn_name: str) -> None:
    enforce = create_config(client, "Enforce")["CodeSigningConfigArn"]
    with pytest.raises(ClientError) as exc:
        deploy(client, fn_name, HANDLER, CodeSigningConfigArn=enforce)
    code, status, message = error(exc)
    assert (code, status) == ("CodeVerificationFailedException", 400) and "signature" in message

    warn = create_config(client, "Warn")["CodeSigningConfigArn"]
    deploy(client, fn_name, HANDLER, CodeSigningConfigArn=warn)
    client.update_function_code(FunctionName=fn_name, ZipFile=make_zip({"app.py": HANDLER + "# new\n"}))
    client.get_waiter("function_updated_v2").wait(FunctionName=fn_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    # Once its configuration enforces, the function takes no new unsigned code, and no layers.
    client.update_code_signing_config(CodeSigningConfigArn=warn,
                                      CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Enforce"})  # fmt: skip
    before = client.get_function_configuration(FunctionName=fn_name)["CodeSha256"]
    with pytest.raises(ClientError) as exc:
        client.update_function_code(FunctionName=fn_name, ZipFile=make_zip({"app.py": HANDLER + "# newer\n"}))
    assert error(exc)[:2] == ("CodeVerificationFailedException", 400)
    assert client.get_function_configuration(FunctionName=fn_name)["CodeSha256"] == before
    layer = client.publish_layer_version(LayerName=fn_name, Content={"ZipFile": make_zip({"python/x.py": ""})})
    with pytest.raises(ClientError) as exc:
        client.update_function_configuration(FunctionName=fn_name, Layers=[layer["LayerVersionArn"]])
    assert error(exc)[:2] == ("CodeVerificationFailedException", 400)
    client.update_function_configuration(FunctionName=fn_name, Timeout=9)  # other settings still change


def test_code_signing_survives_restart(make_server: Any, tmp_path: Path) -> None:
    server = make_server()
    lam = server.client()
    arn = create_config(lam, "Warn", Description="kept", Tags={"k": "v"})["CodeSigningConfigArn"]
    lam.create_function(FunctionName="signed", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": make_zip({"app.py": HANDLER})}, CodeSigningConfigArn=arn)  # fmt: skip
    lam.put_function_recursion_config(FunctionName="signed", RecursiveLoop="Allow")
    server.stop()
    lam = make_server(server.data_dir).client()
    assert lam.get_code_signing_config(CodeSigningConfigArn=arn)["CodeSigningConfig"]["Description"] == "kept"
    assert lam.list_tags(Resource=arn)["Tags"] == {"k": "v"}
    assert lam.get_function_code_signing_config(FunctionName="signed")["CodeSigningConfigArn"] == arn
    assert lam.get_function_recursion_config(FunctionName="signed")["RecursiveLoop"] == "Allow"


def test_code_signing_with_the_aws_cli(lamina: Any, tmp_path: Path) -> None:
    made = aws_cli(lamina.endpoint, "create-code-signing-config", "--allowed-publishers",
                   f"SigningProfileVersionArns={PROFILE}", "--code-signing-policies",
                   "UntrustedArtifactOnDeployment=Enforce", cwd=tmp_path)  # fmt: skip
    assert made.returncode == 0, made.stderr
    arn = json.loads(made.stdout)["CodeSigningConfig"]["CodeSigningConfigArn"]
    listed = aws_cli(lamina.endpoint, "list-code-signing-configs", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert arn in [c["CodeSigningConfigArn"] for c in json.loads(listed.stdout)["CodeSigningConfigs"]]
    deleted = aws_cli(lamina.endpoint, "delete-code-signing-config", "--code-signing-config-arn", arn, cwd=tmp_path)
    assert deleted.returncode == 0, deleted.stderr
