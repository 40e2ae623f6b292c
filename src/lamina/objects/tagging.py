"""Tag sets: the ``Tagging`` XML document and the ``x-amz-tagging`` header, read and checked as S3
checks them (pure)."""

from __future__ import annotations

from typing import Mapping
from urllib.parse import parse_qsl

from lamina.objects.errors import InvalidArgument, InvalidTag, MalformedXML
from lamina.objects.xmlio import Node, parse, text

MAX_OBJECT_TAGS = 10
MAX_BUCKET_TAGS = 50


def _check(pairs: list[tuple[str, str]], limit: int) -> dict[str, str]:
    tags: dict[str, str] = {}
    for key, value in pairs:
        if key in tags:
            raise InvalidTag("Cannot provide multiple Tags with the same key", TagKey=key)
        if not key or len(key) > 128:
            raise InvalidTag("The TagKey you have provided is invalid", TagKey=key)
        if len(value) > 256:
            raise InvalidTag("The TagValue you have provided is invalid", TagKey=key, TagValue=value)
        tags[key] = value
    if len(tags) > limit:
        if limit == MAX_OBJECT_TAGS:
            raise InvalidTag("Object tags cannot be greater than 10")
        raise InvalidTag(f"Bucket tag count cannot be greater than {limit}")
    return tags


def from_xml(body: bytes, *, limit: int = MAX_OBJECT_TAGS) -> dict[str, str]:
    root = parse(body, "Tagging")
    tag_set = root.find("TagSet")
    if tag_set is None:
        raise MalformedXML()
    pairs = [(text(t, "Key") or "", text(t, "Value") or "") for t in tag_set.findall("Tag")]
    return _check(pairs, limit)


def from_header(value: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(value, keep_blank_values=True, strict_parsing=bool(value))
    except ValueError:
        raise InvalidArgument("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query "
                              "parameters without tag name duplicates.") from None  # fmt: skip
    return _check(pairs, MAX_OBJECT_TAGS)


def to_xml(tags: Mapping[str, str]) -> list[Node]:
    return [("TagSet", [("Tag", [("Key", k), ("Value", v)]) for k, v in tags.items()])]
