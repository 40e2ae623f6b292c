"""Runtimes found while the server runs, without a restart; the "not available" error naming what
is missing and the command that installs it; ``lamina runtimes`` (plain and ``--json``) showing the
server's view. Real servers, boto3 and the real CLI.

The toolchains are made to appear and go away without touching the host's packages: the server is
pointed at an interpreter path that does not exist yet (``LAMINA_RUBY3_3``) and searches a PATH
with a directory of the test's own in front, in which a file appears later.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lamina.runtime.names import LAMBDA_RUNTIMES
from tests.conftest import ROLE, deploy, make_zip
from tests.functions import invoke
from tests.integration.test_clients import lamina_cli

RUBY = shutil.which("ruby")
RUBY_HANDLER = 'def handler(event:, context:)\n  { "ruby" => RUBY_VERSION, "got" => event["n"] }\nend\n'
# Answers Lamina's probe (python.py's _PROBE) as a Python 3.14 would: enough to be found, not to run.
FAKE_PYTHON = "#!/bin/sh\nprintf '14\\n%s\\n3.14.0\\n' \"$0\"\n"


def host_has(executable: str) -> bool:
    return any(Path(d, executable).exists() for d in ("/usr/bin", "/usr/local/bin")) or shutil.which(executable) is not None


def create(client: Any, name: str, runtime: str, files: dict[str, str | bytes], handler: str) -> dict[str, Any]:
    return dict(client.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler,
                                       Code={"ZipFile": make_zip(files)}))  # fmt: skip


def refusal(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return dict(raised.value.response)


@pytest.mark.skipif(RUBY is None, reason="no Ruby on this host: run scripts/install/ruby.sh")
def test_a_ruby_installed_while_the_server_runs_is_found_without_a_restart(make_server: Any, tmp_path: Path) -> None:
    interpreter = tmp_path / "ruby-3" / "bin" / "ruby"  # where the operator said Ruby would be; not there yet
    server = make_server(LAMINA_RUBY3_3=str(interpreter), LAMINA_RUNTIME_RECHECK="0")
    client = server.client()
    files: dict[str, str | bytes] = {"app.rb": RUBY_HANDLER}

    refused = refusal(client.create_function, FunctionName="rb", Runtime="ruby3.3", Role=ROLE, Handler="app.handler",
                      Code={"ZipFile": make_zip(files)})  # fmt: skip
    assert refused["Error"]["Code"] == "InvalidParameterValueException"
    assert refused["ResponseMetadata"]["HTTPStatusCode"] == 400
    message = refused["Error"]["Message"]
    assert message.startswith("The runtime ruby3.3 is not available on this Lamina host: missing a Ruby 3 interpreter")
    assert f"LAMINA_RUBY3_3 names {interpreter}, which is not a working Ruby 3" in message
    assert "Install it: scripts/install/ruby.sh (Debian's ruby package: apt-get install ruby)" in message

    interpreter.parent.mkdir(parents=True)
    interpreter.symlink_to(RUBY or "")  # installed
    deploy(client, "rb", files, runtime="ruby3.3")
    body = invoke(client, "rb", {"n": 7})[1]
    assert body["got"] == 7

    listed = json.loads(lamina_cli(server.endpoint, "runtimes", "--json").stdout)["runtimes"]
    ruby33 = next(r for r in listed if r["runtime"] == "ruby3.3")
    assert ruby33["available"] is True and ruby33["version"] == body["ruby"]
    assert ruby33["interpreter"] == os.path.realpath(RUBY or "")
    if not body["ruby"].startswith("3.3."):  # Debian's Ruby 3.1, say: run, and said to differ from AWS's
        warning = f"ruby3.3 runs on Ruby {body['ruby']} here, not Ruby 3.3 as on AWS"
        assert ruby33["warning"].startswith(warning)
        assert any(f"function rb: {warning}" in line for line in server.output), "".join(server.output)


@pytest.mark.skipif(host_has("python3.14"), reason="this host has a Python 3.14: the test needs one it lacks")
def test_an_interpreter_put_on_the_path_is_found_and_one_gone_is_named_at_invoke(make_server: Any, tmp_path: Path) -> None:
    path_dir = tmp_path / "bin"
    path_dir.mkdir()
    server = make_server(PATH=f"{path_dir}:{os.environ['PATH']}", LAMINA_RUNTIME_RECHECK="0")
    client = server.client()
    deploy(client, "custom", {"bootstrap": "#!/bin/sh\nexit 1\n"}, runtime="provided.al2023", handler="x")

    refused = refusal(client.update_function_configuration, FunctionName="custom", Runtime="python3.14")
    assert refused["Error"]["Code"] == "InvalidParameterValueException"
    message = refused["Error"]["Message"]
    assert "missing a Python 3.14 interpreter (python3.14)" in message
    assert "Install it: pyenv install 3.14" in message and "LAMINA_PYTHON3_14" in message

    fake = path_dir / "python3.14"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    created = create(client, "py314", "python3.14", {"app.py": "def handler(e, c):\n    return 1\n"}, "app.handler")
    assert created["Runtime"] == "python3.14"
    listed = json.loads(lamina_cli(server.endpoint, "runtimes", "--json").stdout)["runtimes"]
    assert {"runtime": "python3.14", "available": True, "family": "python", "interpreter": str(fake),
            "version": "3.14.0"} in listed  # fmt: skip

    fake.unlink()  # uninstalled: the function's next environment cannot start
    client.get_waiter("function_active_v2").wait(FunctionName="py314", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    gone = refusal(client.invoke, FunctionName="py314", Payload=b"{}")
    # AWS's answer to invoking a function whose runtime it does not run (botocore: 502).
    assert gone["Error"]["Code"] == "InvalidRuntimeException"
    assert gone["ResponseMetadata"]["HTTPStatusCode"] == 502
    assert "The runtime python3.14 is not available on this Lamina host: missing a Python 3.14 interpreter" in (
        gone["Error"]["Message"])
    assert "pyenv install 3.14" in gone["Error"]["Message"]


def test_lamina_runtimes_shows_the_servers_view(make_server: Any, tmp_path: Path) -> None:
    absent = tmp_path / "no-such-node"
    server = make_server(LAMINA_NODEJS22_X=str(absent))
    plain = lamina_cli(server.endpoint, "runtimes")
    assert plain.returncode == 0, plain.stderr
    lines = plain.stdout.splitlines()
    assert lines[0].split() == ["RUNTIME", "STATUS", "VERSION", "RUNS", "ON"]
    rows = {line.split()[0]: line for line in lines[1 : 1 + len(LAMBDA_RUNTIMES)]}
    assert list(rows) == list(LAMBDA_RUNTIMES)
    assert rows["provided.al2023"].split()[1:] == ["available", "-", "the", "package's", "bootstrap"]
    assert rows["nodejs22.x"].split()[1:] == ["not", "available", "-", "-"]
    # Said only by the server's environment, which the CLI's does not have: the server's view.
    assert f"nodejs22.x: missing a Node.js 22 interpreter (node); LAMINA_NODEJS22_X names {absent}" in plain.stdout
    assert "    install: Node.js 22 from nodejs.org, NodeSource or nvm (nvm install 22)" in plain.stdout

    as_json = lamina_cli(server.endpoint, "runtimes", "--json")
    assert as_json.returncode == 0, as_json.stderr
    reports = json.loads(as_json.stdout)["runtimes"]
    assert [r["runtime"] for r in reports] == list(LAMBDA_RUNTIMES)
    node = next(r for r in reports if r["runtime"] == "nodejs22.x")
    assert node["available"] is False and node["missing"] == "a Node.js 22 interpreter (node)"
    assert node["found"] == f"LAMINA_NODEJS22_X names {absent}, which is not a working node 22"
    assert next(r for r in reports if r["runtime"] == "provided") == {
        "runtime": "provided", "available": True, "family": "provided", "interpreter": "", "version": ""}


def test_the_runtimes_listing_is_signed_like_every_request(make_server: Any) -> None:
    import urllib.error
    import urllib.request

    server = make_server()
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(f"{server.endpoint}/lamina/v1/runtimes", timeout=30)
    raised.value.close()
    assert raised.value.code == 403


INSTALLED_RIC = Path("/usr/local/lib/lamina/java")


@pytest.mark.skipif(not list(INSTALLED_RIC.glob("lib/aws-lambda-java-runtime-interface-client-*.jar")),
                    reason="AWS's Java runtime interface client is not installed: run scripts/install/java.sh")
def test_a_jdk_without_the_java_runtime_client_names_the_client_until_it_is_installed(
    make_server: Any, tmp_path: Path,
) -> None:  # fmt: skip
    from lamina.runtime.families import java

    runtime = next((name for name in ("java17", "java21", "java25", "java11") if java.resolve(name, {})), None)
    if runtime is None:
        pytest.skip("no JDK on this host: run scripts/install/java.sh")
    ric = tmp_path / "java-ric"  # where the server is told the client is; not installed yet
    server = make_server(LAMINA_JAVA_RIC_DIR=str(ric), LAMINA_RUNTIME_RECHECK="0")
    client = server.client()
    files: dict[str, str | bytes] = {"Handler.class": b"\xca\xfe\xba\xbe"}

    refused = refusal(client.create_function, FunctionName="jv", Runtime=runtime, Role=ROLE,
                      Handler="example.Handler::handleRequest", Code={"ZipFile": make_zip(files)})  # fmt: skip
    assert refused["Error"]["Code"] == "InvalidParameterValueException"
    message = refused["Error"]["Message"]
    assert f"missing AWS's Java runtime interface client (aws-lambda-java-runtime-interface-client) in {ric}" in message
    assert "; found JDK " in message and "Install it: scripts/install/java.sh" in message

    ric.symlink_to(INSTALLED_RIC)  # installed
    created = create(client, "jv", runtime, files, "example.Handler::handleRequest")
    assert created["Runtime"] == runtime
