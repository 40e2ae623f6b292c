"""What the S3 tests share: boto3 clients for Lamina's S3, and unique bucket names."""

from __future__ import annotations

import itertools
import os
from typing import Any

_names = itertools.count()


def s3_client(endpoint: str, **config: Any) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 0}, **config))  # fmt: skip


def bucket_name(prefix: str = "t") -> str:
    return f"{prefix}-{os.getpid()}-{next(_names)}"
