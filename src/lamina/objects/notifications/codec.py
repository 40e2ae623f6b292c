"""PutBucketNotificationConfiguration's XML body read into values, and GetBucketNotificationConfiguration's
answer written from them, as botocore's model shapes both (``NotificationConfiguration``; the lists
are flattened: one <Event>, one <FilterRule> per member).

Reading is structural only: a body that is not XML, holds a DTD or entities (parsed by defusedxml,
which refuses them: no entity is ever expanded), or does not follow the schema is ``MalformedXML``.
What the values mean (event types, filter rules, overlaps, destinations) is ``validation``'s.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeTree
from defusedxml import DefusedXmlException

from lamina.objects.errors import MalformedXML
from lamina.objects.notifications.model import KIND_ORDER, Configuration, Kind, Notifications

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
MALFORMED = "The XML you provided was not well-formed or did not validate against our published schema"
_KINDS = {kind.element: kind for kind in Kind}


def parse(body: bytes) -> Notifications:
    """The configuration ``body`` holds, ids as given ("" where none was), filter rule names as given."""
    try:
        root = SafeTree.fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError):  # not XML; a DTD, entities, external references
        raise MalformedXML(MALFORMED) from None
    if _local(root) != "NotificationConfiguration" or (root.text or "").strip():
        raise MalformedXML(MALFORMED)
    configurations: list[Configuration] = []
    eventbridge = False
    for child in root:
        name = _local(child)
        if name == "EventBridgeConfiguration" and not eventbridge and len(child) == 0:
            eventbridge = True
        elif name in _KINDS:
            configurations.append(_configuration(_KINDS[name], child))
        else:
            raise MalformedXML(MALFORMED)
    ordered = sorted(configurations, key=lambda c: KIND_ORDER.index(c.kind))  # stable: the order given within a kind
    return Notifications(tuple(ordered), eventbridge)


def _configuration(kind: Kind, element: Element) -> Configuration:
    ids: list[str] = []
    arns: list[str] = []
    events: list[str] = []
    rules: list[tuple[str, str]] = []
    filters = 0
    for child in element:
        name = _local(child)
        if name == "Id":
            ids.append(_text(child))
        elif name == kind.arn_element:
            arns.append(_text(child))
        elif name == "Event":
            events.append(_text(child))
        elif name == "Filter":
            filters += 1
            rules.extend(_filter(child))
        else:
            raise MalformedXML(MALFORMED)
    if len(ids) > 1 or len(arns) != 1 or not arns[0] or not events or filters > 1:
        raise MalformedXML(MALFORMED)
    return Configuration(kind, ids[0] if ids else "", arns[0], tuple(events), tuple(rules))


def _filter(element: Element) -> list[tuple[str, str]]:
    keys = list(element)
    if len(keys) != 1 or _local(keys[0]) != "S3Key":
        raise MalformedXML(MALFORMED)
    rules: list[tuple[str, str]] = []
    for rule in keys[0]:
        if _local(rule) != "FilterRule":
            raise MalformedXML(MALFORMED)
        parts = {_local(part): part for part in rule}
        if len(parts) != len(rule) or set(parts) != {"Name", "Value"}:
            raise MalformedXML(MALFORMED)
        rules.append((_text(parts["Name"]), parts["Value"].text or ""))
    return rules


def _local(element: Element) -> str:
    """An element's name without its namespace (S3's, or none)."""
    return element.tag.rpartition("}")[2]


def _text(element: Element) -> str:
    if len(element):
        raise MalformedXML(MALFORMED)
    return (element.text or "").strip()


def write(notifications: Notifications) -> bytes:
    """GetBucketNotificationConfiguration's answer: every configuration with its id, destination,
    events and filter, then <EventBridgeConfiguration/> when it is on."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<NotificationConfiguration xmlns="{NAMESPACE}">']
    for c in notifications.configurations:
        parts.append(f"<{c.kind.element}><Id>{escape(c.id)}</Id>")
        parts.append(f"<{c.kind.arn_element}>{escape(c.arn)}</{c.kind.arn_element}>")
        parts.extend(f"<Event>{escape(event)}</Event>" for event in c.events)
        if c.rules:
            parts.append("<Filter><S3Key>")
            parts.extend(f"<FilterRule><Name>{escape(name)}</Name><Value>{escape(value)}</Value></FilterRule>"
                         for name, value in c.rules)  # fmt: skip
            parts.append("</S3Key></Filter>")
        parts.append(f"</{c.kind.element}>")
    if notifications.eventbridge:
        parts.append("<EventBridgeConfiguration></EventBridgeConfiguration>")
    parts.append("</NotificationConfiguration>")
    return "".join(parts).encode()
