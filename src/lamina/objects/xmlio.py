"""S3's XML, both ways (pure).

Responses are built from ``Node`` values, ``(tag, text)`` or ``(tag, [children])``, and rendered
with S3's namespace on the root. Request bodies (Delete, CompleteMultipartUpload, Tagging,
CreateBucketConfiguration) are parsed with their namespace dropped; a document type declaration
(the door to entity expansion) or anything that is not well-formed XML is ``MalformedXML``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Sequence, Union
from xml.sax.saxutils import escape

from lamina.objects.errors import MalformedXML

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
MAX_BODY = 1024 * 1024  # the largest XML request body read (DeleteObjects' 1,000 keys fit well within)

Node = tuple[str, Union[str, Sequence["Node"]]]


def document(tag: str, children: Sequence[Node], *, namespace: bool = True) -> bytes:
    out: list[str] = []
    attrs = f' xmlns="{NAMESPACE}"' if namespace else ""
    out.append(f"<{tag}{attrs}>")
    for child in children:
        _render(child, out)
    out.append(f"</{tag}>")
    return DECLARATION + "".join(out).encode()


def _render(node: Node, out: list[str]) -> None:
    tag, value = node
    if isinstance(value, str):
        out.append(f"<{tag}>{escape_text(value)}</{tag}>")
        return
    out.append(f"<{tag}>")
    for child in value:
        _render(child, out)
    out.append(f"</{tag}>")


def escape_text(value: str) -> str:
    # A CR is written as a reference (a parser would read a bare one as a line end); the other
    # controls XML 1.0 cannot carry at all, even as references, become U+FFFD. Keys holding them
    # are listed intact with EncodingType=url, which is why clients ask for it.
    escaped = escape(value, {'"': "&quot;", "\r": "&#xD;"})
    if any(ord(c) < 0x20 and c not in "\t\n" for c in escaped):
        escaped = "".join("\ufffd" if ord(c) < 0x20 and c not in "\t\n" else c for c in escaped)
    return escaped


def parse(body: bytes, root: str) -> ET.Element:
    """The request body's root element, named ``root``; ``MalformedXML`` otherwise."""
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise MalformedXML()
    try:
        element = ET.fromstring(body)
    except ET.ParseError:
        raise MalformedXML() from None
    for el in element.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]
    if element.tag != root:
        raise MalformedXML()
    return element


def text(element: ET.Element, tag: str) -> str | None:
    child = element.find(tag)
    if child is None:
        return None
    return child.text or ""
