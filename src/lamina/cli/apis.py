"""``lamina apis``: the API Gateway APIs, HTTP and REST, with their URLs (and HTTP APIs' routes).

An HTTP API's URL is its ``apiEndpoint`` (its ``$default`` stage at the root); a REST API is
served per stage, at ``http://<api-id>.execute-api.localhost:<port>/<stage>/`` (the REST data
plane, ``lamina.gateway.rest.serving``), so it has a row for each stage, and one without a URL
until it is deployed to a stage.
"""

from __future__ import annotations

from typing import Sequence
from urllib.parse import urlsplit

from lamina.cli.client import LambdaClient
from lamina.cli.output import Console, format_table
from lamina.cli.shapes import HttpApi, HttpApiRoute, RestApi, RestStage
from lamina.gateway.addresses import api_endpoint

HEADERS = ("KIND", "API ID", "NAME", "URL", "ROUTES")


def api_rows(apis: Sequence[tuple[HttpApi, Sequence[HttpApiRoute]]]) -> list[list[str]]:
    """HTTP APIs' rows, by name."""
    rows = []
    for api, routes in sorted(apis, key=lambda pair: (pair[0].get("name", ""), pair[0].get("apiId", ""))):
        keys = sorted(route.get("routeKey", "") for route in routes)
        rows.append(["HTTP", api.get("apiId", "-"), api.get("name", "-"), api.get("apiEndpoint", "-"),
                     ", ".join(keys) or "-"])  # fmt: skip
    return rows


def rest_url(api_id: str, stage: str, port: int) -> str:
    """Where the REST data plane serves a stage of a REST API."""
    return f"{api_endpoint(api_id, port)}/{stage}/"


def rest_rows(apis: Sequence[tuple[RestApi, Sequence[RestStage]]], port: int) -> list[list[str]]:
    """REST APIs' rows, by name: one a stage, by stage name; ``-`` for an API with no stage."""
    rows: list[list[str]] = []
    for api, stages in sorted(apis, key=lambda pair: (pair[0].get("name", ""), pair[0].get("id", ""))):
        api_id, name = api.get("id", "-"), api.get("name", "-")
        urls = [rest_url(api_id, stage, port) for stage in sorted(s.get("stageName", "") for s in stages)]
        rows.extend(["REST", api_id, name, url, "-"] for url in urls or ["-"])
    return rows


def _port(endpoint: str) -> int:
    parts = urlsplit(endpoint)
    return parts.port or (443 if parts.scheme == "https" else 80)


def list_apis(client: LambdaClient, console: Console) -> None:
    port = _port(client.endpoint)
    http = [(api, client.get_http_api_routes(api.get("apiId", ""))) for api in client.get_http_apis()]
    rest = [(api, client.get_rest_api_stages(api.get("id", ""))) for api in client.get_rest_apis()]
    console.emit({
        "Apis": [{**api, "routes": list(routes)} for api, routes in http],
        "RestApis": [{**api, "stages": [{**s, "url": rest_url(api.get("id", ""), s.get("stageName", ""), port)}
                                        for s in stages]} for api, stages in rest],
    })  # fmt: skip
    if not http and not rest:
        console.say("No APIs yet. Create an HTTP API for a function with:")
        console.say(f"  {client.aws_prefix()} apigatewayv2 create-api --name NAME --protocol-type HTTP "
                    "--target FUNCTION_ARN")  # fmt: skip
        return
    console.say(format_table(HEADERS, api_rows(http) + rest_rows(rest, port)))
