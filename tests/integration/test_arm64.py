"""arm64 functions (docs/runtimes/provided.md): a custom runtime's bootstrap built for arm64 runs
under user-mode emulation on an x86_64 host (qemu-user-static, scripts/install/qemu.sh); one built
for the other architecture than the function's fails as on Lambda, with "exec format error"
(Runtime.InvalidEntrypoint), never as a runtime that exited with status 127. Interpreted runtimes
run on the host's interpreter whatever the function's architecture.

The Go function is tests/integration/go/probe (aws-lambda-go), built for each architecture."""

from __future__ import annotations

import platform
from typing import Any

import pytest

from lamina.runtime import architecture
from tests.conftest import deploy, make_zip
from tests.functions import invoke, request_id
from tests.integration.test_provided import go_build

GOARCH = {architecture.X86_64: "amd64", architecture.ARM64: "arm64"}
HOST = architecture.host_architecture()
OTHER = architecture.ARM64 if HOST == architecture.X86_64 else architecture.X86_64


def needs_emulation() -> None:
    if architecture.find(OTHER) is None:
        pytest.skip(f"this host runs no {OTHER} executables: run scripts/install/qemu.sh")


@pytest.fixture(scope="module")
def arm64_binary() -> bytes:
    binary = go_build("probe", goarch="arm64")
    assert architecture.elf_architecture(binary[:64]) == architecture.ARM64
    return binary


@pytest.fixture(scope="module")
def x86_64_binary() -> bytes:
    binary = go_build("probe", goarch="amd64")
    assert architecture.elf_architecture(binary[:64]) == architecture.X86_64
    return binary


def test_go_arm64_function_runs_and_answers(client: Any, fn_name: str, arm64_binary: bytes) -> None:
    if HOST != architecture.ARM64:
        needs_emulation()
    config = deploy(client, fn_name, {"bootstrap": arm64_binary}, handler="bootstrap", runtime="provided.al2023",
                    Architectures=["arm64"])  # fmt: skip
    assert config["Architectures"] == ["arm64"]
    for round_ in (1, 2):
        response, body, log = invoke(client, fn_name, {"name": "Graviton"})
        assert response["StatusCode"] == 200 and "FunctionError" not in response, body
        assert body["greeting"] == "Hello, Graviton!"
        assert body["invocations"] == round_  # the emulated process stays warm between events
        assert "greeting Graviton in " in log


@pytest.mark.parametrize("function_arch", ["arm64", "x86_64"])
def test_binary_of_the_other_architecture_is_an_exec_format_error(
    client: Any, fn_name: str, arm64_binary: bytes, x86_64_binary: bytes, function_arch: str,
) -> None:  # fmt: skip
    if function_arch != HOST:
        needs_emulation()  # without it, such a function cannot be created at all
    binary = x86_64_binary if function_arch == architecture.ARM64 else arm64_binary
    deploy(client, fn_name, {"bootstrap": binary}, handler="bootstrap", runtime="provided.al2023",
           Architectures=[function_arch])  # fmt: skip
    response, body, log = invoke(client, fn_name, {"name": "wrong"})
    assert response.get("FunctionError") == "Unhandled", body
    assert body["errorType"] == "Runtime.InvalidEntrypoint", body
    assert body["errorMessage"] == f"RequestId: {request_id(response)} Error: fork/exec /var/task/bootstrap: exec format error"
    assert "exit status 127" not in body["errorMessage"] and "exit status 127" not in log
    assert "exec format error" in log


def test_switching_the_architecture_with_new_code(client: Any, fn_name: str, arm64_binary: bytes,
                                                  x86_64_binary: bytes) -> None:  # fmt: skip
    needs_emulation()
    native = x86_64_binary if HOST == architecture.X86_64 else arm64_binary
    emulated = arm64_binary if HOST == architecture.X86_64 else x86_64_binary
    deploy(client, fn_name, {"bootstrap": native}, handler="bootstrap", runtime="provided.al2023", Architectures=[HOST])
    client.update_function_code(FunctionName=fn_name, ZipFile=make_zip({"bootstrap": emulated}, modes={"bootstrap": 0o755}),
                                Architectures=[OTHER])  # fmt: skip
    client.get_waiter("function_updated_v2").wait(FunctionName=fn_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    assert client.get_function_configuration(FunctionName=fn_name)["Architectures"] == [OTHER]
    response, body, _ = invoke(client, fn_name, {"name": "switched"})
    assert "FunctionError" not in response, body
    assert body["greeting"] == "Hello, switched!"


PLATFORM = """
import platform

def handler(event, context):
    return {"machine": platform.machine()}
"""


def test_python_arm64_function_runs_on_the_hosts_interpreter(client: Any, fn_name: str) -> None:
    config = deploy(client, fn_name, PLATFORM, Architectures=["arm64"])
    assert config["Architectures"] == ["arm64"]
    response, body, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, body
    assert body == {"machine": platform.machine()}  # not emulated: pure Python is the same on both
