"""Bucket names and object keys, checked as S3 checks them (pure).

Bucket names follow S3's general-purpose bucket naming rules: 3 to 63 characters of lower-case
letters, digits, dots and hyphens, beginning and ending with a letter or digit, no two adjacent
dots, not an IP address, none of the reserved prefixes and suffixes. A name is never a path on
disk (bodies are stored under names of their own), so a name like ``..`` is refused here and
could do no harm if it were not. Keys are any UTF-8 of at most 1,024 bytes.
"""

from __future__ import annotations

import re

from lamina.objects.errors import InvalidBucketName, KeyTooLong

MAX_KEY_BYTES = 1024
_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def valid_bucket_name(name: str) -> bool:
    return (
        _NAME.fullmatch(name) is not None
        and ".." not in name
        and ".-" not in name
        and "-." not in name
        and _IP.fullmatch(name) is None
        and not name.startswith(_PREFIXES)
        and not name.endswith(_SUFFIXES)
    )


def check_bucket_name(name: str) -> None:
    if not valid_bucket_name(name):
        raise InvalidBucketName("The specified bucket is not valid.", BucketName=name)


def check_key(key: str) -> None:
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > MAX_KEY_BYTES:
        raise KeyTooLong("Your key is too long", Size=str(size), MaxSizeAllowed=str(MAX_KEY_BYTES))


def bucket_arn(name: str) -> str:
    return f"arn:aws:s3:::{name}"
