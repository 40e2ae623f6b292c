"""Layer version permissions: the policy API, and another account reading and using a layer only
when a statement allows it (two accounts on one server, as tests/integration/test_accounts.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess, lambda_client, make_zip, server_env
from tests.integration.test_clients import aws_cli
from tests.integration.test_accounts import ACCOUNT_A, ACCOUNT_B, KEYS, client, role

HANDLER = "import shared\ndef handler(event, context):\n    return shared.VALUE\n"
LAYER = {"python/shared.py": "VALUE = 'from the layer'\n"}


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def publish(lam: Any, name: str, **kwargs: Any) -> dict[str, Any]:
    return dict(lam.publish_layer_version(LayerName=name, Content={"ZipFile": make_zip(LAYER)}, **kwargs))


def test_layer_version_policy(client: Any, fn_name: str) -> None:
    layer = publish(client, fn_name)
    arn, version = layer["LayerVersionArn"], layer["Version"]
    with pytest.raises(ClientError) as exc:
        client.get_layer_version_policy(LayerName=fn_name, VersionNumber=version)
    assert error(exc) == ("ResourceNotFoundException", 404, "No policy is associated with the given resource.")

    added = client.add_layer_version_permission(LayerName=fn_name, VersionNumber=version, StatementId="one",
                                                Action="lambda:GetLayerVersion", Principal="123456789012")  # fmt: skip
    assert added["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert json.loads(added["Statement"]) == {
        "Sid": "one", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "lambda:GetLayerVersion", "Resource": arn,
    }  # fmt: skip
    everyone = client.add_layer_version_permission(
        LayerName=fn_name, VersionNumber=version, StatementId="org", Action="lambda:GetLayerVersion",
        Principal="*", OrganizationId="o-abcdefghij", RevisionId=added["RevisionId"],
    )  # fmt: skip
    assert json.loads(everyone["Statement"])["Principal"] == "*"
    assert json.loads(everyone["Statement"])["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}
    got = client.get_layer_version_policy(LayerName=fn_name, VersionNumber=version)
    assert got["RevisionId"] == everyone["RevisionId"] != added["RevisionId"]
    policy = json.loads(got["Policy"])
    assert (policy["Version"], policy["Id"]) == ("2012-10-17", "default")
    assert [s["Sid"] for s in policy["Statement"]] == ["one", "org"]

    with pytest.raises(ClientError) as exc:  # the same statement id
        client.add_layer_version_permission(LayerName=fn_name, VersionNumber=version, StatementId="one",
                                            Action="lambda:GetLayerVersion", Principal="*")  # fmt: skip
    assert error(exc)[:2] == ("ResourceConflictException", 409)
    with pytest.raises(ClientError) as exc:  # a stale revision
        client.remove_layer_version_permission(LayerName=fn_name, VersionNumber=version, StatementId="one",
                                               RevisionId=added["RevisionId"])  # fmt: skip
    assert error(exc)[:2] == ("PreconditionFailedException", 412)
    raw = lambda_client(client.meta.endpoint_url, parameter_validation=False)
    with pytest.raises(ClientError) as exc:
        raw.add_layer_version_permission(LayerName=fn_name, VersionNumber=version, StatementId="x",
                                         Action="lambda:InvokeFunction", Principal="*")  # fmt: skip
    assert error(exc)[:2] == ("ValidationException", 400)
    with pytest.raises(ClientError) as exc:
        raw.add_layer_version_permission(LayerName=fn_name, VersionNumber=version, StatementId="x",
                                         Action="lambda:GetLayerVersion", Principal="someone")  # fmt: skip
    assert error(exc)[:2] == ("ValidationException", 400)

    client.remove_layer_version_permission(LayerName=fn_name, VersionNumber=version, StatementId="one")
    with pytest.raises(ClientError) as exc:
        client.remove_layer_version_permission(LayerName=fn_name, VersionNumber=version, StatementId="one")
    assert error(exc)[:2] == ("ResourceNotFoundException", 404)
    client.remove_layer_version_permission(LayerName=fn_name, VersionNumber=version, StatementId="org")
    with pytest.raises(ClientError) as exc:
        client.get_layer_version_policy(LayerName=fn_name, VersionNumber=version)
    assert error(exc)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        client.add_layer_version_permission(LayerName=fn_name, VersionNumber=version + 1, StatementId="x",
                                            Action="lambda:GetLayerVersion", Principal="*")  # fmt: skip
    assert error(exc)[:2] == ("ResourceNotFoundException", 404)


def test_layers_accept_every_runtime_of_the_model(client: Any, fn_name: str) -> None:
    runtimes = ["python2.7", "nodejs10.x", "go1.x", "dotnetcore3.1", "java8", "ruby2.5", "provided"]
    layer = publish(client, fn_name, CompatibleRuntimes=runtimes, CompatibleArchitectures=["x86_64", "arm64"])
    assert layer["CompatibleRuntimes"] == runtimes
    assert layer["CompatibleArchitectures"] == ["x86_64", "arm64"]
    listed = client.list_layer_versions(LayerName=fn_name, CompatibleRuntime="go1.x")["LayerVersions"]
    assert [v["Version"] for v in listed] == [layer["Version"]]
    raw = lambda_client(client.meta.endpoint_url, parameter_validation=False)
    with pytest.raises(ClientError) as exc:
        raw.publish_layer_version(LayerName=fn_name, Content={"ZipFile": make_zip(LAYER)}, CompatibleRuntimes=["cobol"])
    assert error(exc)[:2] == ("ValidationException", 400)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:
    env = server_env(LAMINA_ACCESS_KEYS=KEYS, LAMINA_ACCOUNT_ID=ACCOUNT_A)
    process = LaminaProcess(tmp_path_factory.mktemp("layer-accounts"), env).start()
    yield process
    process.stop()


def user_client(endpoint: str, account: str, name: str, action: str) -> Any:
    """A Lambda client of a new IAM user of ``account`` allowed ``action`` on everything."""
    iam = client("iam", endpoint, account)
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="only", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}))  # fmt: skip
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key["AccessKeyId"],
                        aws_secret_access_key=key["SecretAccessKey"], config=Config(retries={"max_attempts": 0}))  # fmt: skip


def test_another_account_uses_a_layer_only_when_allowed(server: LaminaProcess) -> None:
    a, b = client("lambda", server.endpoint, ACCOUNT_A), client("lambda", server.endpoint, ACCOUNT_B)
    b.list_functions()  # B's cell starts
    layer = publish(a, "shared-lib")
    arn, version = layer["LayerVersionArn"], layer["Version"]
    assert arn == f"arn:aws:lambda:us-east-1:{ACCOUNT_A}:layer:shared-lib:{version}"
    role_b = role(server.endpoint, ACCOUNT_B)

    def create_in_b(name: str) -> dict[str, Any]:
        return dict(b.create_function(FunctionName=name, Runtime="python3.11", Role=role_b, Handler="app.handler",
                                      Code={"ZipFile": make_zip({"app.py": HANDLER})}, Layers=[arn]))  # fmt: skip

    # No statement: B may neither read the layer nor use it.
    with pytest.raises(ClientError) as exc:
        b.get_layer_version_by_arn(Arn=arn)
    code, status, message = error(exc)
    assert (code, status) == ("AccessDeniedException", 403)
    assert f"lambda:GetLayerVersion on resource: {arn}" in message
    with pytest.raises(ClientError) as exc:
        b.get_layer_version(LayerName=arn.rsplit(":", 1)[0], VersionNumber=version)
    assert error(exc)[:2] == ("AccessDeniedException", 403)
    with pytest.raises(ClientError) as exc:
        create_in_b("uses-layer")
    assert error(exc)[:2] == ("AccessDeniedException", 403) and f"on resource: {arn}" in error(exc)[2]

    # A statement for another account (not B) allows B nothing; one for B allows it.
    a.add_layer_version_permission(LayerName="shared-lib", VersionNumber=version, StatementId="other",
                                   Action="lambda:GetLayerVersion", Principal="333333333333")  # fmt: skip
    with pytest.raises(ClientError) as exc:
        b.get_layer_version_by_arn(Arn=arn)
    assert error(exc)[:2] == ("AccessDeniedException", 403)
    a.add_layer_version_permission(LayerName="shared-lib", VersionNumber=version, StatementId="b",
                                   Action="lambda:GetLayerVersion", Principal=ACCOUNT_B)  # fmt: skip
    got = b.get_layer_version_by_arn(Arn=arn)
    assert (got["LayerVersionArn"], got["Content"]["CodeSha256"]) == (arn, layer["Content"]["CodeSha256"])
    assert b.get_layer_version(LayerName=arn.rsplit(":", 1)[0], VersionNumber=version)["LayerVersionArn"] == arn
    # B's users need their own policies to allow it too, as across accounts on AWS.
    for user, allowed in (("reader", "lambda:GetLayerVersion"), ("lister", "lambda:ListFunctions")):
        as_user = user_client(server.endpoint, ACCOUNT_B, user, allowed)
        if allowed == "lambda:GetLayerVersion":
            assert as_user.get_layer_version_by_arn(Arn=arn)["LayerVersionArn"] == arn
        else:
            with pytest.raises(ClientError) as exc:
                as_user.get_layer_version_by_arn(Arn=arn)
            assert error(exc)[:2] == ("AccessDeniedException", 403)
    made = create_in_b("uses-layer")
    assert made["Layers"][0]["Arn"] == arn
    b.get_waiter("function_active_v2").wait(FunctionName="uses-layer", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    answer = b.invoke(FunctionName="uses-layer")
    assert json.loads(answer["Payload"].read()) == "from the layer"  # /opt has the layer's files

    # Removing the statement stops new uses; UpdateFunctionConfiguration is refused as CreateFunction.
    a.remove_layer_version_permission(LayerName="shared-lib", VersionNumber=version, StatementId="b")
    with pytest.raises(ClientError) as exc:
        b.update_function_configuration(FunctionName="uses-layer", Layers=[arn])
    assert error(exc)[:2] == ("AccessDeniedException", 403)
    b.update_function_configuration(FunctionName="uses-layer", Layers=[])

    # Everyone ("*") allows B; an organization's statement allows nobody (Lamina has none).
    a.add_layer_version_permission(LayerName="shared-lib", VersionNumber=version, StatementId="org",
                                   Action="lambda:GetLayerVersion", Principal="*", OrganizationId="o-abcdefghij")  # fmt: skip
    with pytest.raises(ClientError) as exc:
        b.get_layer_version_by_arn(Arn=arn)
    assert error(exc)[:2] == ("AccessDeniedException", 403)
    a.add_layer_version_permission(LayerName="shared-lib", VersionNumber=version, StatementId="all",
                                   Action="lambda:GetLayerVersion", Principal="*")  # fmt: skip
    b.get_waiter("function_updated_v2").wait(FunctionName="uses-layer", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    assert b.update_function_configuration(FunctionName="uses-layer", Layers=[arn])["Layers"][0]["Arn"] == arn

    # B cannot change A's layer's policy: a plain name is B's own layer, which does not exist.
    with pytest.raises(ClientError) as exc:
        b.add_layer_version_permission(LayerName="shared-lib", VersionNumber=version, StatementId="mine",
                                       Action="lambda:GetLayerVersion", Principal=ACCOUNT_B)  # fmt: skip
    assert error(exc)[:2] == ("ResourceNotFoundException", 404)
    # A missing version of A's is refused as one not shared.
    with pytest.raises(ClientError) as exc:
        b.get_layer_version_by_arn(Arn=f"{arn.rsplit(':', 1)[0]}:{version + 5}")
    assert error(exc)[:2] == ("AccessDeniedException", 403)


def test_layer_permissions_with_the_aws_cli(lamina: Any, tmp_path: Path, fn_name: str) -> None:
    version = publish(lamina.client(), fn_name)["Version"]
    added = aws_cli(lamina.endpoint, "add-layer-version-permission", "--layer-name", fn_name, "--version-number",
                    str(version), "--statement-id", "everyone", "--action", "lambda:GetLayerVersion",
                    "--principal", "*", cwd=tmp_path)  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert json.loads(json.loads(added.stdout)["Statement"])["Principal"] == "*"
    got = aws_cli(lamina.endpoint, "get-layer-version-policy", "--layer-name", fn_name, "--version-number",
                  str(version), cwd=tmp_path)  # fmt: skip
    assert got.returncode == 0, got.stderr
    assert json.loads(json.loads(got.stdout)["Policy"])["Statement"][0]["Sid"] == "everyone"


def test_layer_policy_survives_restart(make_server: Any) -> None:
    server = make_server()
    lam = server.client()
    version = publish(lam, "kept")["Version"]
    added = lam.add_layer_version_permission(LayerName="kept", VersionNumber=version, StatementId="s",
                                             Action="lambda:GetLayerVersion", Principal="*")  # fmt: skip
    server.stop()
    lam = make_server(server.data_dir).client()
    got = lam.get_layer_version_policy(LayerName="kept", VersionNumber=version)
    assert got["RevisionId"] == added["RevisionId"]
    assert [s["Sid"] for s in json.loads(got["Policy"])["Statement"]] == ["s"]
