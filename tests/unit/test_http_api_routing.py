"""HTTP API route keys, route selection and stage resolution, as API Gateway decides them."""

from __future__ import annotations

import pytest

from lamina.gateway.http.routing import InvalidRouteKey, Match, parse_route_key, resolve_stage, select


def _select(keys: list[str], method: str, path: str) -> Match | None:
    return select([parse_route_key(k) for k in keys], method, path)


@pytest.mark.parametrize("key", ["$default", "GET /", "ANY /pets", "GET /pets/{id}", "POST /pets/{id}/toys/{proxy+}",
                                 "DELETE /{proxy+}", "PATCH /a.b/c-d_e~f", "HEAD /x", "OPTIONS /y"])
def test_valid_route_keys(key: str) -> None:
    assert parse_route_key(key).key == key


@pytest.mark.parametrize("key", ["", "GET", "get /pets", "FETCH /pets", "GET pets", "GET /pets/{proxy+}/more",
                                 "GET /pets//x", "GET /pets/{id}/{id}", "GET /pets/{}", "GET /a b", "$DEFAULT",
                                 "GET /pets/a{id}"])
def test_invalid_route_keys(key: str) -> None:
    with pytest.raises(InvalidRouteKey):
        parse_route_key(key)


ROUTES = ["GET /pets/dog/1", "GET /pets/dog/{id}", "GET /pets/{proxy+}", "ANY /{proxy+}", "$default",
          "ANY /pets/dog/1", "POST /pets"]


@pytest.mark.parametrize(("method", "path", "key", "params"), [
    ("GET", "/pets/dog/1", "GET /pets/dog/1", {}),  # exact beats {param} and greedy; the method beats ANY
    ("PUT", "/pets/dog/1", "ANY /pets/dog/1", {}),  # the exact path of ANY beats GET's {param}
    ("GET", "/pets/dog/2", "GET /pets/dog/{id}", {"id": "2"}),
    ("GET", "/pets/cat/2", "GET /pets/{proxy+}", {"proxy": "cat/2"}),
    ("GET", "/pets/dog", "GET /pets/{proxy+}", {"proxy": "dog"}),
    ("DELETE", "/pets/dog/2", "ANY /{proxy+}", {"proxy": "pets/dog/2"}),
    ("POST", "/pets", "POST /pets", {}),
    ("GET", "/pets", "ANY /{proxy+}", {"proxy": "pets"}),
    ("GET", "/", "$default", {}),  # a greedy variable needs one segment at least
])
def test_most_specific_route_wins(method: str, path: str, key: str, params: dict[str, str]) -> None:
    assert _select(ROUTES, method, path) == Match(key, params)


def test_order_of_routes_does_not_matter() -> None:
    for keys in (ROUTES, list(reversed(ROUTES))):
        assert _select(keys, "GET", "/pets/dog/2") == Match("GET /pets/dog/{id}", {"id": "2"})


def test_no_route_and_no_default_is_none() -> None:
    assert _select(["GET /pets"], "POST", "/pets") is None
    assert _select(["GET /pets"], "GET", "/pets/1") is None
    assert _select([], "GET", "/") is None


def test_literals_beat_parameters_segment_by_segment() -> None:
    keys = ["GET /{a}/b", "GET /a/{b}"]
    assert _select(keys, "GET", "/a/b") == Match("GET /a/{b}", {"b": "b"})


def test_parameters_are_decoded_and_encoded_slashes_stay_in_their_segment() -> None:
    assert _select(["GET /files/{name}"], "GET", "/files/a%2Fb") == Match("GET /files/{name}", {"name": "a/b"})
    assert _select(["GET /files/{name}"], "GET", "/files/a%20b") == Match("GET /files/{name}", {"name": "a b"})
    assert _select(["GET /files/{name}"], "GET", "/files/a/b") is None


def test_hostile_paths_are_only_segments() -> None:
    keys = ["GET /public/{file}", "GET /secret"]
    assert _select(keys, "GET", "/public/..") == Match("GET /public/{file}", {"file": ".."})
    assert _select(keys, "GET", "/public/../secret") is None
    assert _select(keys, "GET", "/public/%2e%2e%2fsecret") == Match("GET /public/{file}", {"file": "../secret"})
    long = "/public/" + "a" * 100_000
    assert _select(keys, "GET", long) == Match("GET /public/{file}", {"file": "a" * 100_000})


def test_empty_segments_do_not_fill_parameters() -> None:
    assert _select(["GET /pets/{id}"], "GET", "/pets/") is None
    assert _select(["GET /pets/{proxy+}"], "GET", "/pets/") is None


def test_method_is_case_insensitive_for_requests() -> None:
    assert _select(["GET /x"], "get", "/x") == Match("GET /x", {})


def test_resource_of_a_route_key() -> None:
    assert parse_route_key("GET /pets/{id}").resource == "/pets/{id}"
    assert parse_route_key("$default").resource == "$default"


@pytest.mark.parametrize(("stages", "path", "expected"), [
    (["$default"], "/pets", ("$default", "/pets")),
    (["$default"], "/", ("$default", "/")),
    (["$default", "prod"], "/prod/pets", ("prod", "/pets")),
    (["$default", "prod"], "/prod", ("prod", "/")),
    (["$default", "prod"], "/production/pets", ("$default", "/production/pets")),
    (["prod"], "/pets", None),
    (["prod"], "/prod/", ("prod", "/")),
    ([], "/", None),
])
def test_resolve_stage(stages: list[str], path: str, expected: tuple[str, str] | None) -> None:
    assert resolve_stage(stages, path) == expected
