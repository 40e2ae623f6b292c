"""Lambda API: tags (TagResource, UntagResource, ListTags) on functions, by ARN."""

from __future__ import annotations

from aiohttp import web

from lamina.api.context import json_body, json_response, services

routes = web.RouteTableDef()
# A resource ARN, percent-encoded by clients; ``.+`` so that a malformed one (with a "/") is refused
# with a ValidationException rather than as an unknown operation.
TAGS = "/2017-03-31/tags/{Resource:.+}"


@routes.post(TAGS)
async def tag_resource(request: web.Request) -> web.Response:
    body = await json_body(request)
    await services(request).tags.tag(request.match_info["Resource"], body.get("Tags"))
    return web.Response(status=204)


@routes.delete(TAGS)
async def untag_resource(request: web.Request) -> web.Response:
    await services(request).tags.untag(request.match_info["Resource"], request.query.getall("tagKeys", []))
    return web.Response(status=204)


@routes.get(TAGS)
async def list_tags(request: web.Request) -> web.Response:
    return json_response({"Tags": await services(request).tags.list_tags(request.match_info["Resource"])})
