"""Messages' contents as SQS checks and digests them (pure): bodies, message attributes, MD5s.

MD5OfMessageBody is the MD5 of the body's UTF-8 bytes. MD5OfMessageAttributes is the MD5 of the
attributes sorted by name, each encoded as: the name, the data type (each as a 4-byte big-endian
length and UTF-8 bytes), a transport byte (1: String and Number, 2: Binary), the value (4-byte
length and bytes). SDKs (the Java one, the CLI's older releases) check both against their own.
MD5OfMessageSystemAttributes digests the system attributes a message is sent with the same way.

A message's system attributes (AWSTraceHeader, sent with it; DeadLetterQueueSourceArn, given it when
it is moved to a dead-letter queue) are stored beside its message attributes, under the prefix
``AWS.`` that no message attribute may have (``encode``, ``system_of``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import struct
from dataclasses import dataclass
from typing import Mapping

from lamina.queues.errors import InvalidMessageContents, InvalidParameterValue

MAX_ATTRIBUTES = 10
SYSTEM_PREFIX = "AWS."  # reserved: a message attribute's name may not start with it
SENDABLE_SYSTEM = ("AWSTraceHeader",)
# Characters SQS accepts in a body and in attribute strings (XML 1.0's).
_INVALID = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,256}$")
_TYPE = re.compile(r"^(String|Number|Binary)(\.[^\s]{1,250})?$")


@dataclass(frozen=True, slots=True)
class MessageAttribute:
    data_type: str  # "String", "Number", "Binary", "String.custom", ...
    string_value: str | None = None
    binary_value: bytes | None = None

    @property
    def is_binary(self) -> bool:
        return self.data_type.split(".", 1)[0] == "Binary"

    def size(self) -> int:
        value = (self.binary_value or b"") if self.is_binary else (self.string_value or "").encode()
        return len(self.data_type.encode()) + len(value)


Attributes = Mapping[str, MessageAttribute]


def md5_of_body(body: str) -> str:
    return hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()


def md5_of_attributes(attributes: Attributes) -> str | None:
    """SQS's digest of message attributes; None when there are none (SQS leaves it out)."""
    if not attributes:
        return None
    out = bytearray()
    for name in sorted(attributes):
        attribute = attributes[name]
        for text in (name, attribute.data_type):
            out += _sized(text.encode())
        if attribute.is_binary:
            out += b"\x02" + _sized(attribute.binary_value or b"")
        else:
            out += b"\x01" + _sized((attribute.string_value or "").encode())
    return hashlib.md5(bytes(out), usedforsecurity=False).hexdigest()


def _sized(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def check_body(body: str) -> None:
    if not body:
        raise InvalidParameterValue(
            "One or more parameters are invalid. Reason: Message must be at least one character."
        )
    if _INVALID.search(body):
        raise InvalidMessageContents(
            "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | "
            "#xE000 to #xFFFD | #x10000 to #x10FFFF"
        )


def message_size(body: str, attributes: Attributes) -> int:
    """What counts against MaximumMessageSize: the body's bytes and each attribute's name, type and value."""
    return len(body.encode()) + sum(len(n.encode()) + a.size() for n, a in attributes.items())


def check_size(body: str, attributes: Attributes, maximum: int) -> None:
    if message_size(body, attributes) > maximum:
        raise InvalidParameterValue(
            f"One or more parameters are invalid. Reason: Message must be shorter than {maximum} bytes."
        )


def parse_attributes(raw: object) -> dict[str, MessageAttribute]:
    """Message attributes as awsJson carries them (``{name: {DataType, StringValue | BinaryValue}}``,
    binary values base64), validated as SQS validates them."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidParameterValue("MessageAttributes must be a map.")
    if len(raw) > MAX_ATTRIBUTES:
        raise InvalidParameterValue(
            f"Number of message attributes [{len(raw)}] exceeds the allowed maximum [{MAX_ATTRIBUTES}]."
        )
    parsed: dict[str, MessageAttribute] = {}
    for name, value in raw.items():
        check_attribute_name(name)
        if not isinstance(value, dict):
            raise InvalidParameterValue(f"The message attribute '{name}' must contain a DataType.")
        parsed[name] = _attribute(name, value)
    return parsed


def check_attribute_name(name: str) -> None:
    lowered = name.lower()
    if (not _NAME.match(name) or ".." in name or name.startswith(".") or name.endswith(".")
            or lowered.startswith("aws.") or lowered.startswith("amazon.")):  # fmt: skip
        raise InvalidParameterValue(f"Message attribute name '{name}' is invalid.")


def _attribute(name: str, value: Mapping[str, object]) -> MessageAttribute:
    data_type = value.get("DataType")
    if not isinstance(data_type, str) or not data_type:
        raise InvalidParameterValue(f"The message attribute '{name}' must contain non-empty message attribute type.")
    if not _TYPE.match(data_type):
        raise InvalidParameterValue(
            f"The type of message (user) attribute '{name}' is invalid. You must use only the following supported "
            "type prefixes: Binary, Number, String."
        )
    empty = InvalidParameterValue(
        f"The message attribute '{name}' must contain non-empty message attribute value for message attribute "
        f"type '{data_type.split('.', 1)[0]}'."
    )
    if data_type.startswith("Binary"):
        encoded = value.get("BinaryValue")
        if not isinstance(encoded, str) or not encoded:
            raise empty
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidParameterValue(f"The message attribute '{name}' has an invalid binary value.") from None
        if not data:
            raise empty
        return MessageAttribute(data_type, binary_value=data)
    text = value.get("StringValue")
    if not isinstance(text, str) or not text:
        raise empty
    if _INVALID.search(text):
        raise InvalidMessageContents(f"The message attribute '{name}' contains invalid characters.")
    if data_type.startswith("Number"):
        try:
            float(text)
        except ValueError:
            raise InvalidParameterValue(f"Can't cast the value of message (user) attribute '{name}' to a number.")
    return MessageAttribute(data_type, string_value=text)


def to_wire(attributes: Attributes) -> dict[str, dict[str, str]]:
    """Attributes as awsJson carries them (and as the store keeps them, JSON)."""
    wire: dict[str, dict[str, str]] = {}
    for name, a in attributes.items():
        if a.is_binary:
            wire[name] = {"DataType": a.data_type, "BinaryValue": base64.b64encode(a.binary_value or b"").decode()}
        else:
            wire[name] = {"DataType": a.data_type, "StringValue": a.string_value or ""}
    return wire


def parse_system_attributes(raw: object) -> dict[str, MessageAttribute]:
    """SendMessage's MessageSystemAttributes: AWSTraceHeader, a String, is the one SQS takes."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidParameterValue("MessageSystemAttributes must be a map.")
    parsed: dict[str, MessageAttribute] = {}
    for name, value in raw.items():
        if name not in SENDABLE_SYSTEM:
            raise InvalidParameterValue(f"Message system attribute name '{name}' is invalid.")
        if not isinstance(value, dict):
            raise InvalidParameterValue(f"The message system attribute '{name}' must contain a DataType.")
        attribute = _attribute(name, value)
        if attribute.data_type != "String":
            raise InvalidParameterValue(f"The message system attribute '{name}' must be of type String.")
        parsed[name] = attribute
    return parsed


def encode(attributes: Attributes, system: Mapping[str, str] | None = None) -> str:
    """Message attributes, and system attributes by name (``AWS.<name>``), as the store keeps them."""
    wire: dict[str, dict[str, str]] = to_wire(attributes)
    for name, value in (system or {}).items():
        wire[SYSTEM_PREFIX + name] = {"DataType": "String", "StringValue": value}
    return json.dumps(wire, separators=(",", ":"))


def with_system(text: str, name: str, value: str) -> str:
    """Stored attributes with the system attribute ``name`` set to ``value``."""
    wire = json.loads(text or "{}")
    wire[SYSTEM_PREFIX + name] = {"DataType": "String", "StringValue": value}
    return json.dumps(wire, separators=(",", ":"))


def without_system(text: str, name: str) -> str:
    """Stored attributes without the system attribute ``name``."""
    wire = json.loads(text or "{}")
    wire.pop(SYSTEM_PREFIX + name, None)
    return json.dumps(wire, separators=(",", ":"))


def system_of(text: str) -> dict[str, str]:
    """The system attributes among stored attributes, by name."""
    return {name[len(SYSTEM_PREFIX) :]: str(value.get("StringValue", ""))
            for name, value in json.loads(text or "{}").items() if name.startswith(SYSTEM_PREFIX)}  # fmt: skip


def decode(text: str) -> dict[str, MessageAttribute]:
    """Stored message attributes back as values (what ``encode`` wrote, or an outbox message's),
    without the system attributes."""
    decoded: dict[str, MessageAttribute] = {}
    for name, value in json.loads(text or "{}").items():
        if name.startswith(SYSTEM_PREFIX):
            continue
        if "BinaryValue" in value:
            decoded[name] = MessageAttribute(value["DataType"], binary_value=base64.b64decode(value["BinaryValue"]))
        else:
            decoded[name] = MessageAttribute(value["DataType"], string_value=value.get("StringValue", ""))
    return decoded


def select(attributes: Attributes, names: object) -> dict[str, MessageAttribute]:
    """The attributes ReceiveMessage's MessageAttributeNames asks for: ``All`` or ``.*``, a name, or
    a prefix ending ``.*``."""
    if not isinstance(names, list) or not names:
        return {}
    wanted = [n for n in names if isinstance(n, str)]
    if "All" in wanted or ".*" in wanted:
        return dict(attributes)
    prefixes = tuple(n[:-1] for n in wanted if n.endswith(".*"))
    exact = set(wanted)
    return {n: a for n, a in attributes.items() if n in exact or (prefixes and n.startswith(prefixes))}
