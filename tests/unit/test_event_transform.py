"""A target's input: the event, Input, InputPath, InputTransformer (the guide's examples verbatim)."""

from __future__ import annotations

import json

import pytest

from lamina.errors import ValidationError
from lamina.events import jsonpath
from lamina.events.transform import RuleRef, TargetInput, TargetSpec, render_input

EVENT = {  # docs: eb-transform-target-input.md
    "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "account": "123456789012",
    "time": "2015-11-11T21:29:54Z", "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING"},
}  # fmt: skip
PATHS = {  # docs
    "timestamp": "$.time",
    "instance": "$.detail.instance-id",
    "state": "$.detail.state",
    "resource": "$.resources[0]",
}
RULE = RuleRef("example", "arn:aws:events:us-east-2:123456789012:rule/example")


def transformed(template: str, paths: dict[str, str] | None = None, event: object = EVENT) -> str:
    target: TargetSpec = {"Id": "t1", "InputTransformer": {"InputPathsMap": paths or PATHS, "InputTemplate": template}}
    assert isinstance(event, dict)
    return render_input(target, event, RULE).decode()


# (template, output) from the guide's table, as written there
DOC_EXAMPLES = [
    ('"instance <instance> is in <state>"', '"instance i-0123456789 is in RUNNING"'),
    ('"instance \\"<instance>\\" is in <state>"', '"instance \\"i-0123456789\\" is in RUNNING"'),
    ('{\n  "instance" : <instance>,\n  "state": <state>\n}', '{\n  "instance" : "i-0123456789",\n  "state": "RUNNING"\n}'),
    ('{\n "instance" : <instance>,\n "state": "<state>",\n "instanceStatus": "instance \\"<instance>\\" is in <state>"\n}',
     '{\n "instance" : "i-0123456789",\n "state": "RUNNING",\n'
     ' "instanceStatus": "instance \\"i-0123456789\\" is in RUNNING"\n}'),
    ('"<aws.events.rule-name> triggered"', '"example triggered"'),
]  # fmt: skip


@pytest.mark.parametrize(("template", "output"), DOC_EXAMPLES)
def test_the_guides_templates(template: str, output: str) -> None:
    assert transformed(template) == output


def test_json_with_a_mix_of_variables_and_static_information() -> None:  # docs (the output is re-indented there)
    out = transformed('{\n  "instance" : <instance>,\n  "state": [ 9, <state>, true ],\n  "Transformed" : "Yes"\n}')
    assert json.loads(out) == {"instance": "i-0123456789", "state": [9, "RUNNING", True], "Transformed": "Yes"}


def test_reserved_variables_in_json() -> None:  # docs
    out = transformed(
        '{\n  "instance" : <instance>,\n  "state": <state>,\n  "ruleArn" : <aws.events.rule-arn>,\n'
        '  "ruleName" : <aws.events.rule-name>,\n  "originalEvent" : <aws.events.event.json>\n}'
    )
    assert json.loads(out) == {
        "instance": "i-0123456789", "state": "RUNNING", "ruleArn": "arn:aws:events:us-east-2:123456789012:rule/example",
        "ruleName": "example", "originalEvent": EVENT,
    }  # fmt: skip


def test_event_without_detail_and_ingestion_time() -> None:
    out = transformed('{"e": <aws.events.event>, "t": <aws.events.event.ingestion-time>}')
    envelope = json.loads(out)["e"]
    assert "detail" not in envelope and envelope["detailType"] == EVENT["detail-type"]
    assert json.loads(out)["t"] == EVENT["time"]
    target: TargetSpec = {"Id": "t", "InputTransformer": {"InputTemplate": '"at <aws.events.event.ingestion-time>"'}}
    assert render_input(target, EVENT, RULE, ingestion_time="2026-01-01T00:00:00Z") == b'"at 2026-01-01T00:00:00Z"'


def test_values_keep_their_json_type_where_a_value_goes_and_are_text_inside_strings() -> None:
    event = {"detail": {"n": 5, "ok": True, "obj": {"a": [1]}, "none": None}}
    paths = {"n": "$.detail.n", "ok": "$.detail.ok", "obj": "$.detail.obj", "none": "$.detail.none"}
    assert json.loads(transformed('{"n": <n>, "ok": <ok>, "obj": <obj>, "none": <none>}', paths, event)) == {
        "n": 5, "ok": True, "obj": {"a": [1]}, "none": None,
    }  # fmt: skip
    assert transformed('"n=<n> ok=<ok> obj=<obj>"', paths, event) == '"n=5 ok=true obj={"a":[1]}"'


def test_a_variable_whose_path_finds_nothing() -> None:
    paths = {"gone": "$.detail.nothing", "state": "$.detail.state"}
    assert transformed('"state <state>, gone <gone>"', paths) == '"state RUNNING, gone "'
    assert transformed('{"gone": <gone>, "state": <state>}', paths) == '{"gone": , "state": "RUNNING"}'


def test_plain_text_template_and_unescaped_values() -> None:
    assert transformed("instance <instance> is <state>") == "instance i-0123456789 is RUNNING"
    event = {"detail": {"q": 'say "hi"'}}
    assert transformed('{"q": "<q>"}', {"q": "$.detail.q"}, event) == '{"q": "say "hi""}'  # AWS does not escape


def test_input_inputpath_and_the_whole_event() -> None:
    assert render_input({"Id": "t", "Input": '{"fixed": 1}'}, EVENT, RULE) == b'{"fixed": 1}'
    assert json.loads(render_input({"Id": "t"}, EVENT, RULE)) == EVENT
    assert json.loads(render_input({"Id": "t", "InputPath": "$"}, EVENT, RULE)) == EVENT
    assert json.loads(render_input({"Id": "t", "InputPath": "$.detail"}, EVENT, RULE)) == EVENT["detail"]
    assert render_input({"Id": "t", "InputPath": "$.detail.state"}, EVENT, RULE) == b'"RUNNING"'
    assert render_input({"Id": "t", "InputPath": "$.detail.missing"}, EVENT, RULE) == b"null"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("$", {"a": [{"b": 1}, {"b": 2}], "c d": 3}),
        ("$.a[1].b", 2),
        ("$.a[-1]", {"b": 2}),
        ("$['c d']", 3),
        ('$["a"][0]', {"b": 1}),
        ("$.a[*].b", [1, 2]),
        ("$.a.*.b", [1, 2]),
    ],
)
def test_jsonpath_subset(path: str, value: object) -> None:
    found, got = jsonpath.parse(path).select({"a": [{"b": 1}, {"b": 2}], "c d": 3})
    assert found and got == value


def test_jsonpath_finds_nothing() -> None:
    assert jsonpath.parse("$.a[5]").select({"a": [1]}) == (False, None)
    assert jsonpath.parse("$.a[*].x").select({"a": [1]}) == (False, None)


INVALID: list[tuple[TargetSpec, str]] = [
    ({"Id": "t1", "Input": "{}", "InputPath": "$"},
     "Only one of Input, InputPath, or InputTransformer must be provided for target t1."),
    ({"Id": "t1", "InputTransformer": {"InputPathsMap": {"a": "$.a"}, "InputTemplate": '"<b>"'}},
     "InputTemplate for target t1 contains invalid placeholder b."),
    ({"Id": "t1", "InputTransformer": {"InputTemplate": "[<aws.events.event.json>]"}},
     "InputTemplate for target t1 contains placeholder aws.events.event.json valid only for JSON template."),
    ({"Id": "t1", "InputTransformer": {"InputTemplate": '"<aws.events.event.json>"'}},
     "InputTemplate for target t1 contains placeholder aws.events.event.json valid only for JSON template."),
    ({"Id": "t1", "InputTransformer": {"InputPathsMap": {f"v{i}": "$.a" for i in range(101)}, "InputTemplate": "x"}},
     "InputPathsMap for target t1 has 101 entries; at most 100 are allowed."),
    ({"Id": "t1", "InputTransformer": {"InputPathsMap": {"aws.events.rule-name": "$.a"}, "InputTemplate": "x"}},
     "InputPathsMap for target t1 contains reserved variable name aws.events.rule-name."),
    ({"Id": "t1", "InputPath": "detail.x"}, "Invalid JSONPath detail.x for target t1."),
    ({"Id": "t1", "Input": "not json"}, "Input for target t1 is not valid JSON text."),
]  # fmt: skip


@pytest.mark.parametrize(("target", "message"), INVALID)
def test_invalid_targets(target: TargetSpec, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TargetInput.of(target)
    assert caught.value.message == message
    assert (caught.value.code, caught.value.status) == ("ValidationException", 400)


def test_a_hundred_paths_are_allowed() -> None:
    paths = {f"v{i}": f"$.detail.v{i}" for i in range(100)}
    event = {"detail": {f"v{i}": i for i in range(100)}}
    assert transformed("[" + ", ".join(f"<v{i}>" for i in range(100)) + "]", paths, event) == json.dumps(
        list(range(100))
    )
