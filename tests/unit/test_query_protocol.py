"""AWS's query protocol (IAM, STS): which requests are its, members as botocore flattens them, XML."""

from __future__ import annotations

from datetime import datetime, timezone

from lamina.api.query import Params, QueryService, render, answer, error, service_of
from lamina.iam.errors import NoSuchEntity


def signed(service: str) -> dict[str, str]:
    return {"Authorization": f"AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, "
                             "SignedHeaders=host;x-amz-date, Signature=abc"}  # fmt: skip


def test_which_requests_are_iams_or_stss() -> None:
    assert service_of("POST", "/", signed("iam")) == "iam"
    assert service_of("POST", "/", signed("sts")) == "sts"
    assert service_of("POST", "/", signed("sqs")) is None
    assert service_of("POST", "/", {**signed("iam"), "X-Amz-Target": "AmazonSQS.ListQueues"}) is None
    assert service_of("GET", "/", signed("iam")) is None
    assert service_of("POST", "/2015-03-31/functions", signed("iam")) is None
    assert service_of("POST", "/", {"Host": "iam.amazonaws.com"}) == "iam"
    assert service_of("POST", "/", {"Host": "sts.localhost:9000"}) == "sts"
    assert service_of("POST", "/", {"Host": "127.0.0.1:9000"}) is None  # the body's Version decides


def test_members_as_botocore_flattens_them() -> None:
    params = Params({"Action": "CreateRole", "Tags.member.2.Key": "b", "Tags.member.2.Value": "2",
                     "Tags.member.1.Key": "a", "Tags.member.1.Value": "1", "TagKeys.member.1": "x",
                     "TagKeys.member.10": "z", "TagKeys.member.2": "y"})  # fmt: skip
    assert params.tags() == [("a", "1"), ("b", "2")]
    assert params.strings("TagKeys") == ["x", "y", "z"]
    assert params.get("Missing") is None


def test_xml_answers_and_errors() -> None:
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert render({"A": "x<y", "B": True, "C": 3, "D": created, "E": None, "L": ["p", {"K": "v"}]}) == (
        "<A>x&lt;y</A><B>true</B><C>3</C><D>2026-01-02T03:04:05Z</D><L><member>p</member>"
        "<member><K>v</K></member></L>")
    service = QueryService("iam", "2010-05-08", "https://iam.amazonaws.com/doc/2010-05-08/", {})
    ok = answer(service, "GetRole", {"Role": {"RoleName": "r"}}, "req-1")
    assert ok.body == (b'<?xml version="1.0" encoding="UTF-8"?>\n<GetRoleResponse xmlns="https://iam.amazonaws.com/'
                       b'doc/2010-05-08/"><GetRoleResult><Role><RoleName>r</RoleName></Role></GetRoleResult>'
                       b"<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></GetRoleResponse>")  # fmt: skip
    empty = answer(service, "DeleteRole", None, "req-2")
    assert isinstance(empty.body, bytes) and b"DeleteRoleResult" not in empty.body
    failed = error(NoSuchEntity("The role with name r cannot be found."), "req-3")
    assert failed.status == 404
    assert failed.body == (b'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>Sender</Type>'
                           b"<Code>NoSuchEntity</Code><Message>The role with name r cannot be found.</Message></Error>"
                           b"<RequestId>req-3</RequestId></ErrorResponse>")  # fmt: skip
