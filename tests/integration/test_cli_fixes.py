"""The CLI as a new user meets it, each fix run as the real ``lamina`` command against a real server:
--version, info, deploying a .zip or .jar, updating without restating runtime and handler, readable
error traces and log tails, --json --logs saying each thing once, a package too large, progress,
hints that work as printed, and one server a data directory."""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import lamina
from tests.conftest import LaminaProcess, server_env
from tests.integration.test_cli_init import shell_env

LAMINA = Path(sys.executable).parent / "lamina"


def cli(*args: str, endpoint: str | None = None, cwd: Path | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:  # fmt: skip
    env = shell_env(endpoint or "http://127.0.0.1:9")
    return subprocess.run([str(LAMINA), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_version() -> None:
    done = cli("--version")
    assert (done.returncode, done.stdout) == (0, f"lamina {lamina.__version__}\n")


def test_info_shows_the_function_and_how_to_invoke_it(lamina: LaminaProcess, tmp_path: Path, fn_name: str) -> None:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return 1\n")
    deployed = cli("deploy", str(tmp_path), "--name", fn_name, "--runtime", "python3.11", "--handler", "app.handler",
                   "--memory", "256", "--env", "SECRET=hunter2", endpoint=lamina.endpoint)  # fmt: skip
    assert deployed.returncode == 0, deployed.stderr
    shown = cli("info", fn_name, endpoint=lamina.endpoint)
    assert shown.returncode == 0, shown.stderr
    fields = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in shown.stdout.splitlines()[:16])
    assert fields["Runtime"] == "python3.11" and fields["Handler"] == "app.handler" and fields["Memory"] == "256 MB"
    assert fields["State"] == "Active (last update: Successful)" and fields["URL"] == "-"
    assert fields["Environment"] == "SECRET" and "hunter2" not in shown.stdout  # names, not values
    assert f"  lamina invoke {fn_name} --payload '{{}}' --logs" in shown.stdout.splitlines()
    as_json = json.loads(cli("info", fn_name, "--json", endpoint=lamina.endpoint).stdout)
    assert as_json["Configuration"]["FunctionName"] == fn_name and "Location" in as_json["Code"]
    missing = cli("info", "no-such-function", endpoint=lamina.endpoint)
    assert missing.returncode == 1 and "ResourceNotFoundException" in missing.stderr and "lamina ls" in missing.stderr


def test_deploy_takes_a_zip_and_refuses_what_is_not_one(lamina: LaminaProcess, tmp_path: Path, fn_name: str) -> None:
    package = tmp_path / "function.zip"
    package.write_bytes(zipped({"app.py": "def handler(event, context):\n    return {'from': 'zip'}\n"}))
    done = cli("deploy", str(package), "--name", fn_name, "--runtime", "python3.11", "--handler", "app.handler",
               endpoint=lamina.endpoint)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"Reading {package} (1 file," in done.stdout
    assert json.loads(cli("invoke", fn_name, endpoint=lamina.endpoint).stdout) == {"from": "zip"}
    not_a_zip = tmp_path / "fake.zip"
    not_a_zip.write_bytes(b"PK\x03\x04 but not really a zip")
    empty = tmp_path / "empty.jar"
    empty.write_bytes(zipped({}))
    text = tmp_path / "notes.txt"
    text.write_text("hi")
    for path, said in ((not_a_zip, "is not a zip archive"), (empty, "has no files"),
                       (text, "is neither a folder nor a .zip or .jar"), (tmp_path / "gone", "does not exist")):  # fmt: skip
        refused = cli("deploy", str(path), "--name", fn_name + "-x", "--runtime", "python3.11", "--handler", "a.b",
                      endpoint=lamina.endpoint)  # fmt: skip
        assert refused.returncode == 2 and said in refused.stderr, refused.stderr
    assert cli("info", fn_name + "-x", endpoint=lamina.endpoint).returncode == 1  # nothing was created


@pytest.mark.skipif(shutil.which("javac") is None, reason="no JDK")
def test_deploy_takes_a_jar(lamina: LaminaProcess, tmp_path: Path, fn_name: str) -> None:
    runtimes = json.loads(cli("runtimes", "--json", endpoint=lamina.endpoint).stdout)["runtimes"]
    java = next((r["runtime"] for r in runtimes if r["runtime"].startswith("java") and r["available"]), None)
    if java is None:
        pytest.skip("no Java runtime here")
    source = tmp_path / "src" / "example" / "Echo.java"
    source.parent.mkdir(parents=True)
    source.write_text("package example;\nimport java.util.Map;\npublic class Echo {\n"
                      "    public String handleRequest(Map<String, Object> event) { return \"jar:\" + event.get(\"x\"); }\n}\n")
    subprocess.run(["javac", "--release", "17", "-d", str(tmp_path / "classes"), str(source)], check=True, timeout=120)
    jar = tmp_path / "function.jar"
    with zipfile.ZipFile(jar, "w") as archive:
        archive.write(tmp_path / "classes" / "example" / "Echo.class", "example/Echo.class")
    done = cli("deploy", str(jar), "--name", fn_name, "--runtime", java, "--handler", "example.Echo::handleRequest",
               endpoint=lamina.endpoint)  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = cli("invoke", fn_name, "--payload", '{"x": 7}', endpoint=lamina.endpoint)
    assert json.loads(answer.stdout) == "jar:7"


def test_an_update_keeps_what_is_not_restated(lamina: LaminaProcess, tmp_path: Path, fn_name: str) -> None:
    code = tmp_path / "main.py"
    code.write_text("def run(event, context):\n    return 'first'\n")
    first = cli("deploy", str(tmp_path), "--name", fn_name, "--runtime", "python3.11", "--handler", "main.run",
                endpoint=lamina.endpoint)  # fmt: skip
    assert first.returncode == 0, first.stderr
    code.write_text("def run(event, context):\n    return 'second'\n")
    again = cli("deploy", str(tmp_path), "--name", fn_name, "--memory", "512", endpoint=lamina.endpoint)
    assert again.returncode == 0, again.stderr
    assert json.loads(cli("invoke", fn_name, endpoint=lamina.endpoint).stdout) == "second"
    config = json.loads(cli("info", fn_name, "--json", endpoint=lamina.endpoint).stdout)["Configuration"]
    assert (config["Runtime"], config["Handler"], config["MemorySize"]) == ("python3.11", "main.run", 512)
    new = cli("deploy", str(tmp_path), "--name", fn_name + "-new", endpoint=lamina.endpoint)
    assert new.returncode == 2 and "does not exist yet" in new.stderr and "--runtime" in new.stderr


FAILING_PYTHON = ("import json\n\ndef handler(event, context):\n    print('about to fail')\n"
                  "    json.loads('{broken')\n")  # fmt: skip
FAILING_NODE = ("export const handler = async () => {\n  console.log('about to fail');\n"
                "  throw new TypeError('bad input');\n};\n")  # fmt: skip


@pytest.mark.parametrize(("runtime", "file", "code", "handler", "error"), [
    ("python3.11", "app.py", FAILING_PYTHON, "app.handler", "JSONDecodeError"),
    ("nodejs20.x", "index.mjs", FAILING_NODE, "index.handler", "TypeError"),
])  # fmt: skip
def test_invoke_logs_render_tracebacks_readably(lamina: LaminaProcess, tmp_path: Path, fn_name: str, runtime: str,
                                                file: str, code: str, handler: str, error: str) -> None:  # fmt: skip
    if runtime.startswith("nodejs") and shutil.which("node") is None:
        pytest.skip("no node")
    (tmp_path / file).write_text(code)
    assert cli("deploy", str(tmp_path), "--name", fn_name, "--runtime", runtime, "--handler", handler,
               endpoint=lamina.endpoint).returncode == 0  # fmt: skip
    done = cli("invoke", fn_name, "--logs", endpoint=lamina.endpoint)
    assert done.returncode == 1
    assert "\r" not in done.stderr and "\u00a0" not in done.stderr
    lines = done.stderr.splitlines()
    assert any(line.startswith("START RequestId") for line in lines) and any("about to fail" in line for line in lines)
    summary = next(i for i, line in enumerate(lines) if line.startswith(f"{fn_name} failed: {error}"))
    frames = lines[summary + 1:]
    assert frames and all(line.startswith("  ") for line in frames)
    assert any(file in line for line in frames)  # a frame of the function's own file, on a line of its own
    if runtime.startswith("python"):
        log_trace = [line for line in lines[:summary] if line.strip().startswith('File "')]
        assert log_trace and all(line.startswith("  File") for line in log_trace)  # the log tail's frames too


def test_json_logs_says_each_thing_once(lamina: LaminaProcess, tmp_path: Path, fn_name: str) -> None:
    (tmp_path / "app.py").write_text(FAILING_PYTHON)
    assert cli("deploy", str(tmp_path), "--name", fn_name, "--runtime", "python3.11", "--handler", "app.handler",
               endpoint=lamina.endpoint).returncode == 0  # fmt: skip
    done = cli("invoke", fn_name, "--json", "--logs", endpoint=lamina.endpoint)
    assert done.returncode == 1 and done.stderr == ""
    document = json.loads(done.stdout)  # one document: the error, the payload and the log tail, each once
    assert document["FunctionError"] == "Unhandled" and document["Payload"]["errorType"] == "JSONDecodeError"
    assert done.stdout.count("about to fail") == 1 and "about to fail" in document["LogResult"]


@pytest.mark.slow
def test_a_package_too_large_gets_advice_for_large_packages(lamina: LaminaProcess, tmp_path: Path,
                                                            fn_name: str) -> None:  # fmt: skip
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (tmp_path / "model.bin").write_bytes(os.urandom(51 * 1024 * 1024))  # random: the zip is as large
    done = cli("deploy", str(tmp_path), "--name", fn_name, "--runtime", "python3.11", "--handler", "app.handler",
               endpoint=lamina.endpoint)  # fmt: skip
    assert done.returncode == 1
    assert "too large to upload directly" in done.stderr and "S3Bucket=" in done.stderr and "layer" in done.stderr
    assert "payload" not in done.stderr.lower() and "--async" not in done.stderr


def test_progress_on_stderr_only_when_asked(lamina: LaminaProcess, tmp_path: Path, fn_name: str) -> None:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (tmp_path / "data.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    base = ("deploy", str(tmp_path), "--name", fn_name, "--runtime", "python3.11", "--handler", "app.handler")
    quiet = cli(*base, endpoint=lamina.endpoint)
    assert quiet.returncode == 0 and "Uploading" not in quiet.stderr + quiet.stdout  # not a terminal, not asked
    asked = cli(*base, "--progress", "--json", endpoint=lamina.endpoint)
    assert asked.returncode == 0, asked.stderr
    json.loads(asked.stdout)  # stdout: the JSON document alone
    uploads = [line for line in asked.stderr.splitlines() if line.startswith("Uploading")]
    assert uploads and uploads[-1].endswith("(100%)") and " of 2." in uploads[-1]


def test_hints_work_as_printed(make_server: object, tmp_path: Path) -> None:
    server = make_server()  # type: ignore[operator]
    endpoint = server.endpoint
    env = shell_env(endpoint)
    for listing, placeholder, value in (("queues", "NAME", "hinted-queue"), ("rules", "NAME", "hinted-rule")):
        shown = cli(listing, endpoint=endpoint)
        command = shown.stdout.split("Make one with: ", 1)[1].strip().replace(placeholder, value)
        ran = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, timeout=120)
        assert ran.returncode == 0, ran.stderr
        assert value in cli(listing, endpoint=endpoint).stdout
    empty = cli("ls", endpoint=endpoint).stdout.splitlines()
    commands = [line.strip() for line in empty if line.startswith("  ")]
    ran = subprocess.run(["bash", "-c", " && ".join(commands)], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "hello" in cli("ls", endpoint=endpoint).stdout


def test_a_second_server_refuses_a_data_directory_in_use(make_server: object, tmp_path: Path) -> None:
    first = make_server()  # type: ignore[operator]
    second = subprocess.run([str(LAMINA), "server", "--port", "0", "--data-dir", str(first.data_dir)],
                            capture_output=True, text=True, env=server_env(), timeout=60)  # fmt: skip
    assert second.returncode == 2
    assert f"pid {first.proc.pid}, {first.endpoint}" in second.stderr and "--data-dir" in second.stderr
    assert first.proc.poll() is None  # the first goes on
    first.stop()
    again = make_server(first.data_dir)  # type: ignore[operator]
    assert again.endpoint  # the lock went with the server that held it


def test_the_lock_file_cannot_be_turned_against_the_server(tmp_path: Path) -> None:
    planted = tmp_path / "planted"
    planted.mkdir()
    target = tmp_path / "precious"
    target.write_text("keep me")
    (planted / "server.lock").symlink_to(target)
    done = subprocess.run([str(LAMINA), "server", "--port", "0", "--data-dir", str(planted)], capture_output=True,
                          text=True, env=server_env(), timeout=60)  # fmt: skip
    assert done.returncode == 2 and "cannot open the data directory's lock" in done.stderr
    assert target.read_text() == "keep me"
    held = tmp_path / "held"
    held.mkdir()
    with open(held / "server.lock", "wb") as lock:  # held by someone whose note is garbage
        lock.write(b"\xff" * 100_000)
        lock.flush()
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        done = subprocess.run([str(LAMINA), "server", "--port", "0", "--data-dir", str(held)], capture_output=True,
                              text=True, env=server_env(), timeout=60)  # fmt: skip
    assert done.returncode == 2 and "in use by another Lamina server (pid unknown)" in done.stderr


FAILING_DOTNET = """using System;
using System.IO;
namespace Fail
{
    public class Function
    {
        public Stream Handle(Stream input)
        {
            try { Parse(); }
            catch (FormatException inner) { throw new InvalidOperationException("could not load the order", inner); }
            return input;
        }
        private static void Parse() { throw new FormatException("not a number: abc"); }
    }
}
"""


@pytest.mark.skipif(shutil.which("mcs") is None or shutil.which("mono") is None, reason="no Mono")
def test_invoke_shows_dotnet_inner_exceptions(lamina: LaminaProcess, tmp_path: Path, fn_name: str) -> None:
    (tmp_path / "Fail.cs").write_text(FAILING_DOTNET)
    build = tmp_path / "build"
    build.mkdir()
    subprocess.run(["mcs", "-target:library", "-debug", f"-out:{build / 'Fail.dll'}", str(tmp_path / "Fail.cs")],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    assert cli("deploy", str(build), "--name", fn_name, "--runtime", "dotnet8", "--handler", "Fail::Fail.Function::Handle",
               endpoint=lamina.endpoint).returncode == 0  # fmt: skip
    done = cli("invoke", fn_name, endpoint=lamina.endpoint)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0] == f"{fn_name} failed: InvalidOperationException: could not load the order"
    cause = lines.index("Caused by: FormatException: not a number: abc")
    assert any("Fail.cs:" in line for line in lines[cause + 1:])  # the inner exception's own frames, file and line


def test_provisioned_concurrency_is_waited_for_with_progress(lamina: LaminaProcess, tmp_path: Path,
                                                             fn_name: str) -> None:  # fmt: skip
    # An initialization of a second: the configuration cannot be READY when the first poll asks.
    (tmp_path / "app.py").write_text("import time\ntime.sleep(1)\n\ndef handler(event, context):\n    return 1\n")
    assert cli("deploy", str(tmp_path), "--name", fn_name, "--runtime", "python3.11", "--handler", "app.handler",
               endpoint=lamina.endpoint).returncode == 0  # fmt: skip
    version = lamina.client().publish_version(FunctionName=fn_name)["Version"]
    done = cli("concurrency", fn_name, "--qualifier", version, "--provisioned", "2", "--progress", "--json",
               endpoint=lamina.endpoint)  # fmt: skip
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout)
    assert (config["Status"], config["AvailableProvisionedConcurrentExecutions"]) == ("READY", 2)
    waits = [line for line in done.stderr.splitlines() if line.startswith(f"Waiting for {fn_name}:{version}'s")]
    assert waits and " of 2 ready (" in waits[0]
    removed = cli("concurrency", fn_name, "--qualifier", version, "--provisioned", "0", endpoint=lamina.endpoint)
    assert removed.returncode == 0 and "Removed" in removed.stdout
    latest = cli("concurrency", fn_name, "--qualifier", "$LATEST", "--provisioned", "1", endpoint=lamina.endpoint)
    assert latest.returncode == 1 and "Traceback" not in latest.stderr
    negative = cli("concurrency", fn_name, "--qualifier", version, "--provisioned", "-1", endpoint=lamina.endpoint)
    assert negative.returncode == 2
