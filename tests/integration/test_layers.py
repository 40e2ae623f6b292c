"""Layers through boto3: the Layer API, and layers' contents under /opt in the function's order."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import deploy, make_zip

USES_LAYERS = """
import os
import shared  # from /opt/python, put there by a layer

def handler(event, context):
    with open("/opt/data/which.txt") as f:
        which = f.read()
    return {"shared": shared.VALUE, "which": which, "opt": sorted(os.listdir("/opt"))}
"""


def publish(client: Any, name: str, files: dict[str, str], **kwargs: Any) -> dict[str, Any]:
    return dict(client.publish_layer_version(LayerName=name, Content={"ZipFile": make_zip(files)}, **kwargs))


def test_layer_api(client: Any, fn_name: str) -> None:
    name = f"layer-{fn_name}"[:64]
    first = publish(client, name, {"python/shared.py": "VALUE = 1\n"}, Description="first",
                    CompatibleRuntimes=["python3.11"], CompatibleArchitectures=["x86_64"], LicenseInfo="MIT")  # fmt: skip
    second = publish(client, name, {"python/shared.py": "VALUE = 2\n"})
    assert first["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert (first["Version"], second["Version"]) == (1, 2)
    assert first["LayerVersionArn"] == f"arn:aws:lambda:us-east-1:000000000000:layer:{name}:1"
    assert first["CompatibleRuntimes"] == ["python3.11"] and first["LicenseInfo"] == "MIT"

    got = client.get_layer_version(LayerName=name, VersionNumber=1)
    assert got["Description"] == "first" and got["Content"]["CodeSha256"] == first["Content"]["CodeSha256"]
    with urllib.request.urlopen(got["Content"]["Location"]) as response:
        assert response.read() == make_zip({"python/shared.py": "VALUE = 1\n"})
    assert client.get_layer_version_by_arn(Arn=second["LayerVersionArn"])["Version"] == 2

    versions = client.list_layer_versions(LayerName=name)["LayerVersions"]
    assert [v["Version"] for v in versions] == [2, 1]
    assert versions[1]["Description"] == "first" and "Description" not in versions[0]  # AWS omits an empty one
    listed = {layer["LayerName"]: layer for layer in client.list_layers()["Layers"]}
    assert listed[name]["LatestMatchingVersion"]["Version"] == 2
    compatible = {layer["LayerName"] for layer in client.list_layers(CompatibleRuntime="python3.11")["Layers"]}
    assert name in compatible  # version 1 matches even though the latest does not declare runtimes

    client.delete_layer_version(LayerName=name, VersionNumber=1)
    client.delete_layer_version(LayerName=name, VersionNumber=1)  # deleting again is not an error
    with pytest.raises(ClientError) as exc:
        client.get_layer_version(LayerName=name, VersionNumber=1)
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert publish(client, name, {"x.txt": "x"})["Version"] == 3  # numbers are never reused


def test_function_sees_its_layers_in_order(client: Any, fn_name: str) -> None:
    base = f"lay-{fn_name}"[:60]
    lib = publish(client, f"{base}-lib", {"python/shared.py": "VALUE = 'from layer'\n", "data/which.txt": "lib"})
    override = publish(client, f"{base}-over", {"data/which.txt": "override"})
    config = deploy(client, fn_name, USES_LAYERS, Layers=[lib["LayerVersionArn"], override["LayerVersionArn"]])
    assert [layer["Arn"] for layer in config["Layers"]] == [lib["LayerVersionArn"], override["LayerVersionArn"]]
    body = json.loads(client.invoke(FunctionName=fn_name)["Payload"].read())
    assert body == {"shared": "from layer", "which": "override", "opt": ["data", "python"]}

    # Reordered: the later layer wins.
    client.update_function_configuration(FunctionName=fn_name, Layers=[override["LayerVersionArn"], lib["LayerVersionArn"]])
    client.get_waiter("function_updated_v2").wait(FunctionName=fn_name)
    assert json.loads(client.invoke(FunctionName=fn_name)["Payload"].read())["which"] == "lib"

    # A deleted layer version stays with the functions that use it.
    client.delete_layer_version(LayerName=f"{base}-lib", VersionNumber=lib["Version"])
    client.update_function_configuration(FunctionName=fn_name, Description="still has its layers")
    client.get_waiter("function_updated_v2").wait(FunctionName=fn_name)
    assert json.loads(client.invoke(FunctionName=fn_name)["Payload"].read())["shared"] == "from layer"


def test_bad_layer_references(client: Any, fn_name: str) -> None:
    missing = "arn:aws:lambda:us-east-1:000000000000:layer:no-such-layer:1"
    with pytest.raises(ClientError) as exc:
        deploy(client, fn_name, "def handler(e, c):\n    return 1\n", Layers=[missing])
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "does not exist" in exc.value.response["Error"]["Message"]
    layer = publish(client, f"many-{fn_name}"[:60], {"a.txt": "a"})
    with pytest.raises(ClientError) as exc:
        deploy(client, fn_name, "def handler(e, c):\n    return 1\n", Layers=[layer["LayerVersionArn"]] * 6)
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValueException"
