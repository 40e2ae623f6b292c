"""``lamina init``: a new project per runtime and trigger, whose printed next commands are run as
printed (a real ``lamina`` on PATH, a real server): build, test, deploy, invoke; ``lamina dev``
from the project folder; and the AWS CLI's CloudFormation commands for the whole template."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LaminaProcess
from tests.functions import wait_for_logs
from tests.integration.test_dev import lines_of, wait_for

BIN = Path(sys.executable).parent
# The tools each runtime's next commands use (build and test), beside the runtime itself.
TOOLS = {"python3.12": ("python3",), "nodejs20.x": ("node",), "ruby3.3": ("ruby",), "java": ("javac", "java"),
         "dotnet8": ("mcs", "mono"), "provided.al2023": ("bash", "curl")}  # fmt: skip


def shell_env(endpoint: str) -> dict[str, str]:
    """A user's shell: ``lamina`` and ``aws`` on PATH, LAMINA_ENDPOINT naming the server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAMINA_", "AWS_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["LAMINA_ENDPOINT"] = endpoint
    return env


def lamina_cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "lamina"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def block(output: str, title: str) -> list[str]:
    """The indented command lines under ``title`` in what init printed."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    commands = []
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        commands.append(line.strip())
    return commands


def run_as_printed(commands: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = "set -euo pipefail\n" + "\n".join(commands) + "\n"
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def runtimes(lamina: LaminaProcess) -> dict[str, bool]:
    answer = lamina_cli("runtimes", "--json", cwd=Path.cwd(), env=shell_env(lamina.endpoint))
    return {row["runtime"]: bool(row["available"]) for row in json.loads(answer.stdout)["runtimes"]}


def runtime_here(runtime: str, runtimes: dict[str, bool]) -> str:
    if runtime == "java":  # java21 is the template's; a host with another JDK runs its own
        runtime = next((r for r in ("java21", "java25", "java17") if runtimes.get(r)), "java21")
    if not runtimes.get(runtime):
        pytest.skip(f"{runtime} is not installed here (lamina runtimes)")
    return runtime


@pytest.mark.parametrize("runtime", list(TOOLS))
def test_init_then_the_printed_commands_build_test_deploy_and_invoke(
        lamina: LaminaProcess, runtimes: dict[str, bool], tmp_path: Path, runtime: str) -> None:  # fmt: skip
    missing = [tool for tool in TOOLS[runtime] if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")
    runtime = runtime_here(runtime, runtimes)
    env = shell_env(lamina.endpoint)
    name = f"init-{runtime.replace('.', '-')}-{os.getpid()}"
    made = lamina_cli("init", name, "--runtime", runtime, "--trigger", "sqs", cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    assert f"Created {name} ({runtime}, trigger: sqs)" in made.stdout
    commands = [c for c in block(made.stdout, "Next:") if not c.startswith("lamina dev")]  # dev: its own test
    assert commands[0] == f"cd {name}" and any(c.startswith("lamina deploy") for c in commands)
    ran = run_as_printed(commands, tmp_path, env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    # The invoke ran the handler on the sample SQS event events/event.json holds: one record.
    assert '"Hello, world!"' in ran.stdout
    if runtime.startswith(("python", "nodejs", "ruby", "java")):
        assert '"records": 1' in ran.stdout
    assert "REPORT RequestId" in ran.stderr  # --logs: the log tail
    deployed = json.loads(lamina_cli("info", name, "--json", cwd=tmp_path, env=env).stdout)
    assert deployed["Configuration"]["Runtime"] == runtime
    assert deployed["Configuration"]["MemorySize"] == 256  # read from template.yaml


def test_lamina_dev_as_printed_reloads_the_project(lamina: LaminaProcess, tmp_path: Path) -> None:
    env = shell_env(lamina.endpoint)
    name = f"init-dev-{os.getpid()}"
    made = lamina_cli("init", name, cwd=tmp_path, env=env)
    dev_line = next(c for c in block(made.stdout, "Next:") if c.startswith("lamina dev"))
    project = tmp_path / name
    proc = subprocess.Popen(["bash", "-c", f"exec {dev_line.split('#')[0]} --payload '{{\"name\": \"dev\"}}'"],
                            cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    assert proc.stdout is not None
    output, reader = lines_of(proc.stdout)
    seen: list[str] = []
    try:
        wait_for(output, "Hello, dev!", seen)
        wait_for(output, "Watching", seen)
        handler = project / "src" / "app.py"
        handler.write_text(handler.read_text().replace('f"Hello, {name}!"', 'f"Hi again, {name}!"'))
        wait_for(output, "Reloaded", seen)
        wait_for(output, "Hi again, dev!", seen)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        finally:
            reader.join(10)
            proc.stdout.close()
    assert code == 0, seen


def aws_json(command: list[str], cwd: Path, env: dict[str, str]) -> Any:
    full = {**env, "AWS_ENDPOINT_URL": env["LAMINA_ENDPOINT"], "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    # --endpoint-url as well: AWS CLI v1 sends `aws sqs` to AWS's own address whatever AWS_ENDPOINT_URL says.
    done = subprocess.run([str(BIN / "aws"), *command, "--output", "json", "--endpoint-url", env["LAMINA_ENDPOINT"]],
                          cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout or "null")


@pytest.mark.parametrize("trigger", ["none", "http", "schedule", "sqs", "s3"])
def test_the_printed_cloudformation_commands_deploy_the_whole_template(make_server: Any, tmp_path: Path,
                                                                       trigger: str) -> None:  # fmt: skip
    server = make_server()
    env = shell_env(server.endpoint)
    name = f"stack-{trigger}"
    made = lamina_cli("init", name, "--trigger", trigger, cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    commands = ["cd " + name, *block(made.stdout, "The whole template")]
    ran = run_as_printed(commands, tmp_path, env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    stack = aws_json(["cloudformation", "describe-stacks", "--stack-name", name], tmp_path, env)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    if trigger == "http":  # the function URL answers with the handler's body
        url = urllib.request.urlsplit(outputs["FunctionUrl"])
        request = urllib.request.Request(server.endpoint + "/", headers={"Host": url.netloc})
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert json.loads(answer.read()) == {"message": "Hello, world!", "records": 0}
    if trigger == "sqs":  # a message sent makes the function run
        aws_json(["sqs", "send-message", "--queue-url", outputs["QueueUrl"], "--message-body", "hi"], tmp_path, env)
        assert any("Handling an event with 1 records" in line for line in wait_for_logs(
            server.endpoint, name, lambda lines: any("with 1 records" in line for line in lines), timeout=30))
    if trigger == "s3":  # an object put makes the function run
        (tmp_path / "object.txt").write_text("hi")
        aws_json(["s3api", "put-object", "--bucket", outputs["Bucket"], "--key", "object.txt", "--body",
                  str(tmp_path / "object.txt")], tmp_path, env)  # fmt: skip
        assert any("Handling an event with 1 records" in line for line in wait_for_logs(
            server.endpoint, name, lambda lines: any("with 1 records" in line for line in lines), timeout=30))
    if trigger == "schedule":
        rules = aws_json(["events", "list-rules"], tmp_path, env)["Rules"]
        (rule,) = [r for r in rules if r.get("ScheduleExpression") == "rate(1 minute)"]
        targets = aws_json(["events", "list-targets-by-rule", "--rule", rule["Name"]], tmp_path, env)["Targets"]
        assert [t["Arn"].rsplit(":", 1)[-1] for t in targets] == [name]


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    project = tmp_path / "taken"
    project.mkdir()
    (project / "template.yaml").write_text("mine\n")
    outside = tmp_path / "outside.txt"
    (project / "src").mkdir()
    (project / "src" / "app.py").symlink_to(outside)  # a planted link is never written through
    env = shell_env("http://127.0.0.1:9")
    done = lamina_cli("init", str(project), cwd=tmp_path, env=env)
    assert done.returncode == 2
    assert "already has" in done.stderr and "src/app.py" in done.stderr and "template.yaml" in done.stderr
    assert (project / "template.yaml").read_text() == "mine\n" and not outside.exists()
    assert sorted(p.name for p in project.rglob("*")) == ["app.py", "src", "template.yaml"]


@pytest.mark.parametrize("args, said", [
    (["--runtime", "cobol1"], "no template for cobol1"),
    (["--name", "bad name!"], "cannot be a function's name"),
    (["--trigger", "carrier-pigeon"], "invalid choice"),
])  # fmt: skip
def test_init_refuses_what_it_cannot_make(tmp_path: Path, args: list[str], said: str) -> None:
    done = lamina_cli("init", "fresh", *args, cwd=tmp_path, env=shell_env("http://127.0.0.1:9"))
    assert done.returncode == 2 and said in done.stderr
    assert not (tmp_path / "fresh").exists() or not any((tmp_path / "fresh").iterdir())
