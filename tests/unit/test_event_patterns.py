"""Event patterns, one table per operator: (pattern, event, matches?) and invalid patterns with AWS's message.

Examples marked "docs" are the pattern/event pairs of AWS's EventBridge guide, as written there.
Invalid patterns marked "AWS" carry the message, position included, that EventBridge returned
for that exact pattern text.
"""

from __future__ import annotations

import json
import random

import pytest

from bench.scenarios import matcher

from lamina.events.index import PatternIndex
from lamina.events.pattern import InvalidEventPattern, compile_pattern

EC2_TERMINATED = {  # docs: eb-event-patterns.md
    "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "account": "111122223333",
    "time": "2017-12-22T18:43:48Z", "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"},
}  # fmt: skip
AUTOSCALING = {  # docs: eb-event-patterns-null-values.md
    "version": "0", "id": "3e3c153a-8339-4e30-8c35-687ebef853fe", "detail-type": "EC2 Instance Launch Successful",
    "source": "aws.autoscaling", "account": "123456789012", "time": "2015-11-11T21:31:47Z",
    "region": "us-east-1", "resources": [], "detail": {"eventVersion": "", "responseElements": None},
}  # fmt: skip
MACIE = {  # docs: eb-event-patterns.md (truncated there too)
    "version": "0", "id": "0948ba87-d3b8-c6d4-f2da-732a1example", "detail-type": "Macie Finding",
    "source": "aws.macie", "account": "123456789012", "time": "2021-04-29T23:12:15Z", "region": "us-east-1",
    "resources": [],
    "detail": {"schemaVersion": "1.0", "type": "Policy:IAMUser/S3BucketEncryptionDisabled",
               "severity": {"score": 1, "description": "Low"}, "count": 2},
}  # fmt: skip
EC2_PENDING = {  # docs: eb-event-patterns-content-based-filtering.md, exists matching
    "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "account": "123456789012",
    "time": "2015-11-11T21:29:54Z", "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-abcd1111", "state": "pending"},
}  # fmt: skip
C_COUNT_ONLY = {  # docs: the event the exists and equals-ignore-case examples use
    "detail-type": ["EC2 Instance State-change Notification"],
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341"],
    "detail": {"c-count": {"c1": 100}},
}


def detail(**fields: object) -> dict[str, object]:
    return {"source": "my.app", "detail-type": "thing", "detail": fields}


def check(pattern: object, event: object, expected: bool) -> None:
    text = pattern if isinstance(pattern, str) else json.dumps(pattern)
    assert isinstance(event, dict)
    assert compile_pattern(text).matches(event) is expected, (text, event)


EXACT = [
    ({"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"],
      "detail": {"state": ["terminated"]}}, EC2_TERMINATED, True),  # docs
    ({"source": ["aws.ec2", "aws.fargate"]}, EC2_TERMINATED, True),  # docs
    ({"source": ["aws.ec2", "aws.fargate"]}, {"source": "aws.fargate"}, True),
    ({"source": ["aws.ec2", "aws.fargate"]}, {"source": "aws.s3"}, False),
    ({"source": ["AWS.EC2"]}, EC2_TERMINATED, False),  # no case folding
    ({"detail": {"state": ["running"]}}, EC2_TERMINATED, False),
    ({"detail": {"missing": ["x"]}}, EC2_TERMINATED, False),
    ({"source": ["aws.macie"], "detail-type": ["Macie Finding"],
      "detail": {"severity": {"score": [1]}, "count": [2]}}, MACIE, True),  # docs
    ({"source": ["aws.autoscaling"], "detail-type": ["EC2 Instance Launch Successful"],
      "detail": {"responseElements": [None]}}, AUTOSCALING, True),  # docs
    ({"detail": {"eventVersion": [""]}}, AUTOSCALING, True),  # docs
    ({"detail": {"responseElements": [None]}}, AUTOSCALING, True),  # docs
    ({"detail": {"eventVersion": [None]}}, AUTOSCALING, False),  # null and "" are not interchangeable
    ({"detail": {"responseElements": [""]}}, AUTOSCALING, False),
    ({"detail": {"absent": [None]}}, AUTOSCALING, False),  # null is a value, not a missing field
    ({"detail": {"n": [3]}}, detail(n=3.0), True),  # numbers compare as numbers
    ({"detail": {"n": [3.0e0]}}, detail(n=3), True),
    ({"detail": {"n": [300]}}, detail(n=3.0e2), True),
    ({"detail": {"n": [3]}}, detail(n="3"), False),
    ({"detail": {"n": ["3"]}}, detail(n=3), False),
    ({"detail": {"n": [1]}}, detail(n=True), False),  # booleans are not numbers
    ({"detail": {"flag": [True]}}, detail(flag=True), True),
    ({"detail": {"flag": [False]}}, detail(flag=True), False),
    ({"account": [123456789012]}, {"account": 123456789012}, True),  # beyond the numeric range: still equal
    ({"detail": {"a": {"b": ["x"]}}}, detail(a="x"), False),  # the pattern nests deeper than the event
    ({"detail": {"a": ["x"]}}, detail(a={"b": "x"}), False),  # an object is not a leaf
    ({"detail": {"state.status": ["running"]}}, detail(state={"status": "running"}), True),  # dotted keys
    ({"detail": {"state": {"status": ["running"]}}}, detail(**{"state.status": "running"}), True),
]  # fmt: skip

ARRAYS = [
    ({"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
                    "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
                    "arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]},
     {"resources": ["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-"
                    "d5978ed4a025:autoScalingGroupName/ASGTerminate",
                    "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}, True),  # docs
    ({"resources": ["arn:x"]}, {"resources": ["arn:y", "arn:z"]}, False),
    ({"detail": {"tags": ["b"]}}, detail(tags=[["a"], ["b"]]), True),  # nested arrays are flattened
    ({"detail": {"items": {"id": [2]}}}, detail(items=[{"id": 1}, {"id": 2}]), True),
    ({"detail": {"items": {"id": [3]}}}, detail(items=[{"id": 1}, {"id": 2}]), False),
    # two fields of one object pattern must come from the same element of an event array
    ({"detail": {"items": {"id": [1], "ok": [True]}}}, detail(items=[{"id": 1, "ok": False}, {"id": 2, "ok": True}]),
     False),
    ({"detail": {"items": {"id": [2], "ok": [True]}}}, detail(items=[{"id": 1, "ok": False}, {"id": 2, "ok": True}]),
     True),
    ({"detail": {"a": {"id": [1]}, "b": {"id": [2]}}}, detail(a=[{"id": 1}], b=[{"id": 2}]), True),  # two arrays
    ({"detail": {"list": {"id": [{"exists": True}]}}}, detail(list=[{"k": 1}, {"id": "x"}, {"k": 2}]), True),
    ({"resources": [None]}, {"resources": []}, False),  # an empty array is not null
]  # fmt: skip

PREFIX = [
    ({"time": [{"prefix": "2017-10-02"}]}, {"time": "2017-10-02T18:43:48Z"}, True),  # docs
    ({"time": [{"prefix": "2017-10-02"}]}, {"time": "2017-10-03T18:43:48Z"}, False),
    ({"detail": {"n": [{"prefix": "12"}]}}, detail(n=123), False),  # strings only
    ({"detail": {"r": [{"prefix": "us-"}]}}, detail(r="US-east-1"), False),
    ({"detail": {"r": [{"prefix": {"equals-ignore-case": "us-"}}]}}, detail(r="US-east-1"), True),
    ({"detail": {"r": [{"prefix": {"equals-ignore-case": "EU-"}}]}}, detail(r="us-east-1"), False),
    ({"detail": {"r": [{"prefix": ""}]}}, detail(r="anything"), True),
]  # fmt: skip

SUFFIX = [
    ({"FileName": [{"suffix": ".png"}]}, {"FileName": "image.png"}, True),  # docs
    ({"FileName": [{"suffix": ".png"}]}, {"FileName": "image.PNG"}, False),
    ({"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}, {"FileName": "image.PNG"}, True),
    ({"FileName": [{"suffix": ".png"}]}, {"FileName": "image.jpg"}, False),
]  # fmt: skip

ANYTHING_BUT = [
    ({"detail": {"state": [{"anything-but": "initializing"}]}}, detail(state="running"), True),  # docs
    ({"detail": {"state": [{"anything-but": "initializing"}]}}, detail(state="initializing"), False),
    ({"detail": {"state": [{"anything-but": "initializing"}]}}, detail(state=None), True),  # null is another value
    ({"detail": {"state": [{"anything-but": "initializing"}]}}, detail(), False),  # a missing field is no value
    ({"detail": {"x-limit": [{"anything-but": 123}]}}, detail(**{"x-limit": 124}), True),  # docs
    ({"detail": {"x-limit": [{"anything-but": 123}]}}, detail(**{"x-limit": 123.0}), False),
    ({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}, detail(state="running"), True),  # docs
    ({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}, detail(state="stopped"), False),
    ({"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}, detail(**{"x-limit": 150}), True),  # docs
    ({"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}, detail(**{"x-limit": 2e2}), False),
    ({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, detail(state="running"), True),  # docs
    ({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, detail(state="initializing"), False),
    ({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, detail(state=12), True),
    ({"detail": {"state": [{"anything-but": {"prefix": ["init", "stop"]}}]}}, detail(state="stopped"), False),
    ({"detail": {"f": [{"anything-but": {"suffix": ".txt"}}]}}, detail(f="a.png"), True),
    ({"detail": {"f": [{"anything-but": {"suffix": ".txt"}}]}}, detail(f="a.txt"), False),
    ({"detail": {"s": [{"anything-but": {"equals-ignore-case": "Stopped"}}]}}, detail(s="STOPPED"), False),
    ({"detail": {"s": [{"anything-but": {"equals-ignore-case": ["a", "b"]}}]}}, detail(s="C"), True),
    ({"detail": {"p": [{"anything-but": {"wildcard": "*/bin/*.jar"}}]}}, detail(p="/usr/bin/x.jar"), False),
    ({"detail": {"p": [{"anything-but": {"wildcard": "*/bin/*.jar"}}]}}, detail(p="/usr/lib/x.jar"), True),
    ({"detail": {"p": [{"anything-but": {"wildcard": ["*/bin/*", "*.jar"]}}]}}, detail(p="/lib/x.jar"), False),
    ({"detail": {"p": [{"anything-but": {"wildcard": ""}}]}}, detail(p="dir/file"), True),
    # the doc's note: a key given twice keeps the last
    ('{"detail": {"location": [{"prefix": "us-"}], "location": [{"anything-but": "us-east"}]}}',
     detail(location="eu-west"), True),  # docs
    ('{"detail": {"location": [{"prefix": "us-"}], "location": [{"anything-but": "us-east"}]}}',
     detail(location="us-east"), False),
]  # fmt: skip

NUMERIC = [
    ({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}],
                 "x-limit": [{"numeric": ["=", 3.018e2]}]}},
     detail(**{"c-count": 5, "d-count": 9.99, "x-limit": 301.8}), True),  # docs
    ({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}, detail(**{"c-count": 0}), False),
    ({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}, detail(**{"c-count": 5.000001}), False),
    ({"detail": {"c-count": [{"numeric": [">=", 0, "<", 5]}]}}, detail(**{"c-count": 0}), True),
    ({"detail": {"c-count": [{"numeric": [">=", 0, "<", 5]}]}}, detail(**{"c-count": 5}), False),
    ({"detail": {"n": [{"numeric": ["=", 3]}]}}, detail(n=3.0e0), True),
    ({"detail": {"n": [{"numeric": ["<=", -1.5]}]}}, detail(n=-1.5), True),
    ({"detail": {"n": [{"numeric": [">", 10]}]}}, detail(n="11"), False),  # strings are not numbers
    ({"detail": {"n": [{"numeric": [">", 10]}]}}, detail(n=None), False),
    ({"detail": {"n": [{"numeric": [">", 0]}]}}, detail(n=6e9), False),  # beyond what AWS compares
    ({"detail": {"n": [{"numeric": [">", 0]}]}}, detail(n=[-1, 4]), True),
    ({"detail": {"n": [{"numeric": [">", 0]}, "x"]}}, detail(n="x"), True),
]  # fmt: skip

EXISTS = [
    ({"detail": {"state": [{"exists": True}]}}, EC2_PENDING, True),  # docs
    ({"detail": {"state": [{"exists": True}]}}, C_COUNT_ONLY, False),  # docs
    ({"detail": {"state": [{"exists": False}]}}, C_COUNT_ONLY, True),
    ({"detail": {"state": [{"exists": False}]}}, EC2_PENDING, False),
    ({"detail": {"c-count": [{"exists": True}]}}, C_COUNT_ONLY, False),  # only leaves exist, not objects
    ({"detail": {"c-count": {"c1": [{"exists": True}]}}}, C_COUNT_ONLY, True),
    ({"detail": {"responseElements": [{"exists": True}]}}, AUTOSCALING, True),  # null is a leaf
    ({"resources": [{"exists": True}]}, AUTOSCALING, False),  # an empty array holds no leaf
    ({"resources": [{"exists": False}]}, AUTOSCALING, True),
    ({"detail": {"s": [{"exists": False}, "x"]}}, detail(s="x"), True),
    ({"detail": {"s": [{"exists": False}, "x"]}}, detail(s="y"), False),
]  # fmt: skip

EQUALS_IGNORE_CASE = [
    ({"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]}, C_COUNT_ONLY, True),  # docs
    ({"detail-type": [{"equals-ignore-case": "ec2 instance"}]}, C_COUNT_ONLY, False),
    ({"detail": {"name": [{"equals-ignore-case": "alice"}]}}, detail(name="ALICE"), True),
    ({"detail": {"name": [{"equals-ignore-case": "straße"}]}}, detail(name="STRASSE"), True),
    ({"detail": {"name": [{"equals-ignore-case": ""}]}}, detail(name=""), True),
    ({"detail": {"name": [{"equals-ignore-case": ""}]}}, detail(name="x"), False),
    ({"detail": {"name": [{"equals-ignore-case": "1"}]}}, detail(name=1), False),
]  # fmt: skip

CIDR = [
    ({"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}}, detail(sourceIPAddress="10.0.0.255"), True),  # docs
    ({"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}}, detail(sourceIPAddress="10.0.1.0"), False),
    ({"detail": {"ip": [{"cidr": "10.0.0.7/24"}]}}, detail(ip="10.0.0.1"), True),  # host bits are ignored
    ({"detail": {"ip": [{"cidr": "2001:db8::/32"}]}}, detail(ip="2001:db8:1234::1"), True),
    ({"detail": {"ip": [{"cidr": "2001:db8::/32"}]}}, detail(ip="2001:db9::1"), False),
    ({"detail": {"ip": [{"cidr": "10.0.0.0/8"}]}}, detail(ip="::ffff:10.0.0.1"), False),
    ({"detail": {"ip": [{"cidr": "10.0.0.0/8"}]}}, detail(ip="not-an-ip"), False),
    ({"detail": {"ip": [{"cidr": "10.0.0.0/8"}]}}, detail(ip=10), False),
]  # fmt: skip

WILDCARD = [
    ({"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]},
     {"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/myEventBus"}, True),
    ({"detail": {"f": [{"wildcard": "*.png"}]}}, detail(f="dir/a.png"), True),
    ({"detail": {"f": [{"wildcard": "*.png"}]}}, detail(f="a.png.txt"), False),
    ({"detail": {"f": [{"wildcard": "a*b*c"}]}}, detail(f="abc"), True),
    ({"detail": {"f": [{"wildcard": "a*b*c"}]}}, detail(f="a\nxbyc"), True),
    ({"detail": {"f": [{"wildcard": "a\\*b"}]}}, detail(f="a*b"), True),  # \* is a literal star
    ({"detail": {"f": [{"wildcard": "a\\*b"}]}}, detail(f="axb"), False),
    ({"detail": {"f": [{"wildcard": "a\\\\b"}]}}, detail(f="a\\b"), True),  # \\ is a literal backslash
    ({"detail": {"f": [{"wildcard": "a.c"}]}}, detail(f="abc"), False),  # no other metacharacters
    ({"detail": {"f": [{"wildcard": ""}]}}, detail(f=""), True),
    ({"detail": {"f": [{"wildcard": "*"}]}}, detail(f=5), False),
]  # fmt: skip

OR = [
    ({"detail": {"$or": [{"c-count": [{"numeric": [">", 0, "<=", 5]}]}, {"d-count": [{"numeric": ["<", 10]}]},
                         {"x-limit": [{"numeric": ["=", 3.018e2]}]}]}},
     detail(**{"c-count": 50, "d-count": 50, "x-limit": 301.8}), True),  # docs
    ({"detail": {"$or": [{"c-count": [{"numeric": [">", 0, "<=", 5]}]}, {"d-count": [{"numeric": ["<", 10]}]},
                         {"x-limit": [{"numeric": ["=", 3.018e2]}]}]}},
     detail(**{"c-count": 50, "d-count": 50, "x-limit": 300}), False),  # docs
    ({"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization", "ReadLatency"]},
                                            {"metricType": ["MetricType"], "namespace": ["AWS/EC2", "AWS/ES"]},
                                            {"scope": ["Service"]}]},
     {"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/ES"}, True),
    ({"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]}, {"scope": ["Service"]}]},
     {"source": "aws.other", "scope": "Service"}, False),
    ({"$or": [{"source": ["a"]}, {"$or": [{"detail-type": ["b"]}, {"detail": {"x": [1]}}]}]},
     {"source": "z", "detail-type": "z", "detail": {"x": 1}}, True),  # nested $or
    ({"detail": {"$or": [{"a": [{"exists": False}]}, {"a": ["x"]}]}}, detail(), True),
]  # fmt: skip

COMPLEX = [
    ({"time": [{"prefix": "2017-10-02"}],
      "detail": {"state": [{"anything-but": "initializing"}], "c-count": [{"numeric": [">", 0, "<=", 5]}],
                 "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"anything-but": [100, 200, 300]}]}},
     {"time": "2017-10-02T00:00:00Z", "detail": {"state": "running", "c-count": 1, "d-count": 9, "x-limit": 400}},
     True),  # docs
    ({"time": [{"prefix": "2017-10-02"}],
      "detail": {"state": [{"anything-but": "initializing"}], "c-count": [{"numeric": [">", 0, "<=", 5]}],
                 "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"anything-but": [100, 200, 300]}]}},
     {"time": "2017-10-02T00:00:00Z", "detail": {"state": "running", "c-count": 1, "d-count": 9, "x-limit": 200}},
     False),
]  # fmt: skip


@pytest.mark.parametrize(
    "table",
    ["EXACT", "ARRAYS", "PREFIX", "SUFFIX", "ANYTHING_BUT", "NUMERIC", "EXISTS", "EQUALS_IGNORE_CASE", "CIDR",
     "WILDCARD", "OR", "COMPLEX"],
)  # fmt: skip
def test_matching(table: str) -> None:
    rows: list[tuple[object, object, bool]] = globals()[table]
    for pattern, event, expected in rows:
        check(pattern, event, expected)


def _at(text: str, column: int) -> str:
    return f'\n at [Source: (String)"{text}"; line: 1, column: {column}]'


# (pattern text, the reason, the column AWS reports: None for no position, negative when AWS gives it twice).
# Positions follow AWS's parser: a field name is read with the first token of its value, and a
# string value only up to its opening quote until its text is needed.
INVALID = [
    # structure (AWS)
    ('{"int": 42}', '"int" must be an object or an array', 11),
    ('{"string": "my-value"}', '"string" must be an object or an array', 13),
    ('{"resources": []}', "Empty arrays are not allowed", 17),
    ('{"source": ["aws.health"], "detail": {}}', "Empty objects are not allowed", 40),
    ('["not", "a", "dict", "but valid json"]', "Filter is not an object", 2),
    ('{"my_key": [{"EXISTS": true}]}', "Unrecognized match type EXISTS", 28),
    ('{"detail": {"equal": [{"NUMERIC": ["=", 5]}]}}', "Unrecognized match type NUMERIC", 36),
    # not JSON (AWS)
    ("this is valid json but not a dict", "Unrecognized token 'this': was expecting (JSON String, Number, Array, "
                                          "Object or token 'null', 'true' or 'false')", 5),
    ("{'bad': 'quotation'}", "Unexpected character (''' (code 39)): was expecting double-quote to start field name",
     2),
    ('{"a": [[1]]}', "Match value must be String, number, true, false, or null", 9),
    ('{"a": [{}]}', "Match expression name not found", 10),
    ('{"a": [{"prefix": "x", "suffix": "y"}]}', "Only one key allowed in match expression", 35),
    # prefix / suffix / equals-ignore-case (AWS)
    ('{"time": [{"prefix": ["2022-07-13"]}]}', "prefix match pattern must be a string", 23),
    ('{"time": [{"prefix": 123}]}', "prefix match pattern must be a string", 25),
    ('{"FileName": [{"suffix": 123}]}', "suffix match pattern must be a string", 29),
    ('{"FileName": [{"suffix": [".png"]}]}', "suffix match pattern must be a string", 27),
    ('{"detail-type": [{"equals-ignore-case": ["ec2 instance state-change notification"]}]}',
     "equals-ignore-case match pattern must be a string", 42),
    ('{"detail-type": [{"equals-ignore-case": {"prefix": "ec2"}}]}',
     "equals-ignore-case match pattern must be a string", 42),
    ('{"a": [{"prefix": {"wildcard": "x"}}]}', "Unsupported prefix pattern: wildcard", 33),
    ('{"a": [{"suffix": {"equals-ignore-case": 1}}]}', "equals-ignore-case match pattern must be a string", 43),
    # anything-but (AWS)
    ('{"detail": {"state": [{"anything-but": {"equals-ignore-case": 123}}]}}',
     "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.", 66),
    ('{"detail": {"state": [{"anything-but": {"equals-ignore-case": [123, 456]}}]}}',
     "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.", -67),
    ('{"detail": {"FileName": [{"anything-but": {"suffix": [123, ".txt"]}}]}}',
     "prefix/suffix match pattern must be a string", -58),
    ('{"detail": {"FileName": [{"anything-but": {"suffix": 123}}]}}',
     "prefix/suffix match pattern must be a string", 57),
    ('{"detail": {"state": [{"anything-but": {"prefix": [123, "test"]}}]}}',
     "prefix/suffix match pattern must be a string", -55),
    ('{"detail": {"state": [{"anything-but": {"prefix": 123}}]}}', "prefix/suffix match pattern must be a string", 54),
    ('{"detail": {"FileName": [{"anything-but": {"prefix": {"equals-ignore-case": "file"}}}]}}',
     "Value of anything-but must be an array or single string/number value.", 55),
    ('{"detail": {"state": [{"anything-but": {"wildcard": [123, "*/dir/*"]}}]}}',
     "wildcard match pattern must be a string", -57),
    ('{"detail": {"FilePath": [{"anything-but": {"wildcard": 123}}]}}', "wildcard match pattern must be a string", 59),
    # anything-but (from AWS's rule compiler)
    ('{"a": [{"anything-but": null}]}', "Value of anything-but must be an array or single string/number value.", 29),
    ('{"a": [{"anything-but": ["x", 1]}]}',
     "Inside anything but list, either all values are number or string, mixed type is not supported", 33),
    ('{"a": [{"anything-but": [null]}]}', "Inside anything but list, start|null|boolean is not supported.", -30),
    ('{"a": [{"anything-but": {"exists": true}}]}', "Unsupported anything-but pattern: exists", 40),
    ('{"a": [{"anything-but": {"prefix": ""}}]}', "Null prefix/suffix not allowed", 38),
    ('{"a": [{"anything-but": "x", "b": 1}]}', "Too many elements in numeric expression", 36),
    # numeric (AWS, then AWS's rule compiler)
    ('{"detail": {"c-count": [{"numeric": [">", 0, ">", 0]}]}}', "Bad numeric range operator: >", 49),
    ('{"detail": {"c-count": [{"numeric": [">", 0, "<"]}]}}', "Value of < must be numeric", 50),
    ('{"a": [{"numeric": "> 5"}]}', "Value of numeric must be an array.", 21),
    ('{"a": [{"numeric": []}]}', "Invalid member in numeric match: ]", 22),
    ('{"a": [{"numeric": ["!=", 5]}]}', "Unrecognized numeric range operator: !=", 25),
    ('{"a": [{"numeric": ["<", 5, ">", 1]}]}', "Too many elements in numeric expression", 30),
    ('{"a": [{"numeric": [">", 5, "<", 5]}]}', "Bottom must be less than top", 36),
    ('{"a": [{"numeric": [">", 0, "<", 5, 6]}]}', "Too many terms in numeric range expression", 38),
    ('{"a": [{"numeric": [">", 0, 5]}]}', "Bad value in numeric range: 5", 30),
    ('{"a": [{"numeric": ["=", 6e9]}]}', "Value must be between -5.0E9 and 5.0E9, inclusive", 30),
    ('{"a": [{"numeric": ["=", "5"]}]}', "Value of = must be numeric", 27),
    # exists
    ('{"a": [{"exists": "yes"}]}', "exists match pattern must be either true or false.", 20),
    ('{"a": [{"exists": true, "b": 1}]}', "Only one key allowed in match expression", 31),
    # cidr (AWS: without a position)
    ('{"detail": {"ip": [{"cidr": "10.0.0.0"}]}}', "Malformed CIDR, one '/' required", None),
    ('{"detail": {"ip": [{"cidr": "10.0.0.0/x"}]}}', "Malformed CIDR, mask bits must be an integer", None),
    ('{"detail": {"ip": [{"cidr": "xx.11.xx/24"}]}}', "Nonstandard IP address: xx.11.xx", None),
    ('{"detail": {"ip": [{"cidr": "xxxx:db8:1234:1a00::/64"}]}}', "Nonstandard IP address: xxxx:db8:1234:1a00::",
     None),
    ('{"detail": {"ip": [{"cidr": "10.0.0.0/33"}]}}', "IPv4 mask bits must be < 32", None),
    ('{"detail": {"sourceIPAddress": [{"cidr": ["bad-type"]}]}}', "prefix match pattern must be a string", 43),
    # wildcard (AWS, then AWS's rule compiler)
    ('{"EventBusArn": [{"wildcard": 123}]}', "wildcard match pattern must be a string", 34),
    ('{"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:**:event-bus/*"}]}',
     "Consecutive wildcard characters at pos 26", 72),
    ('{"a": [{"wildcard": "a\\\\b"}]}', "Invalid escape character at pos 2", 27),
    # $or
    ('{"$or": {"a": ["b"]}}', "It must be an Array followed with $or.", 10),
    ('{"$or": [{"a": ["b"]}]}', "There must have at least 2 Objects in $or relationship.", 23),
    ('{"$or": [{"a": ["b"]}, ["c"]]}', "Only JSON object is allowed in array of $or relationship.", 25),
    ('{"$or": [{"a": ["b"]}, {"prefix": ["c"]}]}', "prefix is Ruler reserved fieldName which cannot be used inside $or.",
     36),
]  # fmt: skip


@pytest.mark.parametrize(("text", "reason", "column"), INVALID, ids=[row[1][:40] for row in INVALID])
def test_invalid_patterns_give_aws_reasons(text: str, reason: str, column: int | None) -> None:
    with pytest.raises(InvalidEventPattern) as caught:
        compile_pattern(text)
    at = "" if column is None else _at(text, abs(column)) * (2 if column < 0 else 1)
    assert caught.value.message == f"Event pattern is not valid. Reason: {reason}{at}"
    assert (caught.value.code, caught.value.status) == ("InvalidEventPatternException", 400)


def test_or_beyond_a_thousand_combinations_is_refused() -> None:
    alternatives = [{f"k{i}": [i]} for i in range(10)]
    nested = {"$or": alternatives, "detail": {"$or": alternatives, "x": {"$or": alternatives}}}
    compile_pattern(json.dumps(nested))  # 10 x 10 x 10: exactly the limit
    with pytest.raises(InvalidEventPattern, match="over 1000"):
        compile_pattern(json.dumps({**nested, "y": {"$or": alternatives[:2]}}))


def test_the_source_is_cut_after_500_characters_as_aws_shows_it() -> None:
    text = json.dumps({"detail": {f"field{i}": ["v"] for i in range(60)}, "bad": 1})
    with pytest.raises(InvalidEventPattern) as caught:
        compile_pattern(text)
    assert f'(String)"{text[:500]}"[truncated {len(text) - 500} chars]; line: 1, column:' in caught.value.message


def test_positions_count_lines() -> None:
    text = '{\n  "detail": {\n    "state": "running"\n  }\n}'
    with pytest.raises(InvalidEventPattern) as caught:
        compile_pattern(text)
    assert caught.value.message.endswith("; line: 3, column: 15]")


@pytest.mark.parametrize("text", ['{"a": ["b"]', '{"a": ["b",]}', '{"a" ["b"]}', '{"a": ["b"] "c": ["d"]}', "",
                                  '{"a": [01]}', '{"a": ["\\x"]}'])
def test_text_that_is_not_json(text: str) -> None:
    with pytest.raises(InvalidEventPattern, match="^Event pattern is not valid. Reason: "):
        compile_pattern(text)


def test_trailing_text_after_the_pattern_is_ignored_as_aws_does() -> None:
    assert compile_pattern('{"source": ["a"]} trailing').matches({"source": "a"})


def test_an_index_answers_what_testing_every_pattern_answers() -> None:
    texts = {
        "by-source": {"source": ["a", "b"]},
        "by-type": {"detail-type": ["t"], "detail": {"n": [{"numeric": [">", 1]}]}},
        "or-both-sources": {"$or": [{"source": ["a"]}, {"source": ["c"], "detail": {"x": [1]}}]},
        "or-different-fields": {"$or": [{"source": ["z"]}, {"detail-type": ["t"]}]},
        "prefix": {"source": [{"prefix": "a"}]},
        "numbers": {"source": [1]},
        "nothing-filed": {"detail": {"x": [1]}},
    }
    patterns = {name: compile_pattern(json.dumps(p)) for name, p in texts.items()}
    index = PatternIndex(patterns.items())
    assert len(index) == len(texts)
    events: list[dict[str, object]] = [
        {"source": "a", "detail-type": "t", "detail": {"n": 2, "x": 1}},
        {"source": "c", "detail": {"x": 1}},
        {"source": ["b", "z"], "detail-type": "t", "detail": {"n": 0}},
        {"source": 1, "detail": {"x": 2}},
        {"detail-type": "t", "detail": {"n": 5}},
        {},
    ]
    for event in events:
        expected = [name for name, p in patterns.items() if p.matches(event)]
        assert index.matching(event) == expected, event
    assert index.matching(events[0]) == ["by-source", "by-type", "or-both-sources", "or-different-fields", "prefix",
                                         "nothing-filed"]  # fmt: skip


def test_the_index_agrees_on_the_benchmarks_rules() -> None:
    rnd = random.Random(7)
    patterns = [(i, compile_pattern(json.dumps(matcher.rule(i, rnd)))) for i in range(300)]
    index = PatternIndex(patterns)
    matched = 0
    for _ in range(40):
        event = matcher.event(rnd)
        expected = [i for i, p in patterns if p.matches(event)]
        assert index.matching(event) == expected
        matched += len(expected)
    assert matched > 40  # the rules do match events


def test_deep_nesting() -> None:
    with pytest.raises(InvalidEventPattern, match="nesting depth"):
        compile_pattern('{"a": ' * 3000 + '["x"]' + "}" * 3000)
    deep: object = "x"
    for _ in range(5000):
        deep = [deep]
    assert compile_pattern('{"a": ["x"]}').matches({"a": deep})
    assert not compile_pattern('{"a": ["y"]}').matches({"a": [deep, [1, [2, {"b": 3}]]]})
    deep = {"b": 1}
    for _ in range(5000):
        deep = [deep]
    assert not compile_pattern('{"a": {"b": [1]}}').matches({"a": deep})


def test_wildcards_agree_with_a_reference_and_do_not_backtrack() -> None:
    import random
    import re

    from lamina.events.matchers import glob_matches, wildcard_parts

    rng = random.Random(7)
    for _ in range(3000):
        pattern = "".join(rng.choice("ab*") for _ in range(rng.randint(1, 7))).replace("**", "*")
        value = "".join(rng.choice("ab") for _ in range(rng.randint(0, 9)))
        reference = re.fullmatch("".join(".*" if c == "*" else re.escape(c) for c in pattern), value, re.DOTALL)
        assert glob_matches(wildcard_parts(pattern), value) is (reference is not None), (pattern, value)
    # Escaped stars and backslashes are literals.
    assert glob_matches(wildcard_parts("a\\*b*"), "a*bc") and not glob_matches(wildcard_parts("a\\*b*"), "axbc")
    assert glob_matches(wildcard_parts("a\\\\*"), "a\\zz")
    # A pattern a regular expression would backtrack on for hours, against a long value that fails:
    # decided in one pass (this test would not finish otherwise).
    pattern = compile_pattern(json.dumps({"a": [{"wildcard": "*a" * 40}],
                                          "b": [{"anything-but": {"wildcard": "*b" * 40}}]}))  # fmt: skip
    assert not pattern.matches({"a": "a" * 100_000 + "b", "b": "c"})
    assert pattern.matches({"a": "a" * 100_000, "b": "c" * 10})
