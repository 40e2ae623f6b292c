"""Put/GetBucketNotificationConfiguration, as the object store's API serves them (objects/api.py)."""

from __future__ import annotations

from aiohttp import web

from lamina.api.context import services
from lamina.objects import wire
from lamina.objects.call import Call
from lamina.objects.notifications.service import NotificationConfigs
from lamina.objects.receive import read_small
from lamina.objects.xmlio import MAX_BODY


def _configs(call: Call) -> NotificationConfigs:
    configs = services(call.request).notifications
    assert configs is not None  # the server builds them with the object store
    call.objects.bucket(call.bucket)  # NoSuchBucket first, as S3 answers
    return configs


async def put_configuration(call: Call) -> web.StreamResponse:
    configs = _configs(call)
    body = await read_small(call.request, MAX_BODY, call.settings.body_timeout_seconds)
    skip = call.headers.get("x-amz-skip-destination-validation", "").lower() == "true"
    await configs.put(call.bucket, body, skip_destination_validation=skip)
    return wire.empty(call.request_id)


async def get_configuration(call: Call) -> web.StreamResponse:
    document = _configs(call).get(call.bucket)
    return web.Response(body=document, content_type="application/xml", headers=wire.base_headers(call.request_id))
