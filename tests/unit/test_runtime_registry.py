"""The runtime registry's answers (found, missing, gone) with an injected clock and finder, the
"not available" message, and what ``lamina runtimes`` prints from the server's answer."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import pytest

from lamina.cli.runtimes import MISMATCH, UNAVAILABLE, notes, runtime_rows
from lamina.errors import InvalidParameterValue, InvalidRuntime, ValidationError
from lamina.runtime.families import Missing, Runtime, dotnet, java, nodejs, python, ruby
from lamina.runtime.names import LAMBDA_RUNTIMES
from lamina.runtime.report import report_of, unavailable_message
from lamina.runtime.runtimes import RuntimeRegistry

RUBY_MISSING = Missing("a Ruby 3 interpreter (ruby)", "scripts/install/ruby.sh", "no Ruby 3 on PATH")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Finder:
    """Answers from a table the test changes, counting how often it is asked."""

    def __init__(self, answers: dict[str, Runtime | Missing]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, name: str, overrides: Mapping[str, str]) -> Runtime | Missing | None:
        self.asked.append(name)
        return self.answers.get(name)


def ruby_runtime(interpreter: Path, mismatch: str = "") -> Runtime:
    return Runtime("ruby3.3", "ruby", (str(interpreter), "{runtime_dir}/bootstrap.rb"), interpreter=str(interpreter),
                   version="3.3.6", mismatch=mismatch, requires=(interpreter,))  # fmt: skip


def test_a_missing_runtime_is_looked_for_again_only_once_its_answer_is_old(tmp_path: Path) -> None:
    clock, finder = Clock(), Finder({"ruby3.3": RUBY_MISSING})
    registry = RuntimeRegistry(recheck_seconds=5, clock=clock, finder=finder)
    assert registry.lookup("ruby3.3") == RUBY_MISSING
    clock.now += 4.9
    assert registry.lookup("ruby3.3") == RUBY_MISSING
    assert finder.asked == ["ruby3.3"]  # the negative answer, cached
    interpreter = tmp_path / "ruby"
    interpreter.touch()
    finder.answers["ruby3.3"] = ruby_runtime(interpreter)  # installed meanwhile
    clock.now += 0.1
    assert registry.get("ruby3.3") == ruby_runtime(interpreter)
    assert finder.asked == ["ruby3.3", "ruby3.3"]


def test_a_runtime_found_is_kept_while_its_files_are_there_and_looked_for_again_once_gone(tmp_path: Path) -> None:
    clock, interpreter = Clock(), tmp_path / "ruby"
    interpreter.touch()
    finder = Finder({"ruby3.3": ruby_runtime(interpreter)})
    registry = RuntimeRegistry(recheck_seconds=5, clock=clock, finder=finder)
    registry.get("ruby3.3")
    clock.now += 3600
    registry.get("ruby3.3")
    assert finder.asked == ["ruby3.3"]
    interpreter.unlink()  # uninstalled while Lamina runs
    finder.answers["ruby3.3"] = RUBY_MISSING
    with pytest.raises(InvalidParameterValue) as raised:
        registry.get("ruby3.3")
    assert finder.asked.count("ruby3.3") == 2  # (the others: the runtimes the message says this host has)
    assert raised.value.code == "InvalidParameterValueException"
    assert "a Ruby 3 interpreter (ruby)" in raised.value.message and "scripts/install/ruby.sh" in raised.value.message
    with pytest.raises(InvalidRuntime) as invoking:  # as an environment's start asks: Invoke's error, no probing
        registry.get("ruby3.3", invoking=True)
    assert (invoking.value.code, invoking.value.status) == ("InvalidRuntimeException", 502)
    assert "Available runtimes" not in invoking.value.message and "scripts/install/ruby.sh" in invoking.value.message


def test_the_not_available_error_names_what_is_missing_what_was_found_and_the_install_command() -> None:
    message = unavailable_message("ruby3.3", RUBY_MISSING)
    assert message == (
        "The runtime ruby3.3 is not available on this Lamina host: missing a Ruby 3 interpreter (ruby); no Ruby 3 "
        "on PATH. Install it: scripts/install/ruby.sh. `lamina runtimes` lists what this host runs."
    )
    surveyed = unavailable_message("ruby3.3", RUBY_MISSING, ["python3.12", "provided"])
    assert surveyed.endswith(
        "Install it: scripts/install/ruby.sh. Available runtimes: python3.12, provided. `lamina runtimes` lists "
        "what this host runs."
    )


def test_a_name_lambda_does_not_have_is_a_validation_error() -> None:
    registry = RuntimeRegistry(finder=Finder({}))
    with pytest.raises(ValidationError) as raised:
        registry.get("python2.7")
    assert "Member must satisfy enum value set" in raised.value.message


def test_the_report_has_every_runtime_lambda_has() -> None:
    runtime = Runtime("provided.al2023", "provided", ("{task_root}/bootstrap",))
    registry = RuntimeRegistry(finder=lambda name, _: runtime if name == "provided.al2023" else RUBY_MISSING)
    reports = registry.report()
    assert [r["runtime"] for r in reports] == list(LAMBDA_RUNTIMES)
    assert [r["runtime"] for r in reports if r["available"]] == ["provided.al2023"]


def test_reports_of_a_runtime_with_another_version_and_of_a_missing_one(tmp_path: Path) -> None:
    found = ruby_runtime(tmp_path / "ruby", mismatch="ruby3.3 runs on Ruby 3.1.2 here")
    assert report_of("ruby3.3", found) == {
        "runtime": "ruby3.3", "available": True, "family": "ruby", "interpreter": str(tmp_path / "ruby"),
        "version": "3.3.6", "warning": "ruby3.3 runs on Ruby 3.1.2 here",
    }  # fmt: skip
    assert report_of("ruby3.3", RUBY_MISSING) == {
        "runtime": "ruby3.3", "available": False, "missing": "a Ruby 3 interpreter (ruby)",
        "install": "scripts/install/ruby.sh", "found": "no Ruby 3 on PATH",
    }  # fmt: skip


def test_lamina_runtimes_rows_and_notes() -> None:
    reports: list[Mapping[str, object]] = [
        {"runtime": "python3.12", "available": True, "family": "python", "interpreter": "/usr/bin/python3.12",
         "version": "3.12.1"},
        {"runtime": "ruby3.3", "available": True, "family": "ruby", "interpreter": "/usr/bin/ruby3.1",
         "version": "3.1.2", "warning": "ruby3.3 runs on Ruby 3.1.2 here"},
        {"runtime": "provided.al2023", "available": True, "family": "provided", "interpreter": "", "version": ""},
        {"runtime": "nodejs22.x", "available": False, "missing": "a Node.js 22 interpreter (node)",
         "found": "found only node 20.20.2 at /usr/bin/node", "install": "nvm install 22"},
    ]  # fmt: skip
    assert runtime_rows(reports) == [
        ["python3.12", "available", "3.12.1", "/usr/bin/python3.12"],
        ["ruby3.3", MISMATCH, "3.1.2", "/usr/bin/ruby3.1"],
        ["provided.al2023", "available", "-", "the package's bootstrap"],
        ["nodejs22.x", UNAVAILABLE, "-", "-"],
    ]
    assert notes(reports) == [
        "ruby3.3: warning: ruby3.3 runs on Ruby 3.1.2 here",
        "nodejs22.x: missing a Node.js 22 interpreter (node); found only node 20.20.2 at /usr/bin/node",
        "    install: nvm install 22",
    ]


# -- what each family says is missing ---------------------------------------------------------


def test_python_names_the_interpreter_and_the_override() -> None:
    missing = python.missing("python3.14", 14, {})
    assert missing.what == "a Python 3.14 interpreter (python3.14)"
    assert "pyenv install 3.14" in missing.install and "LAMINA_PYTHON3_14" in missing.install
    overridden = python.missing("python3.14", 14, {"python3.14": "/opt/py/bin/python3"})
    assert overridden.found == "LAMINA_PYTHON3_14 names /opt/py/bin/python3, which is not a working Python 3.14"


def test_nodejs_names_the_node_versions_it_found() -> None:
    missing = nodejs.missing("nodejs22.x", "22", {}, {"/usr/bin/node": "20.20.2"})
    assert missing.what == "a Node.js 22 interpreter (node)"
    assert missing.found == "found only node 20.20.2 at /usr/bin/node"
    assert "nvm install 22" in missing.install and "LAMINA_NODEJS22_X" in missing.install


def test_java_names_the_jdk_and_the_jdks_it_found() -> None:
    missing = java.missing_jdk("java21", 21, {}, {Path("/usr/lib/jvm/java-17/bin/java"): 17})
    assert missing.what == "a JDK 21 (java 21)"
    assert missing.found == "found only JDK 17 at /usr/lib/jvm/java-17/bin/java"
    assert "openjdk-21-jdk-headless" in missing.install and "scripts/install/java.sh" in missing.install


def test_an_override_that_does_not_run_is_named(tmp_path: Path) -> None:
    absent = str(tmp_path / "absent")
    found_ruby = ruby.find("ruby3.3", {"ruby3.3": absent})
    assert isinstance(found_ruby, Missing) and found_ruby.what == "a Ruby 3 interpreter (ruby)"
    assert found_ruby.found == f"LAMINA_RUBY3_3 names {absent}, which is not a working Ruby 3"
    assert "scripts/install/ruby.sh" in found_ruby.install
    found_mono = dotnet.find("dotnet8", {"dotnet8": absent})
    assert isinstance(found_mono, Missing) and found_mono.what == "Mono (mono), which runs .NET functions here"
    assert "scripts/install/dotnet.sh" in found_mono.install and "mono-runtime" in found_mono.install


def test_mono_release_is_read_from_its_version_line() -> None:
    line = "Mono JIT compiler version 6.8.0.105 (Debian 6.8.0.105+dfsg-3.3+deb12u1 Sat Jun 21 16:33:59 UTC 2025)"
    assert dotnet.mono_release(line) == "6.8.0.105"
    assert dotnet.mono_release("Mono JIT compiler") == "?"


def test_the_recheck_interval_is_a_setting() -> None:
    from lamina.settings import Settings

    assert Settings.from_env({}).runtime_recheck_seconds == 5.0
    assert Settings.from_env({"LAMINA_RUNTIME_RECHECK": "0.5"}).runtime_recheck_seconds == 0.5
