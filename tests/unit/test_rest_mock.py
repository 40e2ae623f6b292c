"""MOCK integrations' answers (gateway/rest/mock.py): templates, passthrough, selection, hostile configurations."""

from __future__ import annotations

import json
from typing import Any

from lamina.gateway.rest.mock import MockRequest, answer


def request(content_type: str | None = None, body: bytes = b"", accept: str | None = None, **headers: str) -> MockRequest:
    return MockRequest(content_type, accept, body, {k.lower(): v for k, v in headers.items()}, {"q": "1"}, {"id": "7"})


def responses(**by_status: dict[str, Any]) -> dict[str, Any]:
    return {"integrationResponses": {status.removeprefix("s"): {"statusCode": status.removeprefix("s"), **doc}
                                     for status, doc in by_status.items()}}  # fmt: skip


def test_the_request_template_picks_the_status_and_a_pattern_the_response() -> None:
    mock = {"requestTemplates": {"application/json": '{"statusCode": "503"}'},
            **responses(s200={"responseTemplates": {"application/json": "ok"}},
                        s503={"selectionPattern": "5\\d{2}", "responseTemplates": {"text/plain": "down", "application/json": "{}"}})}  # fmt: skip
    got = answer(mock, request(accept="text/plain"))
    assert (got.status, got.body, dict(got.headers)["Content-Type"]) == (503, b"down", "text/plain")
    got = answer(mock, request())
    assert (got.status, got.body) == (503, b"{}")


def test_the_default_response_and_parameters() -> None:
    mock = {"requestTemplates": {"application/json": '{"statusCode": 200}'},
            **responses(s200={"responseParameters": {
                "method.response.header.A": "'literal'", "method.response.header.B": "method.request.header.x-b",
                "method.response.header.C": "method.request.querystring.q", "method.response.header.D": "method.request.path.id",
                "method.response.header.E": "integration.response.header.e", "method.response.header.F": "'a\nb'",
                "method.response.header.": "'empty'", "method.request.header.G": "'not a response'"}})}  # fmt: skip
    got = answer(mock, MockRequest(None, None, b"", {"x-b": "bee"}, {"q": "1"}, {"id": "7"}))
    assert got.status == 200 and got.body == b""
    assert dict(got.headers) == {"Content-Type": "application/json", "A": "literal", "B": "bee", "C": "1", "D": "7"}


def test_passthrough_behaviors() -> None:
    templated = {"requestTemplates": {"application/json": '{"statusCode": 200}'}, **responses(s200={}, s201={"selectionPattern": "201"})}
    assert answer(templated, request("text/plain", b'{"statusCode": 201}')).status == 201  # WHEN_NO_MATCH: passed through
    assert answer({**templated, "passthroughBehavior": "NEVER"}, request("text/plain")).status == 415
    assert answer({**templated, "passthroughBehavior": "WHEN_NO_TEMPLATES"}, request("text/plain")).status == 415
    bare = {"passthroughBehavior": "WHEN_NO_TEMPLATES", **responses(s200={})}
    assert answer(bare, request("text/plain")).status == 200


def test_what_cannot_be_answered_is_500() -> None:
    ok = responses(s200={})
    for mock in (
        {},  # no integration responses
        {"requestTemplates": {"application/json": "#set($x = 1) {\"statusCode\": 200}"}, **ok},  # Velocity: not evaluated
        {"requestTemplates": {"application/json": '{"statusCode": 99}'}, **ok},
        {"requestTemplates": {"application/json": '{"statusCode": true}'}, **ok},
        {"requestTemplates": {"application/json": '[1, 2]'}, **ok},
        {"requestTemplates": {"application/json": '{"statusCode": 404}'}, **responses(s200={"selectionPattern": "2.."})},
        {"integrationResponses": {"x": {"statusCode": "abc"}}},
        {"integrationResponses": "not a map"},
        {"requestTemplates": {"application/json": '{"statusCode": 200}'}, **responses(s200={"selectionPattern": "("}, s201={"selectionPattern": "x" * 5000})},
    ):  # fmt: skip
        got = answer(mock, request())
        assert got.status == 500 and json.loads(got.body) == {"message": "Internal server error"}, mock
