"""The AWS SDK inside functions, where AWS's runtimes carry it (lamina/runtime/sdk).

A python function imports boto3 at the version Lamina pins, from Lamina's tree, after its own code
and layers, and none of the host interpreter's other packages; a nodejs function requires and
imports @aws-sdk/client-lambda at the locked version, with its own node_modules first; each sees
AWS_ENDPOINT_URL naming Lamina's API as it reaches it, and none of Lamina's private variables.
"""

from __future__ import annotations

import errno
import json
import re
import subprocess
import sys
from typing import Any, Iterator

import pytest

from lamina.runtime import sdk
from lamina.runtime.families import python as python_family
from tests.conftest import LaminaProcess, deploy, server_env
from tests.functions import invoke
from tests.integration.test_nodejs import HOST, MAJOR

PINNED_BOTO3 = re.search(r"^boto3==(\S+)", sdk.PYTHON_REQUIREMENTS.read_text(), re.M)[1]  # type: ignore[index]
LOCKED_LAMBDA_CLIENT = json.loads(sdk.NODE_LOCK.read_text())["packages"]["node_modules/@aws-sdk/client-lambda"]["version"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:
    """A server started once the SDKs are installed (the installer is a no-op when they are)."""
    subprocess.run([sys.executable, "-m", "lamina.runtime.sdk.install"], check=True, timeout=600)
    process = LaminaProcess(tmp_path_factory.mktemp("sdk-data"), server_env()).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def client(server: LaminaProcess) -> Any:
    return server.client()


def host_importable(runtime: str, modules: list[str]) -> list[str]:
    """Which of ``modules`` the host interpreter of ``runtime`` imports on its own."""
    found = python_family.resolve(runtime, {})
    if found is None or found.zygote_python is None:
        pytest.skip(f"no {runtime} on this host")
    probe = "import importlib.util, sys; print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m)))"
    out = subprocess.run([found.zygote_python, "-s", "-c", probe, *modules], capture_output=True, text=True, check=True)
    return out.stdout.split()


PYTHON_PROBE = """
import importlib.util, os, sys

def handler(event, context):
    import boto3, botocore
    try:
        open(os.path.join(os.path.dirname(botocore.__file__), "planted.py"), "w").close()
        planted = "written"
    except OSError as exc:
        planted = exc.errno
    return {
        "planted": planted,
        "boto3": boto3.__version__,
        "botocore": botocore.__file__,
        "importable": [m for m in event["modules"] if importlib.util.find_spec(m) is not None],
        "path": sys.path,
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
        "private": sorted(k for k in os.environ if k.startswith("_LAMINA")),
    }
"""


@pytest.mark.parametrize("runtime", ["python3.12", "python3.11"])
def test_a_python_function_imports_the_pinned_boto3_and_not_the_hosts_packages(
    client: Any, server: LaminaProcess, fn_name: str, runtime: str
) -> None:
    others = ["pip", "pytest", "aiohttp", "setuptools", "_pytest"]
    on_host = host_importable(runtime, others)
    assert on_host, f"the host's {runtime} imports none of {others}: nothing to show"
    deploy(client, fn_name, PYTHON_PROBE, runtime=runtime)
    response, body, log = invoke(client, fn_name, {"modules": on_host})
    assert "FunctionError" not in response, log
    assert body["boto3"] == PINNED_BOTO3
    assert body["botocore"] == "/var/runtime/botocore/__init__.py", body["botocore"]  # where AWS has it
    assert body["importable"] == []
    assert body["planted"] in (errno.EROFS, errno.EACCES)  # the SDK is read-only to functions
    assert body["endpoint"] == server.endpoint
    assert body["private"] == []
    path = body["path"]
    sdk_at = path.index("/var/runtime")
    opt_at = path.index("/opt/python")
    assert 0 < opt_at < sdk_at  # the code, then layers, then the SDK, as AWS orders /var/runtime


def test_a_functions_own_boto3_comes_before_the_runtimes(client: Any, fn_name: str) -> None:
    code = {
        "app.py": "import boto3\ndef handler(event, context):\n    return boto3.__version__\n",
        "boto3/__init__.py": "__version__ = 'the function\\'s own'\n",
    }
    deploy(client, fn_name, code, runtime="python3.12")
    response, body, log = invoke(client, fn_name, {})
    assert "FunctionError" not in response, log
    assert body == "the function's own"


NODE_REQUIRE = """
const { LambdaClient } = require('@aws-sdk/client-lambda');
const version = require('@aws-sdk/client-lambda/package.json').version;
exports.handler = async () => ({
  client: typeof LambdaClient,
  version,
  endpoint: process.env.AWS_ENDPOINT_URL || null,
  private: Object.keys(process.env).filter((k) => k.startsWith('_LAMINA')),
});
"""

NODE_IMPORT = """
import { LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
export const handler = async () => ({
  client: typeof LambdaClient,
  command: typeof ListFunctionsCommand,
  s3: typeof S3Client,
  endpoint: process.env.AWS_ENDPOINT_URL || null,
});
"""

needs_node = pytest.mark.skipif(HOST is None or MAJOR < 18, reason="no node 18 or later on this host")


@needs_node
def test_a_nodejs_function_requires_the_locked_sdk(client: Any, server: LaminaProcess, fn_name: str) -> None:
    deploy(client, fn_name, {"index.js": NODE_REQUIRE}, handler="index.handler", runtime=f"nodejs{MAJOR}.x")
    response, body, log = invoke(client, fn_name, {})
    assert "FunctionError" not in response, log
    assert body == {"client": "function", "version": LOCKED_LAMBDA_CLIENT,
                    "endpoint": server.endpoint, "private": []}  # fmt: skip


@needs_node
def test_a_nodejs_es_module_imports_the_sdk(client: Any, server: LaminaProcess, fn_name: str) -> None:
    deploy(client, fn_name, {"index.mjs": NODE_IMPORT}, handler="index.handler", runtime=f"nodejs{MAJOR}.x")
    response, body, log = invoke(client, fn_name, {})
    assert "FunctionError" not in response, log
    assert body == {"client": "function", "command": "function", "s3": "function",
                    "endpoint": server.endpoint}  # fmt: skip


@needs_node
def test_a_functions_own_node_modules_come_before_the_runtimes_sdk(client: Any, fn_name: str) -> None:
    own = "exports.LambdaClient = 'the function\\'s own';\n"
    code = {
        "index.mjs": "import { LambdaClient } from '@aws-sdk/client-lambda';\n"
                     "export const handler = async () => LambdaClient;\n",
        "node_modules/@aws-sdk/client-lambda/package.json": '{"name": "@aws-sdk/client-lambda", "main": "index.js"}',
        "node_modules/@aws-sdk/client-lambda/index.js": own,
    }  # fmt: skip
    deploy(client, fn_name, code, handler="index.handler", runtime=f"nodejs{MAJOR}.x")
    response, body, log = invoke(client, fn_name, {})
    assert "FunctionError" not in response, log
    assert body == "the function's own"


@needs_node
def test_a_missing_package_is_still_missing_for_an_es_module(client: Any, fn_name: str) -> None:
    code = {"index.mjs": "import nothing from 'no-such-package';\nexport const handler = async () => nothing;\n"}
    deploy(client, fn_name, code, handler="index.handler", runtime=f"nodejs{MAJOR}.x")
    response, body, log = invoke(client, fn_name, {})
    assert response.get("FunctionError") == "Unhandled"
    assert "no-such-package" in body["errorMessage"]
