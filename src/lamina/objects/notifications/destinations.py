"""The destinations this server has, as ``validation.Destinations`` asks for them: a function ARN of
this region and account naming a function (and its version or alias) that exists; a queue ARN
naming one of the embedded queues that is not FIFO (S3 does not send to FIFO queues), whose policy
lets ``s3.amazonaws.com`` send for the bucket (in the development mode: logged and allowed)."""

from __future__ import annotations

from typing import Protocol

from lamina.control.targets import parse_function_arn
from lamina.objects.notifications.validation import Destinations
from lamina.queues.service import Queues
from lamina.settings import Settings


class Functions(Protocol):
    """What is asked of ``control.targets.Targets``: the function (and qualifier) if it exists."""

    def find(self, name: str, qualifier: str | None) -> object | None: ...


def local(functions: Functions, queues: Queues, settings: Settings) -> Destinations:
    def function(arn: str) -> bool:
        parts = parse_function_arn(arn)
        return parts is not None and parts.is_local(settings) and functions.find(parts.name, parts.qualifier) is not None

    def queue(arn: str) -> bool:
        found = queues.by_arn(arn)
        return found is not None and not found.fifo

    def sender(arn: str, bucket_arn: str) -> bool:
        return queues.service_may_send(arn, "s3.amazonaws.com", bucket_arn)

    return Destinations(function, queue, sender)
