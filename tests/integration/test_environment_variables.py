"""The environment a function sees, as AWS builds it: exactly Lambda's variables for its runtime,
AWS's paths and no host path in any value, the function's own variables taking effect (those a
runtime reads at process start too), reserved names refused as AWS refuses them, a ``#!/bin/sh``
bootstrap run by bash as on Amazon Linux.

The expected names are AWS's "Defined runtime environment variables" (configuration-envvars.md),
the values its managed runtimes have (``PATH``, ``LD_LIBRARY_PATH``, ``PYTHONPATH``, ``NODE_PATH``),
plus Lamina's one addition, ``AWS_ENDPOINT_URL`` (where the function's SDK finds Lamina).
X-Ray's variables (``AWS_XRAY_*``, ``_AWS_XRAY_*``) come with tracing and are left out of the
comparison.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROLE, ROOT, deploy, make_zip
from tests.functions import invoke

# Lambda's reserved variables, in every runtime (configuration-envvars.md, "Reserved environment variables").
RESERVED = {
    "_HANDLER", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}  # fmt: skip
# The unreserved ones every runtime has, with the values of AWS's managed runtimes ...
LANGUAGE_DEFAULTS = {
    "LANG": "en_US.UTF-8",
    "TZ": ":UTC",
    "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
    "LD_LIBRARY_PATH": "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
}
# ... and of its custom runtimes (no /var/lang).
CUSTOM_DEFAULTS = {
    "LANG": "en_US.UTF-8",
    "TZ": ":UTC",
    "PATH": "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
    "LD_LIBRARY_PATH": "/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
}
FIXED = {"LAMBDA_TASK_ROOT": "/var/task", "LAMBDA_RUNTIME_DIR": "/var/runtime", "AWS_REGION": "us-east-1"}
# Per runtime: what it adds (the managed runtimes' AWS_EXECUTION_ENV and, during an invocation,
# _X_AMZN_TRACE_ID; their language's path), and the values it has.
NAMES: dict[str, set[str]] = {
    "python3.12": RESERVED | set(LANGUAGE_DEFAULTS) | {"AWS_EXECUTION_ENV", "_X_AMZN_TRACE_ID", "PYTHONPATH"},
    "nodejs20.x": RESERVED | set(LANGUAGE_DEFAULTS) | {"AWS_EXECUTION_ENV", "_X_AMZN_TRACE_ID", "NODE_PATH"},
    "provided.al2023": RESERVED | set(CUSTOM_DEFAULTS),
}
VALUES: dict[str, dict[str, str]] = {
    "python3.12": {**LANGUAGE_DEFAULTS, **FIXED, "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12", "PYTHONPATH": "/var/runtime"},
    "nodejs20.x": {
        **LANGUAGE_DEFAULTS, **FIXED, "AWS_EXECUTION_ENV": "AWS_Lambda_nodejs20.x",
        "NODE_PATH": "/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:"
                     "/var/runtime:/var/task",
    },  # fmt: skip
    "provided.al2023": {**CUSTOM_DEFAULTS, **FIXED},
}
LAMINA_ADDS = {"AWS_ENDPOINT_URL"}
# What a shell leaves in its children's environment (on AWS as here: its bootstraps are bash scripts).
SHELL_ADDS = {"PWD", "OLDPWD", "SHLVL", "_"}
TRACING = re.compile(r"^_?AWS_XRAY_")

PYTHON_ENV = """
import os, sys, time

def handler(event, context):
    return {"env": dict(os.environ), "zone": time.strftime("%Z"), "offset": time.localtime().tm_gmtoff,
            "files": sorted(os.listdir("/var/runtime")), "warnoptions": sys.warnoptions}
"""
PYTHON_IMPORTS = """
import os

def handler(event, context):
    import extra_module  # from the layer's /opt/extra, on the function's own PYTHONPATH
    import boto3
    return {"extra": extra_module.VALUE, "boto3": boto3.__file__, "path": os.environ["PYTHONPATH"]}
"""
NODE_ENV = """
const fs = require('fs');
exports.handler = async () => ({
    env: { ...process.env },
    zone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    offset: new Date(Date.UTC(2026, 0, 15)).getTimezoneOffset(),
    preloaded: globalThis.PRELOADED || null,
    files: fs.readdirSync('/var/runtime').sort(),
    sdk: (() => { try { return require.resolve('@aws-sdk/client-s3'); } catch (e) { return null; } })(),
});
"""
NODE_PRELOAD = "globalThis.PRELOADED = 'by NODE_OPTIONS';\n"
# A custom runtime whose bootstrap is a POSIX shell script (#!/bin/sh): it notes the shell it runs
# under, then runs the shell example's Runtime API loop, whose handler answers with its environment.
SH_BOOTSTRAP = """#!/bin/sh
SHELL_SEEN="${BASH_VERSION:-not bash}"
. "$LAMBDA_TASK_ROOT/loop.sh"
"""
SH_FUNCTION = """
handler() {
    printf '{"env": "%s", "shell": "%s", "zone": "%s", "files": "%s"}' \\
        "$(env | base64 -w0)" "$SHELL_SEEN" "$(date +%Z)" "$(ls -A /var/runtime | tr '\\n' ' ')"
}
"""


def host_paths() -> list[str]:
    """What no value may contain: the checkout, the user's home and caches, root's home."""
    home = str(Path.home())
    paths = [str(ROOT), "/.cache/", "/root", home + "/"]
    return [p for p in paths if p not in ("/", "//")]


def check_names_and_values(runtime: str, env: dict[str, str]) -> None:
    expected = NAMES[runtime] | LAMINA_ADDS
    seen = {name for name in env if not TRACING.match(name)} - SHELL_ADDS
    assert seen == expected, (sorted(seen - expected), sorted(expected - seen))
    for name, value in VALUES[runtime].items():
        assert env[name] == value, (name, env[name])
    for name, value in env.items():
        for path in host_paths():
            assert path not in value, (name, value)


def publish_layer(client: Any, name: str, files: dict[str, str]) -> str:
    layer = client.publish_layer_version(LayerName=name[:64], Content={"ZipFile": make_zip(files)})
    return str(layer["LayerVersionArn"])


# -- Python -------------------------------------------------------------------------------------


def test_python_sees_exactly_awss_variables(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, PYTHON_ENV, runtime="python3.12")
    _, body, _ = invoke(client, fn_name, {})
    check_names_and_values("python3.12", body["env"])
    assert "bootstrap.py" in body["files"], body["files"]  # the runtime, where AWS has it
    assert body["zone"] == "UTC" and body["offset"] == 0


def test_python_variables_read_at_start_take_effect(client: Any, fn_name: str) -> None:
    """TZ in a forked environment; PYTHONWARNINGS, read when the interpreter starts, by a fresh one."""
    variables = {"TZ": "America/New_York", "PYTHONWARNINGS": "error::DeprecationWarning", "HOME": "/tmp/h"}
    deploy(client, fn_name, PYTHON_ENV, runtime="python3.12", Environment={"Variables": variables})
    _, body, _ = invoke(client, fn_name, {})
    assert body["zone"] in ("EST", "EDT") and body["offset"] in (-5 * 3600, -4 * 3600), body
    assert body["warnoptions"] == ["error::DeprecationWarning"]
    assert body["env"]["HOME"] == "/tmp/h" and body["env"]["TZ"] == "America/New_York"


def test_python_path_from_the_configuration_imports_from_a_layer(client: Any, fn_name: str) -> None:
    layer = publish_layer(client, f"extra-{fn_name}", {"extra/extra_module.py": "VALUE = 'from the layer'\n"})
    deploy(client, fn_name, PYTHON_IMPORTS, runtime="python3.12", Layers=[layer],
           Environment={"Variables": {"PYTHONPATH": "/opt/extra"}})  # fmt: skip
    _, body, _ = invoke(client, fn_name, {})
    assert body["extra"] == "from the layer" and body["path"] == "/opt/extra"
    assert body["boto3"].startswith("/var/runtime/boto3/"), body  # the runtime's SDK, where AWS has it


WRAPPER = """#!/bin/sh
export WRAPPED_BY="$0"
export WRAPPED_COMMAND="$*"
exec "$@"
"""
PYTHON_WRAPPED = """
import os

def handler(event, context):
    return {"by": os.environ.get("WRAPPED_BY"), "command": os.environ.get("WRAPPED_COMMAND")}
"""


def deploy_wrapped(client: Any, name: str, files: dict[str, str], **kwargs: Any) -> None:
    """Deploy ``files`` and an executable ``wrap.sh``, named by the function's AWS_LAMBDA_EXEC_WRAPPER."""
    client.create_function(
        FunctionName=name, Role=ROLE, Code={"ZipFile": make_zip({**files, "wrap.sh": WRAPPER}, modes={"wrap.sh": 0o755})},
        Environment={"Variables": {"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/wrap.sh"}}, **kwargs,
    )  # fmt: skip
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def test_python_runs_under_a_wrapper_script(client: Any, fn_name: str) -> None:
    deploy_wrapped(client, fn_name, {"app.py": PYTHON_WRAPPED}, Runtime="python3.12", Handler="app.handler")
    _, body, _ = invoke(client, fn_name, {})
    assert body["by"] == "/var/task/wrap.sh"
    assert body["command"].endswith(" /var/runtime/bootstrap.py"), body


# -- Node.js ------------------------------------------------------------------------------------


def test_nodejs_sees_exactly_awss_variables(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, {"index.js": NODE_ENV}, handler="index.handler", runtime="nodejs20.x")
    _, body, _ = invoke(client, fn_name, {})
    check_names_and_values("nodejs20.x", body["env"])
    assert {"bootstrap.sh", "index.cjs"} <= set(body["files"]), body["files"]
    if "node_modules" in body["files"]:  # the AWS SDK, where AWS has it (if Lamina's is installed)
        assert body["sdk"].startswith("/var/runtime/node_modules/@aws-sdk/client-s3/"), body["sdk"]
    assert body["zone"] == "UTC" and body["offset"] == 0


def test_nodejs_options_and_time_zone_take_effect(client: Any, fn_name: str) -> None:
    variables = {"NODE_OPTIONS": "--require /var/task/preload.cjs", "TZ": "Asia/Tokyo"}
    deploy(client, fn_name, {"index.js": NODE_ENV, "preload.cjs": NODE_PRELOAD}, handler="index.handler",
           runtime="nodejs20.x", Environment={"Variables": variables})  # fmt: skip
    _, body, _ = invoke(client, fn_name, {})
    assert body["preloaded"] == "by NODE_OPTIONS"
    assert body["zone"] == "Asia/Tokyo" and body["offset"] == -9 * 60


def test_nodejs_runs_under_a_wrapper_script(client: Any, fn_name: str) -> None:
    code = "exports.handler = async () => ({by: process.env.WRAPPED_BY, command: process.env.WRAPPED_COMMAND});"
    deploy_wrapped(client, fn_name, {"index.js": code}, Runtime="nodejs20.x", Handler="index.handler")
    _, body, _ = invoke(client, fn_name, {})
    assert body["by"] == "/var/task/wrap.sh"
    assert body["command"].endswith(" /var/runtime/index.cjs") and "--expose-gc" in body["command"], body


def test_ruby_runs_under_a_wrapper_script(client: Any, fn_name: str) -> None:
    code = 'def handler(event:, context:)\n  { "by" => ENV["WRAPPED_BY"], "command" => ENV["WRAPPED_COMMAND"] }\nend\n'
    deploy_wrapped(client, fn_name, {"app.rb": code}, Runtime="ruby3.3", Handler="app.handler")
    _, body, _ = invoke(client, fn_name, {})
    assert body["by"] == "/var/task/wrap.sh"
    assert body["command"].endswith(" /var/runtime/bootstrap.rb"), body


# -- a custom runtime, under /bin/sh ------------------------------------------------------------


def shell_function(client: Any, name: str, **kwargs: Any) -> dict[str, Any]:
    loop = (ROOT / "examples" / "shell-hello" / "bootstrap").read_text()
    deploy(client, name, {"bootstrap": SH_BOOTSTRAP, "loop.sh": loop, "function.sh": SH_FUNCTION},
           handler="function.handler", runtime="provided.al2023", **kwargs)  # fmt: skip
    _, body, _ = invoke(client, name, {})
    env = dict(line.split("=", 1) for line in base64.b64decode(body["env"]).decode().splitlines() if "=" in line)
    return {**body, "env": env}


def test_custom_runtime_sees_exactly_awss_variables_under_bash(client: Any, fn_name: str) -> None:
    body = shell_function(client, fn_name)
    check_names_and_values("provided.al2023", body["env"])
    assert body["shell"] != "not bash", body  # /bin/sh is bash, as on Amazon Linux
    assert body["zone"] == "UTC" and body["files"] == "", body  # /var/runtime is there, and empty


def test_custom_runtime_time_zone_and_path_take_effect(client: Any, fn_name: str) -> None:
    variables = {"TZ": "Europe/Paris", "PATH": "/opt/bin:/usr/bin:/bin"}
    body = shell_function(client, fn_name, Environment={"Variables": variables})
    assert body["zone"] in ("CET", "CEST") and body["env"]["PATH"] == "/opt/bin:/usr/bin:/bin"


# -- reserved names -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["AWS_REGION", "LAMBDA_RUNTIME_DIR", "AWS_LAMBDA_RUNTIME_API", "AWS_ACCESS_KEY_ID"])
def test_reserved_names_are_refused(client: Any, fn_name: str, name: str) -> None:
    with pytest.raises(ClientError) as caught:
        deploy(client, fn_name, PYTHON_ENV, runtime="python3.12", Environment={"Variables": {name: "x"}})
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidParameterValueException"
    assert error["Message"] == (
        "Lambda was unable to configure your environment variables because the environment variables you have "
        f"provided contains reserved keys that are currently not supported for modification. Reserved keys used "
        f"in this request: {name}"
    )


def test_unreserved_names_are_the_functions_to_set(client: Any, fn_name: str) -> None:
    variables = {"LANG": "C.UTF-8", "LD_LIBRARY_PATH": "/opt/mine", "PYTHONPATH": "/opt/python"}
    deploy(client, fn_name, PYTHON_ENV, runtime="python3.12", Environment={"Variables": variables})
    _, body, _ = invoke(client, fn_name, {})
    assert {name: body["env"][name] for name in variables} == variables
    assert body["env"]["LD_LIBRARY_PATH"] == "/opt/mine" and body["env"]["LAMBDA_RUNTIME_DIR"] == "/var/runtime"
