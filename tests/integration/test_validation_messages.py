"""Lambda's validation and not-found answers, word for word, through an unchanged boto3 client."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from lamina.control.validation import FUNCTION_NAME_PATTERN
from lamina.runtime.names import MODEL_RUNTIMES
from tests.conftest import ROLE, make_zip

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
