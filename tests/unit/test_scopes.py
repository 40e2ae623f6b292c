"""Which service a request's signature must be scoped to (api/scopes.py), request by request,
odd ones included."""

from __future__ import annotations

import pytest

from lamina.api.scopes import service_of

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


@pytest.mark.parametrize(("method", "path", "query", "headers", "body", "service"), [
    ("POST", "/2015-03-31/functions/f/invocations", "", {}, b"{}", "lambda"),
    ("GET", "/2018-10-31/layers", "", {}, b"", "lambda"),
    ("GET", "/2017-03-31/tags/arn:aws:lambda:us-east-1:1:function:f", "", {}, b"", "lambda"),
    ("GET", "/lamina/v1/functions/f/logs", "since=0", {}, b"", "lambda"),
    ("GET", "/schedules", "", {}, b"", "scheduler"),
    ("POST", "/schedule-groups/g", "", {}, b"{}", "scheduler"),
    ("GET", "/rules", "", {}, b"", "iot"),
    ("GET", "/restapis/abc/resources", "", {}, b"", "apigateway"),
    ("GET", "/v2/apis", "", {}, b"", "apigateway"),
    ("GET", "/tags/arn:aws:scheduler:us-east-1:1:schedule/default/s", "", {}, b"", "scheduler"),
    ("GET", "/tags/arn:aws:apigateway:us-east-1::/restapis/abc", "", {}, b"", "apigateway"),
    ("POST", "/service/GraniteServiceVersion20100801/operation/ListMetrics", "", {}, b"", "monitoring"),
    ("POST", "/", "", {"X-Amz-Target": "AWSEvents.ListEventBuses"}, b"{}", "events"),
    ("POST", "/", "", {"X-Amz-Target": "AmazonSQS.ListQueues"}, b"{}", "sqs"),
    ("POST", "/111111111111/q", "", {"X-Amz-Target": "AmazonSQS.SendMessage"}, b"{}", "sqs"),
    ("POST", "/", "", {"X-Amz-Target": "Logs_20140328.DescribeLogGroups"}, b"{}", "logs"),
    ("POST", "/", "", {"X-Amz-Target": "GraniteServiceVersion20100801.ListMetrics"}, b"{}", "monitoring"),
    ("POST", "/", "", FORM, b"Action=GetCallerIdentity&Version=2011-06-15", "sts"),
    ("POST", "/", "", FORM, b"Action=ListUsers&Version=2010-05-08", "iam"),
    ("POST", "/", "", FORM, b"Action=ListMetrics&Version=2010-08-01", "monitoring"),
    ("POST", "/", "", FORM, b"Action=ListStacks&Version=2010-05-15", "cloudformation"),
    ("POST", "/", "", FORM, b"Version=2011-06-15&Action=X&Version=2010-05-08", "iam"),  # the last, as it is read
    ("POST", "/", "", {**FORM, "Host": "sts.localhost:9000"}, b"Action=GetCallerIdentity", "sts"),
    ("GET", "/", "Action=ListUsers&Version=2010-05-08", {}, b"", "iam"),
])  # fmt: skip
def test_each_api_names_its_service(method: str, path: str, query: str, headers: dict[str, str], body: bytes,
                                    service: str) -> None:  # fmt: skip
    assert service_of(method, path, query, headers, body) == service


@pytest.mark.parametrize(("method", "path", "query", "headers", "body"), [
    ("GET", "/nowhere", "", {}, b""),  # answered as an unknown operation
    ("POST", "/", "", {"X-Amz-Target": "Nobody_20200101.Thing"}, b"{}"),
    ("POST", "/", "", {"X-Amz-Target": ""}, b"{}"),
    ("POST", "/", "", FORM, b"Action=X&Version=1999-01-01"),
    ("POST", "/", "", FORM, b"Action=X"),
    ("POST", "/", "", {}, b"Action=X&Version=2011-06-15"),  # not a form: its body is not read
    ("GET", "/tags/arn:aws:lambda:us-east-1:1:function:f", "", {}, b""),  # not a tag path Lambda serves
    ("GET", "/tags/not-an-arn", "", {}, b""),
    ("GET", "/tags/arn:aws:" + "x" * 5000 + ":", "", {}, b""),
    ("GET", "/2015-3-31/functions", "", {}, b""),
    ("GET", "//2015-03-31/functions", "", {}, b""),
])  # fmt: skip
def test_a_request_no_api_of_lamina_is_is_held_to_none(method: str, path: str, query: str, headers: dict[str, str],
                                                       body: bytes) -> None:  # fmt: skip
    assert service_of(method, path, query, headers, body) is None


def test_a_large_form_is_read_for_its_version_alone() -> None:
    body = b"Action=PutMetricData&" + b"&".join(b"MetricData.member.%d.MetricName=m" % n for n in range(50_000))
    assert service_of("POST", "/", "", FORM, body + b"&Version=2010-08-01") == "monitoring"
    assert service_of("POST", "/", "", FORM, body + b"&Version=" + b"%" * 100_000) is None
