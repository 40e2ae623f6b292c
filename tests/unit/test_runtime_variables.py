"""What an environment's process sees (runtime/variables.py) and whether it may fork from a fork
server (runtime/startup.py): plain values."""

from __future__ import annotations

from pathlib import Path

from lamina.model import Code, FunctionConfig
from lamina.runtime.families import Runtime, entries
from lamina.runtime.startup import needs_fresh_process, read_at_start, wrapped
from lamina.runtime.variables import Placement, lambda_environment, reserved_keys_used

PYTHON = Runtime("python3.12", "python", ("/usr/bin/python3.12", "-u", "-B", "{runtime_dir}/bootstrap.py"),
                 env={"PYTHONPATH": "{runtime_dir}"}, home=Path("/src/lamina/runtime/python"))  # fmt: skip
NODE = Runtime("nodejs20.x", "nodejs", ("/bin/sh", "{runtime_dir}/bootstrap.sh"), home=Path("/src/nodejs"),
               env={"NODE_PATH": "/opt/nodejs/node_modules:{sdk_node_modules}:{runtime_dir}:{task_root}"})  # fmt: skip
CUSTOM = Runtime("provided.al2023", "provided", ("{task_root}/bootstrap",))


def function(runtime: str = "python3.12", **variables: str) -> FunctionConfig:
    return FunctionConfig(name="fn", runtime=runtime, handler="app.handler", role="arn:aws:iam::000000000000:role/r",
                          code=Code("0" * 64, "", 1), environment=variables)  # fmt: skip


def environment(fn: FunctionConfig, runtime: Runtime, placement: Placement | None = None) -> dict[str, str]:
    return lambda_environment(fn, runtime, placement=placement or Placement.sandboxed(), runtime_api="127.0.0.1:9001",
                              log_stream="2026/01/01/[$LATEST]abc", region="eu-west-1")  # fmt: skip


def test_a_python_environment_has_awss_names_and_values() -> None:
    env = environment(function(), PYTHON)
    assert env == {
        "_HANDLER": "app.handler", "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime", "AWS_LAMBDA_FUNCTION_NAME": "fn", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]abc", "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "LANG": "en_US.UTF-8", "TZ": ":UTC", "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
        "LD_LIBRARY_PATH": "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
        "PYTHONPATH": "/var/runtime",
    }  # fmt: skip


def test_a_custom_runtime_has_no_var_lang_and_no_execution_env() -> None:
    env = environment(function("provided.al2023"), CUSTOM)
    assert env["PATH"] == "/usr/local/bin:/usr/bin/:/bin:/opt/bin"
    assert env["LD_LIBRARY_PATH"] == "/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"
    assert "AWS_EXECUTION_ENV" not in env and env["LAMBDA_RUNTIME_DIR"] == "/var/runtime"


def test_the_functions_variables_override_the_unreserved_ones_only() -> None:
    fn = function(TZ="Asia/Tokyo", PATH="/opt/bin:/bin", PYTHONPATH="/opt/extra", LANG="C.UTF-8", MINE="1")
    env = environment(fn, PYTHON)
    assert (env["TZ"], env["PATH"], env["PYTHONPATH"], env["LANG"], env["MINE"]) == (
        "Asia/Tokyo", "/opt/bin:/bin", "/opt/extra", "C.UTF-8", "1")
    # Reserved ones are refused when configured; were one stored, Lambda's value would still win.
    assert environment(function(AWS_REGION="us-west-2"), PYTHON)["AWS_REGION"] == "eu-west-1"
    assert reserved_keys_used({"AWS_REGION": "x", "LAMBDA_RUNTIME_DIR": "y", "TZ": "z"}) == ["AWS_REGION", "LAMBDA_RUNTIME_DIR"]


def test_node_path_names_the_sdk_where_the_environment_sees_it() -> None:
    assert environment(function("nodejs20.x"), NODE)["NODE_PATH"] == (
        "/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task")
    on_host = Placement.on_host(NODE, Path("/data/code/fn"), Path("/cache/sdk/node_modules"))
    env = environment(function("nodejs20.x"), NODE, on_host)
    assert env["NODE_PATH"] == "/opt/nodejs/node_modules:/cache/sdk/node_modules:/src/nodejs:/data/code/fn"
    assert env["LAMBDA_RUNTIME_DIR"] == "/src/nodejs" and env["LAMBDA_TASK_ROOT"] == "/data/code/fn"
    assert Placement.on_host(NODE, Path("/code"), None).sdk_node_modules == "/src/nodejs/node_modules"


def test_commands_name_the_runtime_where_the_environment_sees_it() -> None:
    assert PYTHON.command(Path("/var/task"), "/var/runtime")[-1] == "/var/runtime/bootstrap.py"
    assert PYTHON.command(Path("/code"))[-1] == "/src/lamina/runtime/python/bootstrap.py"
    assert CUSTOM.command(Path("/var/task"), "/var/runtime") == ["/var/task/bootstrap"]


def test_no_home_or_tmpdir() -> None:
    env = environment(function(), PYTHON)
    assert "HOME" not in env and "TMPDIR" not in env and "PYTHONUNBUFFERED" not in env


def test_entries_lists_what_a_runtime_binds(tmp_path: Path) -> None:
    for name in ("index.cjs", "bootstrap.sh", "notes.txt", ".hidden.cjs"):
        (tmp_path / name).write_text("")
    (tmp_path / "__pycache__").mkdir()
    assert entries(tmp_path, suffixes=(".sh", ".cjs")) == {"bootstrap.sh": tmp_path / "bootstrap.sh",
                                                           "index.cjs": tmp_path / "index.cjs"}  # fmt: skip
    assert set(entries(tmp_path)) == {"bootstrap.sh", "index.cjs", "notes.txt"}
    assert entries(tmp_path / "missing") == {}


def test_python_variables_read_at_start_need_a_fresh_interpreter() -> None:
    for name in ("PYTHONWARNINGS", "PYTHONHASHSEED", "PYTHONUTF8", "PYTHONMALLOC", "PYTHONDEVMODE", "LD_PRELOAD",
                 "LD_LIBRARY_PATH", "GLIBC_TUNABLES", "MALLOC_ARENA_MAX", "LANG", "LC_ALL"):  # fmt: skip
        assert read_at_start("python", name), name
    # Read later, or applied to the forked child: a fork honours them.
    for name in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONBREAKPOINT", "TZ", "HOME", "AWS_ENDPOINT_URL", "MINE"):
        assert not read_at_start("python", name), name
    # Other runtimes always start a fresh process: nothing to decide.
    assert not read_at_start("nodejs", "NODE_OPTIONS") and not read_at_start("java", "JAVA_TOOL_OPTIONS")
    assert needs_fresh_process("python", {"TZ": "UTC", "PYTHONWARNINGS": "error", "LD_PRELOAD": "/opt/lib/x.so"}) == [
        "LD_PRELOAD", "PYTHONWARNINGS"]
    assert needs_fresh_process("python", {"TZ": "UTC", "PYTHONPATH": "/opt/x"}) == []
    assert needs_fresh_process("ruby", {"LD_PRELOAD": "/opt/lib/x.so"}) == []


def test_a_wrapper_script_is_handed_the_runtimes_command() -> None:
    argv = ["/usr/bin/python3.12", "-u", "-B", "/var/runtime/bootstrap.py"]
    variables = {"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/wrap.sh"}
    assert wrapped("python", variables, argv) == ["/var/task/wrap.sh", *argv]
    assert needs_fresh_process("python", variables) == ["AWS_LAMBDA_EXEC_WRAPPER"]  # a fork cannot be wrapped
    assert wrapped("ruby", variables, ["ruby", "b.rb"]) == ["/var/task/wrap.sh", "ruby", "b.rb"]
    # Node.js's and Java's bootstraps exec their runtime under it themselves; a custom runtime has none.
    assert wrapped("nodejs", variables, ["/bin/sh", "b.sh"]) == ["/bin/sh", "b.sh"]
    assert wrapped("provided", variables, ["/var/task/bootstrap"]) == ["/var/task/bootstrap"]
    assert wrapped("python", {}, argv) == argv and wrapped("python", {"AWS_LAMBDA_EXEC_WRAPPER": ""}, argv) == argv
