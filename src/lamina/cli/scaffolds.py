"""What ``lamina init`` writes for each runtime: a handler, a test of it, and how to build them (pure data).

Every handler answers the same way, so one set of next steps fits all: it reads ``name`` from the
event (default ``world``) and returns ``{"message": "Hello, NAME!", "records": N}`` (``N``: how many
records the event carried, 0 for a direct invoke); behind an HTTP trigger the same JSON is the
body of a 200 response. The tests call the handler directly, with no server and no dependency
beyond the language's own tools.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scaffold:
    handler: str
    files: dict[str, str]  # path in the project -> text ("{http}": whether the trigger is HTTP)
    code: str  # the folder (or archive) the template's Code names: what is deployed
    build: tuple[str, ...] = ()  # commands that make ``code`` from the sources, run in the project
    test: str = ""  # the command that runs the test, in the project
    executable: tuple[str, ...] = ()


PYTHON_HANDLER = '''\
"""The function: Lambda calls handler(event, context) for each event."""

import json

HTTP = {http}


def handler(event, context):
    event = event if isinstance(event, dict) else {{}}
    records = event.get("Records") or event.get("messages") or []
    name = event.get("name", "world")
    print(f"Handling an event with {{len(records)}} records")
    result = {{"message": f"Hello, {{name}}!", "records": len(records)}}
    if HTTP:
        return {{"statusCode": 200, "headers": {{"content-type": "application/json"}}, "body": json.dumps(result)}}
    return result
'''

PYTHON_TEST = '''\
"""Run with: python3 -m unittest discover -s tests"""

import json
import pathlib
import sys
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "src"))

import app  # noqa: E402


class HandlerTest(unittest.TestCase):
    def test_greets_the_name_in_the_event(self):
        result = app.handler({{"name": "Ada"}}, None)
        if app.HTTP:
            self.assertEqual(result["statusCode"], 200)
            result = json.loads(result["body"])
        self.assertEqual(result["message"], "Hello, Ada!")

    def test_counts_the_sample_events_records(self):
        event = json.loads((pathlib.Path(__file__).resolve().parent.parent / "events" / "event.json").read_text())
        result = app.handler(event, None)
        if app.HTTP:
            result = json.loads(result["body"])
        self.assertEqual(result["records"], len(event.get("Records") or event.get("messages") or []))


if __name__ == "__main__":
    unittest.main()
'''

NODE_HANDLER = '''\
// The function: Lambda calls handler(event, context) for each event.
export const HTTP = {http};

export const handler = async (event) => {{
  const records = event?.Records ?? event?.messages ?? [];
  const name = event?.name ?? 'world';
  console.log(`Handling an event with ${{records.length}} records`);
  const result = {{ message: `Hello, ${{name}}!`, records: records.length }};
  if (HTTP) {{
    return {{ statusCode: 200, headers: {{ 'content-type': 'application/json' }}, body: JSON.stringify(result) }};
  }}
  return result;
}};
'''

NODE_TEST = '''\
// Run with: node --test tests/
import {{ test }} from 'node:test';
import assert from 'node:assert/strict';
import {{ readFileSync }} from 'node:fs';
import {{ handler, HTTP }} from '../src/index.mjs';

const body = (result) => (HTTP ? JSON.parse(result.body) : result);

test('greets the name in the event', async () => {{
  assert.equal(body(await handler({{ name: 'Ada' }})).message, 'Hello, Ada!');
}});

test("counts the sample event's records", async () => {{
  const event = JSON.parse(readFileSync(new URL('../events/event.json', import.meta.url)));
  const records = event.Records ?? event.messages ?? [];
  assert.equal(body(await handler(event)).records, records.length);
}});
'''

RUBY_HANDLER = '''\
# The function: Lambda calls lambda_handler(event:, context:) for each event.
require 'json'

HTTP = {http}

def lambda_handler(event:, context:)
  event = {{}} unless event.is_a?(Hash)
  records = event['Records'] || event['messages'] || []
  name = event['name'] || 'world'
  puts "Handling an event with #{{records.length}} records"
  result = {{ 'message' => "Hello, #{{name}}!", 'records' => records.length }}
  return {{ 'statusCode' => 200, 'headers' => {{ 'content-type' => 'application/json' }}, 'body' => JSON.generate(result) }} if HTTP

  result
end
'''

RUBY_TEST = '''\
# Run with: ruby tests/test_lambda_function.rb
require 'json'
require 'minitest/autorun'
require_relative '../src/lambda_function'

class HandlerTest < Minitest::Test
  def body(result)
    HTTP ? JSON.parse(result['body']) : result
  end

  def test_greets_the_name_in_the_event
    assert_equal 'Hello, Ada!', body(lambda_handler(event: {{ 'name' => 'Ada' }}, context: nil))['message']
  end

  def test_counts_the_sample_events_records
    event = JSON.parse(File.read(File.join(__dir__, '..', 'events', 'event.json')))
    records = event['Records'] || event['messages'] || []
    assert_equal records.length, body(lambda_handler(event: event, context: nil))['records']
  end
end
'''

JAVA_HANDLER = '''\
package example;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

// Handler value: example.Handler::handleRequest. The runtime turns the JSON event into a Map and the
// Map returned into JSON; a Context parameter may follow the event when the function needs it.
public class Handler {{
    static final boolean HTTP = {http};

    public Map<String, Object> handleRequest(Map<String, Object> event) {{
        Object found = event == null ? null : event.getOrDefault("Records", event.get("messages"));
        int records = found instanceof List ? ((List<?>) found).size() : 0;
        Object name = event == null ? null : event.get("name");
        System.out.println("Handling an event with " + records + " records");
        String message = "Hello, " + (name == null ? "world" : name) + "!";
        Map<String, Object> result = new LinkedHashMap<>();
        if (HTTP) {{
            result.put("statusCode", 200);
            result.put("headers", Map.of("content-type", "application/json"));
            result.put("body", "{{\\"message\\": \\"" + message + "\\", \\"records\\": " + records + "}}");
            return result;
        }}
        result.put("message", message);
        result.put("records", records);
        return result;
    }}
}}
'''

JAVA_TEST = '''\
// Run with: java -cp build tests/HandlerTest.java (after building: see the template's README lines)
import example.Handler;
import java.util.Map;

public class HandlerTest {{
    public static void main(String[] args) {{
        Map<String, Object> result = new Handler().handleRequest(Map.of("name", "Ada"));
        String text = result.toString();
        if (!text.contains("Hello, Ada!")) {{
            throw new AssertionError("expected a greeting for Ada, got " + text);
        }}
        System.out.println("ok: " + text);
    }}
}}
'''

DOTNET_HANDLER = '''\
// The function: Lambda calls FunctionHandler with the event's JSON as a Stream and sends back the
// Stream it returns. (With Amazon.Lambda.Core and a LambdaSerializer the handler may take and return
// typed objects and an ILambdaContext instead.)
using System;
using System.IO;
using System.Text;
using System.Text.RegularExpressions;

namespace Hello
{{
    public class Function
    {{
        public static readonly bool Http = {http};

        public Stream FunctionHandler(Stream input)
        {{
            string json = new StreamReader(input).ReadToEnd();
            Match name = Regex.Match(json, "\\"name\\"\\\\s*:\\\\s*\\"([^\\"]*)\\"");
            string message = "Hello, " + (name.Success ? name.Groups[1].Value : "world") + "!";
            Console.WriteLine("Handling an event of " + json.Length + " bytes");
            string result = "{{\\"message\\": \\"" + message + "\\"}}";
            if (Http)
            {{
                result = "{{\\"statusCode\\": 200, \\"headers\\": {{\\"content-type\\": \\"application/json\\"}}, \\"body\\": "
                    + "\\"" + result.Replace("\\"", "\\\\\\"") + "\\"}}";
            }}
            return new MemoryStream(Encoding.UTF8.GetBytes(result));
        }}
    }}
}}
'''

DOTNET_TEST = '''\
// Run with: mcs -out:build/test.exe -r:build/Hello.dll tests/FunctionTest.cs && mono build/test.exe
using System;
using System.IO;
using System.Text;

public static class FunctionTest
{{
    public static int Main()
    {{
        var input = new MemoryStream(Encoding.UTF8.GetBytes("{{\\"name\\": \\"Ada\\"}}"));
        string output = new StreamReader(new Hello.Function().FunctionHandler(input)).ReadToEnd();
        if (!output.Contains("Hello, Ada!"))
        {{
            Console.Error.WriteLine("expected a greeting for Ada, got " + output);
            return 1;
        }}
        Console.WriteLine("ok: " + output);
        return 0;
    }}
}}
'''

SHELL_BOOTSTRAP = '''\
#!/bin/bash
# A custom runtime in bash (AWS's custom-runtime tutorial): load the handler's file, then loop on the
# Runtime API, handing each event to the handler function and posting what it prints.
# _HANDLER is FILE.FUNCTION: FILE.sh defines the shell function FUNCTION. Needs curl.
set -euo pipefail
source "$LAMBDA_TASK_ROOT/${{_HANDLER%%.*}}.sh"
API="http://${{AWS_LAMBDA_RUNTIME_API}}/2018-06-01/runtime"
while true; do
    HEADERS=$(mktemp)
    EVENT_DATA=$(curl -sS -LD "$HEADERS" "$API/invocation/next")
    REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
    rm -f "$HEADERS"
    if RESPONSE=$("${{_HANDLER#*.}}" "$EVENT_DATA"); then
        curl -sS -o /dev/null "$API/invocation/$REQUEST_ID/response" -d "$RESPONSE"
    else
        curl -sS -o /dev/null "$API/invocation/$REQUEST_ID/error" \\
            -d '{{"errorMessage": "the handler failed", "errorType": "HandlerError"}}'
    fi
done
'''

SHELL_HANDLER = '''\
# The function: the bootstrap calls handler with the event (JSON) as its argument; what it prints
# on stdout is the response, what it prints on stderr goes to the log.
HTTP={http_shell}

handler() {{
    local name
    name=$(printf '%s' "$1" | sed -n 's/.*"name"[[:space:]]*:[[:space:]]*"\\([^"]*\\)".*/\\1/p')
    echo "Handling an event of ${{#1}} bytes" 1>&2
    local result="{{\\"message\\": \\"Hello, ${{name:-world}}!\\"}}"
    if [ "$HTTP" = 1 ]; then
        result="{{\\"statusCode\\": 200, \\"body\\": \\"${{result//\\"/\\\\\\"}}\\"}}"
    fi
    printf '%s' "$result"
}}
'''

SHELL_TEST = '''\
#!/bin/bash
# Run with: bash tests/test_function.sh
set -euo pipefail
source "$(dirname "$0")/../src/function.sh"
output=$(handler '{{"name": "Ada"}}' 2>/dev/null)
case $output in
*"Hello, Ada!"*) echo "ok: $output" ;;
*) echo "expected a greeting for Ada, got $output" >&2; exit 1 ;;
esac
'''

SCAFFOLDS: dict[str, Scaffold] = {
    "python": Scaffold("app.handler", {"src/app.py": PYTHON_HANDLER, "tests/test_app.py": PYTHON_TEST}, "src",
                       test="python3 -m unittest discover -s tests"),
    "nodejs": Scaffold("index.handler", {"src/index.mjs": NODE_HANDLER, "tests/index.test.mjs": NODE_TEST}, "src",
                       test="node --test tests/"),
    "ruby": Scaffold("lambda_function.lambda_handler",
                     {"src/lambda_function.rb": RUBY_HANDLER, "tests/test_lambda_function.rb": RUBY_TEST}, "src",
                     test="ruby tests/test_lambda_function.rb"),
    "java": Scaffold("example.Handler::handleRequest",
                     {"src/main/java/example/Handler.java": JAVA_HANDLER, "tests/HandlerTest.java": JAVA_TEST},
                     "build", build=("javac --release 17 -d build src/main/java/example/Handler.java",),
                     test="java -cp build tests/HandlerTest.java"),
    "dotnet": Scaffold("Hello::Hello.Function::FunctionHandler",
                       {"src/Function.cs": DOTNET_HANDLER, "tests/FunctionTest.cs": DOTNET_TEST}, "build",
                       build=("mkdir -p build", "mcs -target:library -debug -out:build/Hello.dll src/Function.cs"),
                       test="mcs -out:test.exe -r:build/Hello.dll tests/FunctionTest.cs && MONO_PATH=build mono test.exe"),
    "provided": Scaffold("function.handler",
                         {"src/bootstrap": SHELL_BOOTSTRAP, "src/function.sh": SHELL_HANDLER,
                          "tests/test_function.sh": SHELL_TEST}, "src",
                         test="bash tests/test_function.sh", executable=("src/bootstrap",)),
}  # fmt: skip


def family(runtime: str) -> str:
    """``python3.12`` -> ``python``; ``provided.al2023`` -> ``provided``."""
    for name in SCAFFOLDS:
        if runtime.startswith(name):
            return name
    raise KeyError(runtime)
