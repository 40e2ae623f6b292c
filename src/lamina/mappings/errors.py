"""The errors event source mappings add to Lamina's tree (``lamina.errors``)."""

from __future__ import annotations

from lamina.errors import ApiError, ResourceNotFound


class ResourceInUse(ApiError):
    """The mapping is changing (being deleted) and cannot take this operation now."""

    code = "ResourceInUseException"
    status = 400
    message_key = "Message"


def mapping_not_found() -> ResourceNotFound:
    return ResourceNotFound("The resource you requested does not exist.")
