"""AWS::S3::Bucket's NotificationConfiguration as the XML body PutBucketNotificationConfiguration
takes (pure): CloudFormation's lists (LambdaConfigurations, QueueConfigurations,
TopicConfigurations) become S3's flattened elements, EventBridgeConfiguration its empty element.
What S3 refuses in it (an unknown event, a destination without permission) is refused by the
notification service's own checks, with S3's messages."""

from __future__ import annotations

from typing import Any, Mapping
from xml.sax.saxutils import escape

from lamina.stacks.errors import ResourceFailed

# CloudFormation's list -> (S3's element, the element naming its destination, CloudFormation's member for it)
_KINDS = (("LambdaConfigurations", "CloudFunctionConfiguration", "CloudFunction", "Function"),
          ("QueueConfigurations", "QueueConfiguration", "Queue", "Queue"),
          ("TopicConfigurations", "TopicConfiguration", "Topic", "Topic"))  # fmt: skip


def _element(name: str, value: Any) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ResourceFailed(f"Property validation failure: [Value of property {{{name}}} does not match type "
                             f"{{String}}]")  # fmt: skip
    return f"<{name}>{escape(str(value))}</{name}>"


def _filter(spec: Any) -> str:
    if spec is None:
        return ""
    rules = spec.get("S3Key", {}).get("Rules") if isinstance(spec, dict) and isinstance(spec.get("S3Key"), dict) \
        else None
    if not isinstance(rules, list):
        raise ResourceFailed("Property validation failure: [The property {/Filter/S3Key/Rules} must be an array]")
    inner = "".join(f"<FilterRule>{_element('Name', r.get('Name'))}{_element('Value', r.get('Value'))}</FilterRule>"
                    for r in rules if isinstance(r, dict))  # fmt: skip
    return f"<Filter><S3Key>{inner}</S3Key></Filter>"


def notification_xml(config: Mapping[str, Any]) -> bytes:
    if not isinstance(config, dict):
        raise ResourceFailed("Property validation failure: [Value of property {/NotificationConfiguration} does "
                             "not match type {Object}]")  # fmt: skip
    parts: list[str] = []
    for listed, element, destination, member in _KINDS:
        entries = config.get(listed) or []
        if not isinstance(entries, list):
            raise ResourceFailed(f"Property validation failure: [Value of property {{/{listed}}} does not match "
                                 f"type {{Array}}]")  # fmt: skip
        for entry in entries:
            if not isinstance(entry, dict):
                raise ResourceFailed(f"Property validation failure: [Each of {{/{listed}}} must be an object]")
            parts.append(f"<{element}>{_element(destination, entry.get(member))}{_element('Event', entry.get('Event'))}"
                         f"{_filter(entry.get('Filter'))}</{element}>")  # fmt: skip
    bridge = config.get("EventBridgeConfiguration")
    if isinstance(bridge, dict) and str(bridge.get("EventBridgeEnabled", "true")).lower() == "true":
        parts.append("<EventBridgeConfiguration/>")
    return ("<NotificationConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" + "".join(parts) +
            "</NotificationConfiguration>").encode()  # fmt: skip
