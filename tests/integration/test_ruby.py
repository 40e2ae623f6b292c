"""Ruby functions (``ruby3.x``), end to end through boto3, checked against AWS's Ruby runtime.

The shapes asserted here are those of AWS's runtime interface client (the aws_lambda_ric gem):
``def handler(event:, context:)``, ``Function<RuntimeError>`` / ``Init<LoadError>`` error types,
``stackTrace`` as a list of ``file:line:in `method'`` strings, and the runtime exiting after a
critical exception (NoMethodError, NameError, or anything that is not a StandardError).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import zlib
from pathlib import Path
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from lamina.runtime.families.ruby import HostRuby, choose, host_rubies
from tests.conftest import LaminaProcess, deploy, make_zip
from tests.environments import wait_gone
from tests.functions import (
    arn, assert_platform_error, assert_unhandled, invoke, invoke_in_a_row, request_id, wait_for_logs,
)  # fmt: skip

RUNTIME = "ruby3.3"
RUBY = shutil.which("ruby") or "/usr/bin/ruby"


def ruby_version() -> str | None:
    try:
        out = subprocess.run(["ruby", "-e", "print RUBY_VERSION"], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    return out.stdout if out.returncode == 0 else None


HOST_RUBY = ruby_version()
pytestmark = pytest.mark.skipif(HOST_RUBY is None, reason="no Ruby on this host: run scripts/install/ruby.sh")


def deploy_rb(client: Any, name: str, code: str | dict[str, str | bytes], *, handler: str = "app.handler",
              runtime: str = RUNTIME, **kwargs: Any) -> dict[str, Any]:  # fmt: skip
    files = {"app.rb": code} if isinstance(code, str) else code
    return deploy(client, name, files, handler=handler, runtime=runtime, **kwargs)


def assert_ruby_error(response: dict[str, Any], body: Any, error_type: str) -> None:
    """AWS's Ruby error document: errorMessage, errorType and stackTrace, nothing else."""
    assert_unhandled(response, body, error_type)
    assert set(body) == {"errorMessage", "errorType", "stackTrace"}, body
    assert isinstance(body["stackTrace"], list) and all(isinstance(f, str) for f in body["stackTrace"]), body
    assert not any("bootstrap.rb" in frame or "lazy_gems.rb" in frame for frame in body["stackTrace"]), body


# -- code -------------------------------------------------------------------------------------

HELLO = """
def handler(event:, context:)
  { "message" => "Hello, #{event['name']}!", "ruby" => RUBY_VERSION }
end

module Greeter
  class Polite
    def self.greet(event:, context:)
      "Good day, #{event['name']}."
    end
  end
end
"""

PROBE = """
def handler(event:, context:)
  {
    "env" => ENV.to_h,
    "cwd" => Dir.pwd,
    "load_path" => $LOAD_PATH,
    "function_name" => context.function_name,
    "function_version" => context.function_version,
    "invoked_function_arn" => context.invoked_function_arn,
    "memory_limit_in_mb" => context.memory_limit_in_mb,
    "aws_request_id" => context.aws_request_id,
    "log_group_name" => context.log_group_name,
    "log_stream_name" => context.log_stream_name,
    "identity" => context.identity,
    "client_context" => context.client_context,
    "w3c" => context.w3c,
    "remaining_ms" => context.get_remaining_time_in_millis,
    "deadline_ms" => context.deadline_ms,
    "context_class" => context.class.name,
    "global_request_id" => $_global_aws_request_id,
  }
end
"""

COUNTER = """
$count = 0

def handler(event:, context:)
  $count += 1
  { "count" => $count, "stream" => context.log_stream_name }
end
"""

LOGS = """
require 'logger'

puts "init-line"
LOGGER = Logger.new($stdout)

def handler(event:, context:)
  puts "puts-line #{event['n']}"
  $stderr.puts "stderr-line #{event['n']}"
  print "print-line\\n"
  LOGGER.info("logger-line #{event['n']}")
  context.aws_request_id
end
"""

ERRORS = """
class OrderNotFound < StandardError; end

def raise_runtime_error(event:, context:)
  raise "boom #{event['n']}"
end

def raise_custom(event:, context:)
  raise OrderNotFound, "order 42 is gone"
end

def type_error(event:, context:)
  [1, 2, 3].first("two")
end

def crash_or_stream(event:, context:)
  return context.log_stream_name unless event["crash"]

  nil.no_such_method
end

def exit_cleanly(event:, context:)
  exit 3
end

def exit_hard(event:, context:)
  exit!(3)
end

def sleep_long(event:, context:)
  puts "sleeping #{context.aws_request_id}"
  sleep event["seconds"]
  context.log_stream_name
end
"""


# -- 1. hello ---------------------------------------------------------------------------------


def test_hello(client: Any, fn_name: str) -> None:
    deploy_rb(client, fn_name, HELLO)
    response, body, log = invoke(client, fn_name, {"name": "Ruby"})
    assert response["StatusCode"] == 200 and "FunctionError" not in response, body
    assert body["message"] == "Hello, Ruby!" and body["ruby"].startswith("3."), body
    rid = request_id(response)
    assert f"START RequestId: {rid} Version: $LATEST" in log
    assert f"REPORT RequestId: {rid}" in log and "Init Duration: " in log


def test_module_class_method_handler(client: Any, fn_name: str) -> None:
    deploy_rb(client, fn_name, HELLO, handler="app.Greeter::Polite.greet", runtime="ruby3.4")
    response, body, _ = invoke(client, fn_name, {"name": "Ada"})
    assert "FunctionError" not in response, body
    assert body == "Good day, Ada."


def test_handler_in_a_subdirectory_requiring_its_neighbours(client: Any, fn_name: str) -> None:
    files: dict[str, str | bytes] = {
        "lib/handlers/main.rb": "require_relative 'helper'\nrequire 'shared/util'\n\n"
                                "def handler(event:, context:)\n  [Helper.name, Util.name]\nend\n",
        "lib/handlers/helper.rb": "module Helper; def self.name = 'helper'; end\n",
        "shared/util.rb": "module Util; def self.name = 'util'; end\n",  # found through the task root
    }  # fmt: skip
    deploy_rb(client, fn_name, files, handler="lib/handlers/main.handler")
    response, body, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, body
    assert body == ["helper", "util"]


def test_what_net_http_loads_is_there_without_a_require(client: Any, fn_name: str) -> None:
    # AWS's runtime has loaded Net::HTTP before the function's code; Lamina's loads it when first named.
    code = ("def handler(event:, context:)\n"
            "  [Net::HTTP.name, URI.parse('http://example.invalid/a/b').path, Timeout::Error.name,\n"
            "   Zlib.crc32('lamina'), IPAddr.new('10.0.0.0/8').include?('10.1.2.3'), OpenSSL::Digest.name]\n"
            "end\n")  # fmt: skip
    deploy_rb(client, fn_name, code)
    response, body, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, body
    assert body == ["Net::HTTP", "/a/b", "Timeout::Error", zlib.crc32(b"lamina"), True, "OpenSSL::Digest"]


# -- 2. context and environment ---------------------------------------------------------------


def test_context_and_environment_variables(client: Any, fn_name: str) -> None:
    deploy_rb(client, fn_name, PROBE, MemorySize=256, Timeout=7, Environment={"Variables": {"GREETING": "hi"}})
    custom = {"custom": {"tenant": "t1"}, "env": {"platform": "lamina"}, "client": {"app_title": "probe"}}
    response, body, _ = invoke(client, fn_name, {}, ClientContext=base64.b64encode(json.dumps(custom).encode()).decode())
    assert "FunctionError" not in response, body
    rid = request_id(response)

    assert body["context_class"] == "LambdaContext"
    assert body["function_name"] == fn_name
    assert body["function_version"] == "$LATEST"
    assert body["invoked_function_arn"] == arn(fn_name)
    assert body["memory_limit_in_mb"] == "256"  # a String, as in AWS's Ruby runtime
    assert body["aws_request_id"] == rid == body["global_request_id"]
    assert body["log_group_name"] == f"/aws/lambda/{fn_name}"
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]+", body["log_stream_name"]), body["log_stream_name"]
    assert 0 < body["remaining_ms"] <= 7000
    assert body["deadline_ms"] > 1_600_000_000_000
    assert body["identity"] is None
    assert body["client_context"] == custom
    assert body["w3c"] == {}

    env = body["env"]
    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{RUNTIME}"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == fn_name
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["_HANDLER"] == "app.handler"
    assert env["LAMBDA_TASK_ROOT"] == body["cwd"]
    assert env["TZ"] == ":UTC"
    assert env["GREETING"] == "hi"
    assert env["RUBYLIB"].split(":") == [body["cwd"], "/opt/ruby/lib"]
    gem_path = env["GEM_PATH"].split(":")
    assert f"{body['cwd']}/vendor/bundle/ruby/3.3.0" in gem_path and "/opt/ruby/gems/3.3.0" in gem_path
    assert body["cwd"] in body["load_path"] and "/opt/ruby/lib" in body["load_path"]
    assert not [k for k in env if k.startswith("LAMINA_")]


def test_w3c_trace_context_is_taken_out_of_the_client_context(client: Any, fn_name: str) -> None:
    deploy_rb(client, fn_name, PROBE)
    custom = {"custom": {"a": "1"}, "w3c": {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                                            "baggage": 7, "other": "x"}}  # fmt: skip
    response, body, _ = invoke(client, fn_name, {}, ClientContext=base64.b64encode(json.dumps(custom).encode()).decode())
    assert "FunctionError" not in response, body
    assert body["client_context"] == {"custom": {"a": "1"}}
    assert body["w3c"] == {"traceparent": custom["w3c"]["traceparent"]}  # type: ignore[index]


# -- 3. warm reuse ----------------------------------------------------------------------------


def test_warm_environment_keeps_state(client: Any, fn_name: str) -> None:
    deploy_rb(client, fn_name, COUNTER)
    results, logs = invoke_in_a_row(client, fn_name, 3)
    assert [r["count"] for r in results] == [1, 2, 3]
    assert len({r["stream"] for r in results}) == 1
    assert "Init Duration: " in logs[0]
    assert "Init Duration: " not in logs[1] and "Init Duration: " not in logs[2]


# -- 4. logs ----------------------------------------------------------------------------------


def test_output_goes_to_the_log(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy_rb(client, fn_name, LOGS)
    rids = []
    for n in range(2):
        response, body, log = invoke(client, fn_name, {"n": n})
        assert "FunctionError" not in response, body
        rid = request_id(response)
        lines = log.splitlines()
        start = lines.index(f"START RequestId: {rid} Version: $LATEST")
        end = lines.index(f"END RequestId: {rid}")
        for expected in (f"puts-line {n}", f"stderr-line {n}", "print-line"):
            assert start < lines.index(expected) < end, log
        # Logger lines carry the request id, in the format of AWS's Ruby runtime.
        logger = [line for line in lines if line.endswith(f"logger-line {n}")]
        assert len(logger) == 1, log
        assert re.fullmatch(rf"I, \[\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{6}} #\d+\]  INFO {rid} -- : logger-line {n}",
                            logger[0]), logger[0]  # fmt: skip
        assert "init-line" not in lines, log
        rids.append(rid)

    # What the function printed while loading is in its log once, before the first invocation.
    messages = wait_for_logs(lamina.endpoint, fn_name, lambda m: sum(x.startswith("REPORT ") for x in m) >= 2)
    assert messages.count("init-line") == 1, messages
    assert messages.index("init-line") < messages.index(f"START RequestId: {rids[0]} Version: $LATEST")


JSON_LOGS = """
require 'logger'

LOGGER = Logger.new($stdout)
LOGGER.warn('at init')
CHATTY = Logger.new($stderr, level: :debug, progname: 'chatty')  # a level of its own: written, then filtered

def handler(event:, context:)
  puts 'puts-line'
  LOGGER.info('dropped')
  LOGGER.warn('careful')
  LOGGER.error(ArgumentError.new('bad argument'))
  CHATTY.debug({ 'k' => 1 })
  begin
    raise KeyError, 'no key'
  rescue KeyError => e
    LOGGER.fatal(e)
  end
  context.aws_request_id
end
"""


def test_logging_config_json_logger_records(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    """With LoggingConfig JSON, loggers on $stdout/$stderr write the JSON records of AWS's Ruby
    runtime interface client, at ApplicationLogLevel unless given a level; puts is left as it is. Then
    Lambda leaves out every line below ApplicationLogLevel: puts's (INFO) and the DEBUG record."""
    deploy_rb(client, fn_name, JSON_LOGS, LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "WARN"})
    response, body, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, body
    rid = request_id(response)
    messages = wait_for_logs(lamina.endpoint, fn_name, lambda m: any('"type":"platform.report"' in x for x in m))
    assert "puts-line" not in messages
    assert not [m for m in messages if '"chatty"' in m]
    records = [json.loads(m) for m in messages if m.startswith('{"timestamp"')]
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"
    assert all(re.fullmatch(stamp, r.pop("timestamp")) for r in records), records
    init, warn, error, fatal = records
    assert init == {"level": "WARN", "message": "at init"}  # no request id yet: left out
    assert warn == {"level": "WARN", "message": "careful", "requestId": rid}
    assert error == {"level": "ERROR", "message": "bad argument", "requestId": rid, "errorType": "ArgumentError",
                     "errorMessage": "bad argument", "stackTrace": []}  # fmt: skip  (never raised: no backtrace)
    assert (fatal["level"], fatal["message"], fatal["errorType"], fatal["errorMessage"]) == (
        "FATAL", "no key", "KeyError", "no key")  # fmt: skip
    assert fatal["stackTrace"][0].startswith("/var/task/app.rb:15:in ")
    assert fatal["location"] == "/var/task/app.rb:handler:15"
    kinds = [json.loads(m)["type"] for m in messages if m.startswith('{"time"')]
    assert kinds == ["platform.initStart", "platform.initRuntimeDone", "platform.initReport", "platform.start",
                     "platform.runtimeDone", "platform.report"], kinds  # fmt: skip


HOSTILE_LOGS = """
require 'logger'

def handler(event:, context:)
  logger = Logger.new($stdout, progname: "bad\\xff name".b)
  logger.info("invalid \\xc3\\x28 utf-8".b)
  logger.info(nil)
  logger.info("quote \\" newline \\n tab \\t")
  logger.info('x' * 200_000)
  error = StandardError.new("bad \\xff message".b)
  error.set_backtrace(["not a frame at all"])
  logger.error(error)
  'done'
end
"""


def test_json_logger_records_survive_hostile_messages(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    """Invalid UTF-8 (in the message, the progname and an exception), no message, quotes and newlines, a
    200 KB message, a backtrace that is no frame: each is one valid JSON record."""
    deploy_rb(client, fn_name, HOSTILE_LOGS, LoggingConfig={"LogFormat": "JSON"})
    response, body, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response and body == "done", body
    messages = wait_for_logs(lamina.endpoint, fn_name, lambda m: any('"type":"platform.report"' in x for x in m))
    records = [json.loads(m) for m in messages if m.startswith('{"timestamp"')]
    assert [r["message"] for r in records] == [
        "invalid \ufffd( utf-8", "bad\ufffd name", "quote \" newline \n tab \t", "x" * 200_000, "bad \ufffd message",
    ], [r["message"][:40] for r in records]  # fmt: skip  (Logger's info(nil) logs its progname)
    assert {r["logger"] for r in records} == {"bad\ufffd name"}
    assert records[-1]["stackTrace"] == ["not a frame at all"] and records[-1]["location"] == "not a frame at all"


# -- 5. errors raised by the handler ----------------------------------------------------------


def test_raised_error_shape(client: Any, fn_name: str) -> None:
    deploy_rb(client, fn_name, ERRORS, handler="app.raise_runtime_error")
    response, body, log = invoke(client, fn_name, {"n": 1})
    assert_ruby_error(response, body, "Function<RuntimeError>")
    assert body["errorMessage"] == "boom 1"
    assert re.fullmatch(r".*/app\.rb:5:in [`']raise_runtime_error'", body["stackTrace"][0]), body["stackTrace"]
    assert len(body["stackTrace"]) == 1, body["stackTrace"]
    assert "Error raised from handler method" in log
    assert '"errorType": "Function<RuntimeError>"' in log
    assert f"REPORT RequestId: {request_id(response)}" in log

    # A StandardError leaves the environment in service.
    response, body2, log = invoke(client, fn_name, {"n": 2})
    assert body2["errorMessage"] == "boom 2"
    assert "Init Duration" not in log


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        ("app.raise_custom", "Function<OrderNotFound>", "order 42 is gone"),
        ("app.type_error", "Function<TypeError>", "no implicit conversion of String into Integer"),
    ],
    ids=["custom-class", "type-error"],
)  # fmt: skip
def test_error_types_name_the_exception_class(client: Any, fn_name: str, handler: str, error_type: str, message: str) -> None:
    deploy_rb(client, fn_name, ERRORS, handler=handler)
    response, body, _ = invoke(client, fn_name, {})
    assert_ruby_error(response, body, error_type)
    assert body["errorMessage"] == message
    assert any("app.rb" in frame for frame in body["stackTrace"]), body


def test_critical_exception_ends_the_environment(client: Any, fn_name: str) -> None:
    deploy_rb(client, fn_name, ERRORS, handler="app.crash_or_stream")
    _, stream, _ = invoke(client, fn_name, {})
    response, body, log = invoke(client, fn_name, {"crash": True})
    assert_ruby_error(response, body, "Function<NoMethodError>")
    assert "undefined method" in body["errorMessage"] and "no_such_method" in body["errorMessage"], body
    assert "Critical exception from handler" in log
    # As with AWS's runtime, the process exits once it has reported it (Lamina then starts a new
    # environment for the next event, as after any exit).
    assert wait_gone(stream), f"environment {stream} still running after a critical exception"


# -- 6. init errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        ({"app.rb": "require 'not_a_gem_anywhere'\n\ndef handler(event:, context:) = 1\n"}, "app.handler",
         "Init<LoadError>", "cannot load such file -- not_a_gem_anywhere"),
        ({"app.rb": "def handler(event:, context:) = 1\n"}, "missing_file.handler",
         "Init<LoadError>", "cannot load such file -- missing_file"),
        ({"app.rb": "def handler(event:, context:)\n  if true\n    1\nend\n"}, "app.handler",
         "Init<SyntaxError>", "app.rb:"),
        ({"app.rb": "raise ArgumentError, 'bad config'\n"}, "app.handler", "Init<ArgumentError>", "bad config"),
        ({"app.rb": "def handler(event:, context:) = 1\n"}, "app", "Init<ArgumentError>", "Invalid handler"),
    ],
    ids=["load-error", "missing-file", "syntax-error", "raised-at-load", "malformed-handler"],
)  # fmt: skip
def test_init_errors(client: Any, fn_name: str, files: dict[str, str | bytes], handler: str, error_type: str,
                     message: str) -> None:  # fmt: skip
    deploy_rb(client, fn_name, files, handler=handler)
    for _ in range(2):  # every invocation tries to initialise again, and fails the same way
        response, body, log = invoke(client, fn_name, {})
        assert_ruby_error(response, body, error_type)
        assert message in body["errorMessage"], body
        assert f"Init error when loading handler {handler}" in log
        assert f'"errorType": "{error_type}"' in log
        assert f"REPORT RequestId: {request_id(response)}" in log


def test_missing_handler_method(client: Any, fn_name: str) -> None:
    deploy_rb(client, fn_name, "def other(event:, context:) = 1\n")
    response, body, _ = invoke(client, fn_name, {})
    # AWS's runtime looks the method up when it calls it: a NoMethodError of the invocation.
    assert_ruby_error(response, body, "Function<NoMethodError>")
    assert re.search(r"undefined method [`']handler'", body["errorMessage"]), body

    deploy_rb(client, f"{fn_name}-class", "module Shop; end\n", handler="app.Shop::Orders.handler")
    response, body, _ = invoke(client, f"{fn_name}-class", {})
    assert_ruby_error(response, body, "Function<NameError>")
    assert "Shop::Orders" in body["errorMessage"], body


# -- 7. timeout and exit ----------------------------------------------------------------------


def test_timeout(client: Any, fn_name: str) -> None:
    deploy_rb(client, fn_name, ERRORS, handler="app.sleep_long", Timeout=1)
    _, stream1, _ = invoke(client, fn_name, {"seconds": 0})
    response, body, log = invoke(client, fn_name, {"seconds": 5})
    assert response.get("FunctionError") == "Unhandled", body
    assert body["errorType"] == "Sandbox.Timedout", body
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    assert f"sleeping {request_id(response)}" in log
    response, stream2, log = invoke(client, fn_name, {"seconds": 0})
    assert "FunctionError" not in response, stream2
    assert stream2 != stream1 and "Init Duration: " in log  # a new environment


def test_exit_bang_is_a_runtime_exit_error(client: Any, fn_name: str) -> None:
    deploy_rb(client, fn_name, ERRORS, handler="app.exit_hard")
    response, body, log = invoke(client, fn_name, {})
    assert_platform_error(response, body, "Runtime.ExitError")
    assert "Runtime exited with error: exit status 3" in body["errorMessage"]


def test_exit_is_a_system_exit_error(client: Any, fn_name: str) -> None:
    # Kernel#exit raises SystemExit, which AWS's runtime reports, then exits the process.
    deploy_rb(client, fn_name, ERRORS, handler="app.exit_cleanly")
    response, body, _ = invoke(client, fn_name, {})
    assert_ruby_error(response, body, "Function<SystemExit>")
    assert body["errorMessage"] == "exit"


# -- 8. gems and layers -----------------------------------------------------------------------

GEMSPEC = """Gem::Specification.new do |s|
  s.name = "{name}"
  s.version = "1.0.0"
  s.summary = "A gem for Lamina's tests"
  s.authors = ["Lamina"]
  s.files = ["lib/{name}.rb"]
  s.require_paths = ["lib"]
end
"""


def gem_files(prefix: str, name: str, body: str) -> dict[str, str | bytes]:
    return {
        f"{prefix}/specifications/{name}-1.0.0.gemspec": GEMSPEC.format(name=name),
        f"{prefix}/gems/{name}-1.0.0/lib/{name}.rb": body,
    }


def test_vendored_gems_and_layers(client: Any, fn_name: str) -> None:
    layer = client.publish_layer_version(
        LayerName=f"rb-{fn_name}"[:60],
        Content={"ZipFile": make_zip({
            **gem_files("ruby/gems/3.3.0", "layer_gem", "module LayerGem; VALUE = 'from a layer gem'; end\n"),
            "ruby/lib/layer_lib.rb": "module LayerLib; VALUE = 'from a layer lib'; end\n",
        })},
    )  # fmt: skip
    code = """
require 'vendored_gem'
require 'layer_gem'
require 'layer_lib'

def handler(event:, context:)
  [VendoredGem::VALUE, LayerGem::VALUE, LayerLib::VALUE, (Gem.loaded_specs.keys & %w[layer_gem vendored_gem]).sort,
   Gem::Version.new("3.10") > Gem::Version.new("3.9")]
end
"""
    files = {"app.rb": code, **gem_files("vendor/bundle/ruby/3.3.0", "vendored_gem", "module VendoredGem; VALUE = 'vendored'; end\n")}
    deploy_rb(client, fn_name, files, Layers=[layer["LayerVersionArn"]])
    response, body, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, body
    assert body == ["vendored", "from a layer gem", "from a layer lib", ["layer_gem", "vendored_gem"], True]


# -- 9. interpreters --------------------------------------------------------------------------


def test_each_ruby_name_runs_on_a_host_ruby(client: Any, fn_name: str) -> None:
    rubies = host_rubies()
    for runtime in ("ruby3.2", "ruby3.3", "ruby3.4"):
        name = f"{fn_name}-{runtime.replace('.', '-')}"
        deploy_rb(client, name, HELLO, runtime=runtime)
        response, body, _ = invoke(client, name, {"name": runtime})
        assert "FunctionError" not in response, body
        # Ruby 3.X itself if the host has it, else the host's newest Ruby 3.
        chosen = choose(runtime, rubies)
        assert chosen is not None
        assert body["ruby"].startswith("{}.{}.".format(*chosen.version)), (runtime, body, rubies)
        exact = [r for r in rubies if r.version == (3, int(runtime[-1]))]
        assert not exact or chosen in exact
        assert all(r.version <= chosen.version for r in rubies if r.version[0] == 3) or exact


def test_choosing_an_interpreter() -> None:
    def ruby(minor: int, major: int = 3) -> HostRuby:
        return HostRuby(f"/rubies/{major}.{minor}/bin/ruby", (major, minor), f"{major}.{minor}.0", Path(f"/rubies/{major}.{minor}"))

    debian = [ruby(1)]
    assert [choose(name, debian) for name in ("ruby3.2", "ruby3.3", "ruby3.4")] == [ruby(1)] * 3
    several = [ruby(1), ruby(3), ruby(2), ruby(0, major=4)]
    assert choose("ruby3.3", several) == ruby(3)  # the exact version
    assert choose("ruby3.2", several) == ruby(2)
    assert choose("ruby3.4", several) == ruby(3)  # else the newest Ruby 3, never Ruby 4
    assert choose("ruby3.3", [ruby(0, major=4)]) is None
    assert choose("python3.12", several) is None


def test_interpreter_override(make_server: Callable[..., LaminaProcess], fn_name: str) -> None:
    server = make_server(LAMINA_RUBY3_3=RUBY, LAMINA_RUBY3_2="/nonexistent/ruby")
    client = server.client()
    deploy_rb(client, fn_name, HELLO)
    response, body, _ = invoke(client, fn_name, {"name": "override"})
    assert "FunctionError" not in response, body
    assert body["ruby"] == HOST_RUBY
    with pytest.raises(ClientError) as exc:
        deploy_rb(client, f"{fn_name}-missing", HELLO, runtime="ruby3.2")
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "LAMINA_RUBY3_2" in exc.value.response["Error"]["Message"]


SDK_CALLER = """
require 'aws-sdk-core'

def handler(event:, context:)
  sts = Aws::STS::Client.new
  { 'arn' => sts.get_caller_identity.arn, 'endpoint' => sts.config.endpoint.to_s, 'sdk' => Aws::CORE_GEM_VERSION }
end
"""


def test_the_aws_sdk_core_ruby_runtimes_carry_calls_lamina(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    """AWS's Ruby runtimes carry aws-sdk-core: here Debian's (scripts/install/ruby.sh), pointed at
    Lamina's API with the function's role's credentials, though it is older than AWS_ENDPOINT_URL."""
    deploy_rb(client, fn_name, SDK_CALLER, Timeout=30)
    response, body, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, body
    assert body["arn"].startswith("arn:aws:sts::000000000000:assumed-role/") and body["arn"].endswith(f"/{fn_name}")
    assert body["endpoint"].startswith("http://") and "amazonaws.com" not in body["endpoint"]
