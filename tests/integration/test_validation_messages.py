"""Lambda's validation and not-found answers, word for word, through an unchanged boto3 client."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from lamina.control.functions import EMPTY_ZIP, NO_SOURCE
from lamina.control.validation import FUNCTION_NAME, FUNCTION_NAME_PATTERN, NAMESPACED, S3_BUCKET_PATTERN
from lamina.control.validation import UNQUALIFIED, URL
from lamina.runtime.names import MODEL_RUNTIMES
from tests.conftest import ROLE, LaminaProcess, lambda_client, make_zip

ARN = "arn:aws:lambda:us-east-1:000000000000:function:{}"
ZIP = make_zip({"app.py": "def handler(event, context):\n    return 1\n"})
ENUM = f"Member must satisfy enum value set: [{', '.join(MODEL_RUNTIMES)}]"


def create(client: Any, name: str, runtime: str = "python3.12", **extra: Any) -> Any:
    return client.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler="app.handler",
                                  Code={"ZipFile": ZIP}, **extra)  # fmt: skip


def error_of(call: Callable[[], Any]) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


LONG = "n" * 65
CREATES: list[tuple[str, dict[str, Any], tuple[str, str]]] = [
    ("bad name", {}, ("ValidationException", "1 validation error detected: Value 'bad name' at 'functionName' failed "
                      f"to satisfy constraint: Member must satisfy regular expression pattern: {FUNCTION_NAME_PATTERN}")),
    (LONG, {}, ("ValidationException", f"1 validation error detected: Value '{LONG}' at 'functionName' failed to "
                "satisfy constraint: Member must have length less than or equal to 64")),
    ("bad name", {"runtime": "cobol"}, ("ValidationException", "2 validation errors detected: Value 'bad name' at "
     f"'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: "
     f"{FUNCTION_NAME_PATTERN}; Value 'cobol' at 'runtime' failed to satisfy constraint: {ENUM}")),
    ("{name}", {"runtime": "cobol"}, ("ValidationException", "1 validation error detected: Value 'cobol' at "
                                     f"'runtime' failed to satisfy constraint: {ENUM}")),
    ("{name}", {"runtime": "python2.7"}, ("InvalidParameterValueException", "The runtime parameter of python2.7 is no "
     "longer supported for creating or updating AWS Lambda functions. We recommend you use the new runtime "
     "(python3.14) while creating or updating functions.")),
    ("{name}", {"runtime": "nodejs14.x"}, ("InvalidParameterValueException", "The runtime parameter of nodejs14.x is "
     "no longer supported for creating or updating AWS Lambda functions. We recommend you use the new runtime "
     "(nodejs24.x) while creating or updating functions.")),
]  # fmt: skip


@pytest.mark.parametrize(("name", "options", "expected"), CREATES,
                         ids=["bad-name", "long-name", "two-errors", "unknown-runtime", "python2.7", "nodejs14.x"])
def test_create_function_refusals(client: Any, fn_name: str, name: str, options: dict[str, Any],
                                  expected: tuple[str, str]) -> None:  # fmt: skip
    name = name.format(name=fn_name)
    code, status, message = error_of(lambda: create(client, name, **options))
    assert (code, message) == expected and status == 400


def test_an_update_to_a_deprecated_runtime_is_refused(client: Any, fn_name: str) -> None:
    create(client, fn_name)
    client.get_waiter("function_active_v2").wait(FunctionName=fn_name, WaiterConfig={"Delay": 1})
    assert error_of(lambda: client.update_function_configuration(FunctionName=fn_name, Runtime="python3.7")) == (
        "InvalidParameterValueException", 400, "The runtime parameter of python3.7 is no longer supported for "
        "creating or updating AWS Lambda functions. We recommend you use the new runtime (python3.14) while creating "
        "or updating functions.")  # fmt: skip


NOT_FOUND: list[tuple[str, Callable[[Any, str], Any], str]] = [
    ("GetFunction", lambda c, n: c.get_function(FunctionName=n), ""),
    ("GetFunctionConfiguration", lambda c, n: c.get_function_configuration(FunctionName=n), ""),
    ("Invoke", lambda c, n: c.invoke(FunctionName=n, Payload=b"{}"), ""),
    ("DeleteFunction", lambda c, n: c.delete_function(FunctionName=n), ""),
    ("UpdateFunctionCode", lambda c, n: c.update_function_code(FunctionName=n, ZipFile=ZIP), ""),
    ("UpdateFunctionConfiguration", lambda c, n: c.update_function_configuration(FunctionName=n, Timeout=5), ""),
    ("PublishVersion", lambda c, n: c.publish_version(FunctionName=n), ""),
    ("GetFunction-version", lambda c, n: c.get_function(FunctionName=n, Qualifier="3"), ":3"),
    ("Invoke-version", lambda c, n: c.invoke(FunctionName=n, Qualifier="3", Payload=b"{}"), ":3"),
]  # fmt: skip


@pytest.mark.parametrize(("operation", "call", "suffix"), NOT_FOUND, ids=[case[0] for case in NOT_FOUND])
def test_not_found_names_the_arn(client: Any, fn_name: str, operation: str, call: Callable[[Any, str], Any],
                                 suffix: str) -> None:  # fmt: skip
    assert error_of(lambda: call(client, fn_name)) == (
        "ResourceNotFoundException", 404, f"Function not found: {ARN.format(fn_name)}{suffix}")


OTHER_REGION: list[tuple[str, Callable[[Any, str], Any]]] = [
    ("GetFunction", lambda c, arn: c.get_function(FunctionName=arn)),
    ("Invoke", lambda c, arn: c.invoke(FunctionName=arn, Payload=b"{}")),
    ("GetPolicy", lambda c, arn: c.get_policy(FunctionName=arn)),
]  # fmt: skip


@pytest.mark.parametrize(("operation", "call"), OTHER_REGION, ids=[case[0] for case in OTHER_REGION])
def test_an_arn_of_another_region_is_not_reachable(client: Any, fn_name: str, operation: str,
                                                   call: Callable[[Any, str], Any]) -> None:  # fmt: skip
    create(client, fn_name)  # it exists in us-east-1; us-west-2's ARN still does not reach it
    other = f"arn:aws:lambda:us-west-2:000000000000:function:{fn_name}"
    assert error_of(lambda: call(client, other)) == (
        "ResourceNotFoundException", 404, "Functions from 'us-west-2' are not reachable in this region ('us-east-1')")
    assert client.get_function(FunctionName=ARN.format(fn_name))["Configuration"]["FunctionName"] == fn_name


def test_an_update_names_every_violation_before_looking_the_function_up(client: Any, fn_name: str) -> None:
    create(client, fn_name)
    client.get_waiter("function_active_v2").wait(FunctionName=fn_name, WaiterConfig={"Delay": 1})
    for name in (fn_name, fn_name + "-missing"):  # the model's checks come first, found or not
        assert error_of(lambda: client.update_function_configuration(FunctionName=name, Runtime="cobol", Timeout=901,
                                                                     Description="d" * 257)) == (  # fmt: skip
            "ValidationException", 400, "3 validation errors detected: "
            f"Value '{'d' * 257}' at 'description' failed to satisfy constraint: Member must have length less than "
            "or equal to 256; Value '901' at 'timeout' failed to satisfy constraint: Member must have value less "
            f"than or equal to 900; Value 'cobol' at 'runtime' failed to satisfy constraint: {ENUM}")  # fmt: skip


@pytest.fixture
def raw(lamina: LaminaProcess) -> Any:
    """A client that sends what it is given: the server's validation is what answers."""
    return lambda_client(lamina.endpoint, parameter_validation=False)


def violation(value: str, field: str, rule: str) -> str:
    return f"Value '{value}' at '{field}' failed to satisfy constraint: {rule}"


def pattern(shape_pattern: str) -> str:
    return f"Member must satisfy regular expression pattern: {shape_pattern}"


def one(value: str, field: str, rule: str) -> tuple[str, int, str]:
    return ("ValidationException", 400, f"1 validation error detected: {violation(value, field, rule)}")


SPACE, DOTTED, LONG_257, LONG_141, LONG_65 = "bad name", "with.dot", "a" * 257, "a" * 141, "u" * 65
# Each operation quotes its own model's FunctionName shape; a name its pattern allows is looked up.
NAMES: list[tuple[str, Callable[[Any], Any], tuple[str, int, str]]] = [
    ("GetFunction-space", lambda c: c.get_function(FunctionName=SPACE),
     one(SPACE, "functionName", pattern(NAMESPACED.pattern))),
    ("GetFunction-dot", lambda c: c.get_function(FunctionName=DOTTED),
     ("ResourceNotFoundException", 404, f"Function not found: {ARN.format(DOTTED)}")),
    ("GetFunction-257", lambda c: c.get_function(FunctionName=LONG_257),
     one(LONG_257, "functionName", "Member must have length less than or equal to 256")),
    ("GetFunctionConfiguration-space", lambda c: c.get_function_configuration(FunctionName=SPACE),
     one(SPACE, "functionName", pattern(NAMESPACED.pattern))),
    ("DeleteFunction-space", lambda c: c.delete_function(FunctionName=SPACE),
     one(SPACE, "functionName", pattern(NAMESPACED.pattern))),
    ("Invoke-space", lambda c: c.invoke(FunctionName=SPACE, Payload=b"{}"),
     one(SPACE, "functionName", pattern(NAMESPACED.pattern))),
    ("GetPolicy-space", lambda c: c.get_policy(FunctionName=SPACE),
     one(SPACE, "functionName", pattern(NAMESPACED.pattern))),
    ("ListVersionsByFunction-space", lambda c: c.list_versions_by_function(FunctionName=SPACE),
     one(SPACE, "functionName", pattern(NAMESPACED.pattern))),
    ("PublishVersion-dot", lambda c: c.publish_version(FunctionName=DOTTED),
     one(DOTTED, "functionName", pattern(FUNCTION_NAME.pattern))),
    ("UpdateFunctionConfiguration-141", lambda c: c.update_function_configuration(FunctionName=LONG_141, Timeout=5),
     one(LONG_141, "functionName", "Member must have length less than or equal to 140")),
    ("ListAliases-dot", lambda c: c.list_aliases(FunctionName=DOTTED),
     one(DOTTED, "functionName", pattern(FUNCTION_NAME.pattern))),
    ("GetFunctionUrlConfig-65", lambda c: c.get_function_url_config(FunctionName=LONG_65),
     one(LONG_65, "functionName", pattern(URL.pattern))),
    ("GetFunctionRecursionConfig-qualified", lambda c: c.get_function_recursion_config(FunctionName="f:1"),
     one("f:1", "functionName", pattern(UNQUALIFIED.pattern))),
    ("GetFunction-qualifier", lambda c: c.get_function(FunctionName="f", Qualifier="bad qualifier"),
     one("bad qualifier", "qualifier", pattern(NAMESPACED.qualifier_pattern))),
    ("GetFunction-both", lambda c: c.get_function(FunctionName=SPACE, Qualifier="bad qualifier"),
     ("ValidationException", 400, "2 validation errors detected: "
      f"{violation(SPACE, 'functionName', pattern(NAMESPACED.pattern))}; "
      f"{violation('bad qualifier', 'qualifier', pattern(NAMESPACED.qualifier_pattern))}")),
    ("DeleteFunction-257-space", lambda c: c.delete_function(FunctionName="b c" * 86),
     ("ValidationException", 400, "2 validation errors detected: "
      f"{violation('b c' * 86, 'functionName', 'Member must have length less than or equal to 256')}; "
      f"{violation('b c' * 86, 'functionName', pattern(NAMESPACED.pattern))}")),
]  # fmt: skip


@pytest.mark.parametrize(("operation", "call", "expected"), NAMES, ids=[case[0] for case in NAMES])
def test_each_operation_quotes_its_own_function_name_shape(raw: Any, operation: str, call: Callable[[Any], Any],
                                                           expected: tuple[str, int, str]) -> None:  # fmt: skip
    assert error_of(lambda: call(raw)) == expected


def test_update_function_code_names_every_violation_before_looking_the_function_up(raw: Any, fn_name: str) -> None:
    create(raw, fn_name)
    for name in (fn_name, fn_name + "-missing"):
        assert error_of(lambda: raw.update_function_code(FunctionName=name, S3Bucket="b.", S3Key="",
                                                         Architectures=["sparc"])) == (  # fmt: skip
            "ValidationException", 400, "4 validation errors detected: "
            f"{violation('b.', 's3Bucket', 'Member must have length greater than or equal to 3')}; "
            f"{violation('b.', 's3Bucket', pattern(S3_BUCKET_PATTERN))}; "
            f"{violation('', 's3Key', 'Member must have length greater than or equal to 1')}; "
            "Value '['sparc']' at 'architectures' failed to satisfy constraint: Member must have length 1 and "
            "satisfy enum value set: [x86_64, arm64]")  # fmt: skip


EMPTY_CODE: list[tuple[str, Callable[[Any, str], Any], tuple[str, int, str]]] = [
    ("CreateFunction-no-code", lambda c, n: c.create_function(FunctionName=n, Runtime="python3.12", Role=ROLE,
                                                               Handler="app.handler"),
     ("ValidationException", 400, "1 validation error detected: Value null at 'code' failed to satisfy "
                                  "constraint: Member must not be null")),
    ("CreateFunction-no-source", lambda c, n: create_with(c, n, {}),
     ("InvalidParameterValueException", 400, NO_SOURCE)),
    ("CreateFunction-zero-bytes", lambda c, n: create_with(c, n, {"ZipFile": b""}),
     ("InvalidParameterValueException", 400, EMPTY_ZIP)),
    ("PublishLayerVersion-no-content", lambda c, n: c.publish_layer_version(LayerName=n),
     ("ValidationException", 400, "1 validation error detected: Value null at 'content' failed to satisfy "
                                  "constraint: Member must not be null")),
    ("PublishLayerVersion-no-source", lambda c, n: c.publish_layer_version(LayerName=n, Content={}),
     ("InvalidParameterValueException", 400, NO_SOURCE)),
    ("PublishLayerVersion-zero-bytes", lambda c, n: c.publish_layer_version(LayerName=n, Content={"ZipFile": b""}),
     ("InvalidParameterValueException", 400, EMPTY_ZIP)),
    ("PublishLayerVersion-bad-bucket", lambda c, n: c.publish_layer_version(LayerName=n, Content={"S3Bucket": "b.",
                                                                                                   "S3Key": "k"}),
     ("ValidationException", 400, "2 validation errors detected: "
      f"{violation('b.', 'content.s3Bucket', 'Member must have length greater than or equal to 3')}; "
      f"{violation('b.', 'content.s3Bucket', pattern(S3_BUCKET_PATTERN))}")),
]  # fmt: skip


def create_with(client: Any, name: str, code: dict[str, Any]) -> Any:
    return client.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler", Code=code)


@pytest.mark.parametrize(("operation", "call", "expected"), EMPTY_CODE, ids=[case[0] for case in EMPTY_CODE])
def test_empty_code_is_refused_as_lambda_refuses_it(raw: Any, fn_name: str, operation: str,
                                                    call: Callable[[Any, str], Any],
                                                    expected: tuple[str, int, str]) -> None:  # fmt: skip
    assert error_of(lambda: call(raw, fn_name)) == expected


def test_update_function_code_without_code_is_refused(raw: Any, fn_name: str) -> None:
    create(raw, fn_name)
    raw.get_waiter("function_active_v2").wait(FunctionName=fn_name, WaiterConfig={"Delay": 1})
    assert error_of(lambda: raw.update_function_code(FunctionName=fn_name)) == (
        "InvalidParameterValueException", 400, NO_SOURCE)
    assert error_of(lambda: raw.update_function_code(FunctionName=fn_name, ZipFile=b"")) == (
        "InvalidParameterValueException", 400, EMPTY_ZIP)


UPDATES_WITH_A_BAD_NAME: list[tuple[str, Callable[[Any], Any], str]] = [
    ("UpdateFunctionCode", lambda c: c.update_function_code(FunctionName=DOTTED, S3Bucket="b.", S3Key="k"),
     f"{violation('b.', 's3Bucket', 'Member must have length greater than or equal to 3')}; "
     f"{violation('b.', 's3Bucket', pattern(S3_BUCKET_PATTERN))}"),
    ("UpdateFunctionConfiguration", lambda c: c.update_function_configuration(FunctionName=DOTTED, Timeout=901),
     violation("901", "timeout", "Member must have value less than or equal to 900")),
]  # fmt: skip


@pytest.mark.parametrize(("operation", "call", "rest"), UPDATES_WITH_A_BAD_NAME,
                         ids=[case[0] for case in UPDATES_WITH_A_BAD_NAME])  # fmt: skip
def test_an_update_names_its_function_name_with_its_other_violations(raw: Any, operation: str,
                                                                     call: Callable[[Any], Any], rest: str) -> None:
    code, status, message = error_of(lambda: call(raw))
    count = 1 + rest.count("; ") + 1
    assert (code, status) == ("ValidationException", 400)
    assert message == (f"{count} validation errors detected: "
                       f"{violation(DOTTED, 'functionName', pattern(FUNCTION_NAME.pattern))}; {rest}")  # fmt: skip
