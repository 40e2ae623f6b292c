"""The HTTP application: the Lambda API and Lamina's own endpoints, behind AWS-shaped errors."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Middleware

from lamina.api import aliases, event_config, functions, invoke, lamina, layers, policy, tags, urls, versions
from lamina.api import concurrency, events, http_apis, rest_apis, rest_authorizers, scheduler, tagging
from lamina.api import iot, mappings, object_events
from lamina.api import cloudwatch, code_signing, console, debug, function_options, live_tail, logs, metrics
from lamina.api import operator, runtimes, usage
from lamina.api.authentication import KEY_RING, authenticate
from lamina.api.authorization import authorization
from lamina.dataplane import permits
from lamina.dataplane.permits import Revocations
from lamina.api.context import CELLS, SERVICES, CellLookup, OneCell, Services, services
from lamina.api.errors import FUNCTION_ARN, MAX_REQUEST_BYTES, aws_errors
from lamina.api.execute_api import execute_api
from lamina.api.query import query_requests
from lamina.api.query import register as register_query
from lamina.api.url_serving import function_urls
from lamina.iam import api as iam_api
from lamina.metrics.exposition import Exposition
from lamina.objects.api import object_requests
from lamina.queues import api as sqs
from lamina.sts import api as sts_api
from lamina.stacks import api as stacks_api


def build_app(svc: Services, *, for_environments: bool = False, cells: CellLookup | None = None,
              exposition: Exposition | None = None, revocations: Revocations | None = None) -> web.Application:  # fmt: skip
    """The API as the operator sees it, or ``for_environments``: as execution environments see it on
    the listener inside their own network namespace. Both verify every request's signature and
    authorize it with IAM alike (a function's requests are its execution role's session); the
    environments' never accepts the development key pair, nor serves the object-events intake.
    ``svc``: the default cell's services; ``cells``: every cell, which each signed request picks
    its own from (api/cells.py; none: ``svc``'s cell alone); ``exposition``: the server's metrics,
    served at GET /metrics (api/metrics.py) by the operator's application only; ``revocations``:
    told once any request that may have written is handled (dataplane/permits.py)."""
    # Function URLs, API Gateway APIs and S3 first: their requests never reach the Lambda API
    # (api/url_serving.py, api/execute_api.py, objects/api.py).
    # Then every other request's signature is verified (api/authentication.py), and a verified
    # caller's request is decided by IAM before any service sees it (S3's too).
    middlewares: list[Middleware] = [function_urls, execute_api, authenticate, authorization, object_requests, aws_errors]
    if revocations is not None:
        middlewares.insert(2, permits.middleware(revocations))
    middlewares += [query_requests]  # IAM, STS and CloudWatch (query protocol: POST / with a form)
    app = web.Application(middlewares=middlewares, client_max_size=svc.max_request_bytes)
    app[SERVICES] = svc
    app[CELLS] = cells if cells is not None else OneCell(svc)
    # Inside environments' namespaces, never the development pair (identity/keys.py).
    app[KEY_RING] = svc.keys.for_environments() if for_environments else svc.keys
    app[MAX_REQUEST_BYTES] = svc.max_request_bytes
    app[FUNCTION_ARN] = lambda request: services(request).settings.function_arn
    app.add_routes(invoke.routes)  # first: the router tries resources in order, and Invoke is the hot path
    app.add_routes(functions.routes)
    app.add_routes(layers.routes)
    app.add_routes(tags.routes)
    app.add_routes(policy.routes)
    app.add_routes(event_config.routes)
    app.add_routes(urls.routes)
    app.add_routes(versions.routes)
    app.add_routes(aliases.routes)
    app.add_routes(concurrency.routes)
    app.add_routes(code_signing.routes)
    app.add_routes(function_options.routes)
    app.add_routes(scheduler.routes)
    app.add_routes(tagging.routes)  # /tags/{arn}: Scheduler's and REST APIs'
    app.add_routes(lamina.routes)
    app.add_routes(usage.routes)  # GET /lamina/v1/usage: the caller's account's
    if not for_environments:  # the host's interpreters and every account's metrics are no function's business
        app.add_routes(runtimes.routes)  # GET /lamina/v1/runtimes
        app.add_routes(debug.routes)  # /lamina/v1/functions/{name}/debug: lamina dev --debug's sessions
        if exposition is not None:
            app[metrics.EXPOSITION] = exposition
            app.add_routes(metrics.routes)
        console.register(app)  # /console/: the web console (console/, docs/console.md)
        app.add_routes(operator.routes)  # /console/api/: every cell's overview, usage and stats
    app.add_routes(rest_apis.routes)
    app.add_routes(rest_authorizers.routes)
    app.add_routes(http_apis.routes)
    app.add_routes(mappings.routes)
    app.add_routes(iot.routes)  # /rules/...: AWS IoT's topic rules
    # Other object stores' notifications (objects/intake.py): never from an environment.
    app.add_routes(object_events.from_environments if for_environments else object_events.routes)
    events.register(app)  # json-1.1: POST / by X-Amz-Target (api/awsjson.py)
    logs.register(app)  # json-1.1 too: CloudWatch Logs' reads of functions' logs
    live_tail.register(app)  # and its StartLiveTail, whose answer is an event stream
    cloudwatch.register(app)  # CloudWatch's metrics: RPC v2 CBOR (/service/...), json-1.0 and query
    sqs.register(app)  # json-1.0, the same way: SQS (queues/api.py)
    register_query(app, iam_api.SERVICE)  # query protocol (api/query.py): IAM
    register_query(app, sts_api.SERVICE)  # and STS
    register_query(app, stacks_api.SERVICE)  # and CloudFormation (stacks/api.py)
    # Last, every path: a request no route above takes is the Lambda API's UnknownOperation
    # (aws_errors), as before. A route rather than the router's own miss, which builds an
    # HTTPNotFound for each request of a function URL or execute-api address, though their
    # middlewares answer those before any route runs.
    app.router.add_route("*", "/{path:.*}", _unknown_operation)
    return app


async def _unknown_operation(request: web.Request) -> web.StreamResponse:
    raise web.HTTPNotFound()
