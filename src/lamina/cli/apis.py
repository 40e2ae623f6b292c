"""``lamina apis``: the HTTP APIs, their URLs and routes."""

from __future__ import annotations

from typing import Sequence

from lamina.cli.client import LambdaClient
from lamina.cli.output import Console, format_table
from lamina.cli.shapes import HttpApi, HttpApiRoute

HEADERS = ("API ID", "NAME", "URL", "ROUTES")


def api_rows(apis: Sequence[tuple[HttpApi, Sequence[HttpApiRoute]]]) -> list[list[str]]:
    rows = []
    for api, routes in sorted(apis, key=lambda pair: (pair[0].get("name", ""), pair[0].get("apiId", ""))):
        keys = sorted(route.get("routeKey", "") for route in routes)
        rows.append([api.get("apiId", "-"), api.get("name", "-"), api.get("apiEndpoint", "-"), ", ".join(keys) or "-"])
    return rows


def list_apis(client: LambdaClient, console: Console) -> None:
    apis = [(api, client.get_http_api_routes(api.get("apiId", ""))) for api in client.get_http_apis()]
    console.emit({"Apis": [{**api, "routes": list(routes)} for api, routes in apis]})
    if not apis:
        console.say("No HTTP APIs yet. Create one for a function with:")
        console.say("  aws apigatewayv2 create-api --name NAME --protocol-type HTTP --target FUNCTION_ARN "
                    "--endpoint-url http://127.0.0.1:9000")  # fmt: skip
        return
    console.say(format_table(HEADERS, api_rows(apis)))
