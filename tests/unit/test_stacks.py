"""Stacks' pure parts with plain values: templates (stacks/template.py: the short forms,
parameters, CloudFormation's error wording, hostile templates refused cleanly), intrinsic functions
and the dependency order (stacks/intrinsics.py), generated names, change sets' listings
(stacks/plan.py), and what a start does with an operation a stop interrupted (on a memory store)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from lamina.stacks import intrinsics as i
from lamina.stacks.errors import StackValidationError, TemplateError
from lamina.stacks.intrinsics import NO_VALUE, Scope
from lamina.stacks.template import MAX_DEPTH, load, parse, resolve_parameters

YAML = """
AWSTemplateFormatVersion: 2010-09-09
Parameters:
  Env:
    Type: String
    AllowedValues: [dev, prod]
    Default: dev
  Sizes:
    Type: CommaDelimitedList
    Default: "1,2,3"
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  NotProd: !Not [!Condition IsProd]
Mappings:
  Memory:
    dev: {Size: 128}
    prod: {Size: 1024}
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Fn:
    Type: AWS::Lambda::Function
    DependsOn: Queue
    Properties:
      Role: !GetAtt Role.Arn
      MemorySize: !FindInMap [Memory, !Ref Env, Size]
      Description: !Sub "${AWS::StackName} in ${Env} (${!Literal}) ${Role.Arn}"
      Environment:
        Variables:
          QUEUE: !Ref Queue
          LIST: !Join [",", !Ref Sizes]
          SECOND: !Select [1, !Ref Sizes]
          ONLY_PROD: !If [IsProd, "yes", !Ref AWS::NoValue]
  Role:
    Type: AWS::IAM::Role
    Condition: NotProd
    Properties: {}
Outputs:
  Arn:
    Value: !GetAtt Fn.Arn
    Export: {Name: !Sub "${AWS::StackName}-arn"}
"""


def scope_for(template: Any, values: dict[str, str]) -> Scope:
    base = Scope({**i.pseudo_parameters("us-east-1", "123456789012", "st", "arn:stack"),
                  **i.parameter_values(template, values)}, template.mappings)  # fmt: skip
    conditions = i.evaluate_conditions(template, base)
    attrs = {("Role", "Arn"): "arn:aws:iam::123456789012:role/r", ("Fn", "Arn"): "arn:fn"}

    def attribute(logical_id: str, name: str) -> Any:
        return attrs[(logical_id, name)]

    return Scope(base.parameters, template.mappings, conditions, {"Queue": "https://q", "Role": "r"}, attribute)


def test_short_forms_read_as_the_long_forms_and_dates_stay_text() -> None:
    doc = load(YAML)
    assert doc["AWSTemplateFormatVersion"] == "2010-09-09"
    fn = doc["Resources"]["Fn"]["Properties"]
    assert fn["Role"] == {"Fn::GetAtt": ["Role", "Arn"]}
    assert fn["MemorySize"] == {"Fn::FindInMap": ["Memory", {"Ref": "Env"}, "Size"]}
    assert doc["Conditions"]["NotProd"] == {"Fn::Not": [{"Condition": "IsProd"}]}
    assert load(json.dumps(doc)) == doc  # JSON reads to the same value


def test_intrinsic_functions_evaluate_against_parameters_conditions_and_resources() -> None:
    template = parse(YAML)
    assert i.check(template) == ["Queue", "Role", "Fn"]
    scope = scope_for(template, resolve_parameters(template, {}, {}))
    props = i.evaluate(template.resources["Fn"].properties, scope)
    assert props["MemorySize"] == 128
    assert props["Description"] == "st in dev (${Literal}) arn:aws:iam::123456789012:role/r"
    assert props["Environment"]["Variables"] == {"QUEUE": "https://q", "LIST": "1,2,3", "SECOND": "2"}
    assert scope.conditions == {"IsProd": False, "NotProd": True}
    prod = scope_for(template, resolve_parameters(template, {"Env": "prod"}, {}))
    assert i.evaluate(template.resources["Fn"].properties, prod)["Environment"]["Variables"]["ONLY_PROD"] == "yes"
    assert i.evaluate(template.outputs["Arn"].export_name, scope) == "st-arn"


@pytest.mark.parametrize(("expression", "expected"), [
    ({"Fn::Join": ["-", ["a", "b", "c"]]}, "a-b-c"),
    ({"Fn::Split": ["|", "a|b"]}, ["a", "b"]),
    ({"Fn::Select": ["0", {"Fn::Split": [",", "x,y"]}]}, "x"),
    ({"Fn::Base64": "hi"}, base64.b64encode(b"hi").decode()),
    ({"Fn::GetAZs": ""}, ["us-east-1a", "us-east-1b", "us-east-1c"]),
    ({"Fn::Equals": ["1", 1]}, True),
    ({"Fn::And": [True, {"Fn::Not": [False]}]}, True),
    ({"Fn::Or": [False, "false"]}, False),
    ({"Fn::Sub": ["${A}-${B}", {"A": "x", "B": {"Ref": "AWS::Region"}}]}, "x-us-east-1"),
    ({"Fn::ImportValue": "shared"}, "exported"),
    ({"Fn::ToJsonString": {"a": [1]}}, '{"a":[1]}'),
    ([1, {"Ref": "AWS::NoValue"}, 2], [1, 2]),
    ({"Keep": 1, "Drop": {"Ref": "AWS::NoValue"}}, {"Keep": 1}),
])  # fmt: skip
def test_each_function_with_plain_values(expression: Any, expected: Any) -> None:
    scope = Scope(i.pseudo_parameters("us-east-1", "1", "s", "id"), exports={"shared": "exported"})
    assert i.evaluate(expression, scope) == expected
    assert i.evaluate({"Ref": "AWS::NoValue"}, scope) is NO_VALUE


@pytest.mark.parametrize(("expression", "message"), [
    ({"Fn::Select": ["5", ["a"]]}, "Fn::Select cannot select nonexistent value at index 5"),
    ({"Fn::ImportValue": "nope"}, "No export named nope found."),
    ({"Fn::If": ["Missing", 1, 2]}, "unresolved condition dependency Missing in Fn::If"),
    ({"Fn::Join": ["-"]}, "every Fn::Join object requires a list of 2 elements"),
    ({"Fn::FindInMap": ["M", "a", "b"]}, "Unable to get mapping for M::a::b"),
    ({"Ref": "Unknown"}, "Unresolved resource dependencies [Unknown] in the Resources block of the template"),
    ({"Fn::Cidr": ["10.0.0.0/16", 2, 8]}, "Fn::Cidr is not supported by Lamina"),
])  # fmt: skip
def test_function_errors_carry_cloudformations_words(expression: Any, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        i.evaluate(expression, Scope(i.pseudo_parameters("us-east-1", "1", "s", "id")))
    assert message in caught.value.message


def resources(**bodies: Any) -> str:
    return json.dumps({"Resources": bodies})


@pytest.mark.parametrize(("body", "message"), [
    (resources(A={"Type": "AWS::SQS::Queue", "DependsOn": "B"}, B={"Type": "AWS::SQS::Queue", "DependsOn": "A"}),
     "Template format error: Circular dependency between resources: [A, B]"),
    (resources(A={"Type": "AWS::SQS::Queue", "Properties": {"X": {"Fn::GetAtt": ["A", "Arn"]}}}),
     "Circular dependency between resources: [A]"),
    (resources(A={"Type": "AWS::SQS::Queue", "Properties": {"X": {"Ref": "Nope"}}}),
     "Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template"),
    (resources(A={"Type": "AWS::SQS::Queue", "Properties": {"X": {"Fn::Sub": "${Nope.Arn}"}}}),
     "Template error: instance of Fn::GetAtt references undefined resource Nope"),
    (resources(A={"Properties": {}}), "Template format error: [/Resources/A] Every Resources object must contain a "
                                      "Type member."),
    (resources(**{"a-b": {"Type": "AWS::SQS::Queue"}}), "Template format error: Resource name a-b is non alphanumeric."),
    (resources(A={"Type": "NotAType"}), "Template format error: Unrecognized resource types: [NotAType]"),
    (json.dumps({"Resources": {}}), "Template format error: At least one Resources member must be defined."),
    (json.dumps({"Resources": {"A": {"Type": "AWS::SQS::Queue"}}, "Bogus": 1}),
     "Template format error: Invalid template property or properties [Bogus]"),
    ('{"Resources": ', "Template format error: JSON not well-formed. (line 1, column 15)"),
    ("Resources:\n  A: [unclosed", "Template format error: YAML not well-formed."),
])  # fmt: skip
def test_bad_templates_are_refused_in_cloudformations_words(body: str, message: str) -> None:
    with pytest.raises(StackValidationError) as caught:
        i.check(parse(body))
    assert message in caught.value.message


def test_parameters_are_resolved_and_checked() -> None:
    template = parse(json.dumps({
        "Parameters": {"Name": {"Type": "String"}, "Size": {"Type": "Number", "MinValue": 1, "MaxValue": 10},
                       "Code": {"Type": "String", "AllowedPattern": "[a-z]+", "Default": "abc"}},
        "Resources": {"A": {"Type": "AWS::SQS::Queue"}}}))  # fmt: skip
    assert resolve_parameters(template, {"Name": "n", "Size": "3"}, {}) == {"Name": "n", "Size": "3", "Code": "abc"}
    assert resolve_parameters(template, {"Size": "4"}, {"Name": "old"}, ["Name"])["Name"] == "old"
    for given, message in [({}, "Parameters: [Name, Size] must have values"),
                           ({"Name": "n", "Size": "x"}, "Parameter 'Size' must be a number."),
                           ({"Name": "n", "Size": "11"}, "Parameter 'Size' must be a number not greater than 10"),
                           ({"Name": "n", "Size": "2", "Code": "A1"}, "Parameter 'Code' must match pattern [a-z]+"),
                           ({"Name": "n", "Size": "2", "Other": "x"}, "Parameters: [Other] do not exist in the template")]:
        with pytest.raises(StackValidationError) as caught:
            resolve_parameters(template, given, {})
        assert caught.value.message == message


def test_an_allowed_pattern_cannot_stall_the_server() -> None:
    """A backtracking engine takes exponential time on ``(a+)+$`` against a's and a b; RE2 does not,
    and a pattern it does not take (a backreference) is an invalid template, not a crash."""
    template = parse(json.dumps({
        "Parameters": {"Name": {"Type": "String", "AllowedPattern": "(a+)+$"},
                       "Twice": {"Type": "String", "AllowedPattern": "(a)\\1"}},
        "Resources": {"A": {"Type": "AWS::SQS::Queue"}}}))  # fmt: skip
    with pytest.raises(StackValidationError) as caught:
        resolve_parameters(template, {"Name": "a" * 5000 + "b", "Twice": "aa"}, {})
    assert caught.value.message == "Parameter 'Name' must match pattern (a+)+$"
    with pytest.raises(TemplateError) as invalid:
        resolve_parameters(template, {"Name": "aaa", "Twice": "aa"}, {})
    assert "AllowedPattern is not a valid pattern" in invalid.value.message


# -- hostile templates ----------------------------------------------------------------------------


def test_yaml_aliases_are_refused_so_a_billion_laughs_cannot_expand() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + n)}: &{chr(98 + n)} [*{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}]\n"
        for n in range(8))  # fmt: skip
    with pytest.raises(TemplateError) as caught:
        load("Resources:\n  Q: {Type: AWS::SQS::Queue}\n" + bomb)
    assert "YAML aliases are not allowed" in caught.value.message


@pytest.mark.parametrize("body", [
    "Resources: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5),
    '{"Resources": ' + "[" * 5000 + "]" * 5000 + "}",
    "Resources: " + "{a: " * 3000 + "1" + "}" * 3000,
])  # fmt: skip
def test_deep_nesting_is_refused(body: str) -> None:
    with pytest.raises(TemplateError) as caught:
        parse(body, limit=10**6)
    assert "nested deeper than" in caught.value.message or "not well-formed" in caught.value.message


def test_huge_templates_are_refused_before_they_are_read() -> None:
    body = "Resources:\n  Q: {Type: AWS::SQS::Queue}\n# " + "x" * 60_000
    with pytest.raises(StackValidationError) as caught:
        parse(body)
    assert "Member must have length less than or equal to 51200" in caught.value.message


@pytest.mark.parametrize("body", [
    "Resources: !!binary aGVsbG8=",
    "Resources: !!python/object/apply:os.system ['true']",
    "Resources:\n  Q: {Type: AWS::SQS::Queue}\nX: !!set {a, b}",
])  # fmt: skip
def test_values_that_are_not_json_are_refused(body: str) -> None:
    with pytest.raises(TemplateError):
        parse(body)


def test_conditions_that_name_each_other_in_a_circle_are_refused() -> None:
    template = parse(json.dumps({"Conditions": {"A": {"Condition": "B"}, "B": {"Fn::Not": [{"Condition": "A"}]}},
                                 "Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}))  # fmt: skip
    with pytest.raises(TemplateError) as caught:
        i.evaluate_conditions(template, Scope({}))
    assert "Circular dependency between conditions" in caught.value.message


def test_generated_names_fit_their_limits_and_keep_the_stack_and_logical_id_readable() -> None:
    from types import SimpleNamespace

    from lamina.stacks.resources.base import Context

    ctx = Context(SimpleNamespace(), SimpleNamespace(), "a-rather-long-stack-name-for-a-service-" * 2, "id", 0)  # type: ignore[arg-type]
    for limit in (63, 64, 80):
        name = ctx.physical_name("AVeryLongLogicalIdentifierForAFunction", limit)
        assert len(name) <= limit and name.startswith("a-rather-long") and "-AVery" in name
    assert ctx.physical_name("Bucket", 63, lower=True).islower()
    assert ctx.physical_name("Queue", 80, suffix=".fifo").endswith(".fifo")


def test_a_change_set_lists_what_an_update_changes() -> None:
    from lamina.stacks import plan
    from lamina.stacks.model import StackResource
    from lamina.stacks.resources import PROVIDERS

    template = parse(json.dumps({"Resources": {
        "Q": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 60}},
        "Named": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "new-name"}},
        "New": {"Type": "AWS::SQS::Queue", "Properties": {"RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["Q", "Arn"]}}}},
    }}))  # fmt: skip
    current = {"Q": StackResource("Q", "AWS::SQS::Queue", "CREATE_COMPLETE", 0, "url-q", "url-q", {"Arn": "arn:q"},
                                  {"VisibilityTimeout": 30}),
               "Named": StackResource("Named", "AWS::SQS::Queue", "CREATE_COMPLETE", 0, "url-n", "url-n", {},
                                      {"QueueName": "old-name"}),
               "Gone": StackResource("Gone", "AWS::SQS::Queue", "CREATE_COMPLETE", 0, "url-g", "url-g", {}, {})}  # fmt: skip
    found = {c.logical_id: c for c in plan.changes(template, Scope({}), current, PROVIDERS)}
    assert (found["Q"].action, found["Q"].replacement, found["Q"].details) == ("Modify", "False", ("VisibilityTimeout",))
    assert (found["Named"].action, found["Named"].replacement) == ("Modify", "True")
    assert found["New"].action == "Add" and found["Gone"].action == "Remove"
    assert found["Q"].shape()["ResourceChange"]["Details"][0]["Target"]["RequiresRecreation"] == "Never"


def test_an_operation_a_stopped_server_interrupted_is_left_failed() -> None:
    import asyncio

    from lamina.settings import Settings
    from lamina.stacks.model import STACK, Stack
    from lamina.stacks.service import StackService
    from lamina.store.base import Resource
    from lamina.store.memory import MemoryStore

    async def scenario() -> dict[str, str]:
        store = MemoryStore()
        statuses = {"a": "CREATE_IN_PROGRESS", "b": "UPDATE_IN_PROGRESS", "c": "DELETE_IN_PROGRESS",
                    "d": "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "e": "CREATE_COMPLETE"}  # fmt: skip
        await store.change_resources([Resource(STACK, name, Stack(name, name, status, 0.0).doc())
                                      for name, status in statuses.items()])  # fmt: skip
        service = StackService(store, Settings(), 0)
        await service.load()
        again = StackService(store, Settings(), 0)  # what was written is what the next start reads
        await again.load()
        return {s.name: s.status for s in again.stacks()}

    assert asyncio.run(scenario()) == {"a": "CREATE_FAILED", "b": "UPDATE_ROLLBACK_FAILED", "c": "DELETE_FAILED",
                                       "d": "UPDATE_COMPLETE", "e": "CREATE_COMPLETE"}  # fmt: skip
