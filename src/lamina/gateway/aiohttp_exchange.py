"""``gateway.exchange`` for the connections aiohttp owns: an aiohttp request as an ``ApiRequest``,
an ``ApiAnswer`` as the ``web.Response`` written for it, and the early answers sent meanwhile."""

from __future__ import annotations

import asyncio

from aiohttp import web

from lamina.api.authentication import KEY_RING
from lamina.api.context import read_body
from lamina.errors import RequestTooLarge
from lamina.gateway.exchange import ApiAnswer, ApiRequest, PlainEndpoints


class AiohttpExchange:
    """Serves aiohttp's requests with a ``PlainEndpoints``; owns the tasks writing early answers."""

    def __init__(self, endpoints: PlainEndpoints) -> None:
        self._endpoints = endpoints
        self._early: set[asyncio.Task[web.Response]] = set()

    async def serve(self, request: web.Request, api_id: str, path: str) -> web.StreamResponse:
        sent: list[asyncio.Task[web.Response]] = []

        def early(answer: ApiAnswer) -> None:
            # Written from a task of its own, while the serving code goes on waiting.
            task = asyncio.create_task(_send(request, response(answer)), name=f"{api_id}-early-answer")
            self._early.add(task)
            task.add_done_callback(self._early.discard)
            sent.append(task)

        answer = await self._endpoints.answer(plain(request), api_id, path, early)
        if sent:
            return await sent[0]
        return response(answer)


def plain(request: web.Request) -> ApiRequest:
    sockname = request.transport.get_extra_info("sockname") if request.transport else None

    async def read() -> bytes:
        try:
            return await read_body(request)
        except web.HTTPRequestEntityTooLarge:
            raise RequestTooLarge("Request must be smaller than the server's limit.") from None

    return ApiRequest(
        method=request.method, raw_query=request.rel_url.raw_query_string, headers=request.headers,
        remote=request.remote or "", protocol=f"HTTP/{request.version.major}.{request.version.minor}",
        local_port=int(sockname[1]) if sockname else None, content_length=request.content_length, read=read,
        ring=request.app.get(KEY_RING), secure=request.secure,
    )  # fmt: skip


def response(answer: ApiAnswer) -> web.Response:
    written = web.Response(status=answer.status, body=answer.body)  # its headers: a new CIMultiDict
    written.headers.extend(answer.headers)
    if answer.close:
        written.force_close()
    return written


async def _send(request: web.Request, answer: web.Response) -> web.Response:
    await answer.prepare(request)
    await answer.write_eof()
    return answer
