"""DestinationConfig.OnFailure of the mappings that send descriptions of failed batches somewhere
(Kafka, table streams): the one check, each kind naming the services it can send to."""

from __future__ import annotations

from lamina.errors import InvalidParameterValue


def destination(config: object, *, services: tuple[str, ...], refusal: str) -> str | None:
    """The OnFailure destination's ARN ('' or absent: none). ``refusal`` is the message for an ARN
    of another service, with ``{destination}`` where it goes."""
    if config is None:
        return None
    if not isinstance(config, dict):
        raise InvalidParameterValue("DestinationConfig must be an object")
    if config.get("OnSuccess"):
        raise InvalidParameterValue("Unsupported DestinationConfig parameter for given event source mapping type.")
    failure = config.get("OnFailure") or {}
    found = failure.get("Destination") if isinstance(failure, dict) else None
    if not found:
        return None
    service = found.split(":")[2] if isinstance(found, str) and found.count(":") >= 5 else ""
    if not isinstance(found, str) or not found.startswith("arn:") or service not in services:
        raise InvalidParameterValue(refusal.format(destination=found))
    return found
