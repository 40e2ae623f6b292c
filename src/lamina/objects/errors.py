"""S3's errors: an XML body ``<Error><Code/><Message/>...</Error>`` and the HTTP status S3 gives,
as botocore's model and S3's error list name them (``aws/api/s3``)."""

from __future__ import annotations

from lamina.errors import ApiError


class S3Error(ApiError):
    status = 400

    def __init__(self, message: str, **fields: str) -> None:
        super().__init__(message)
        self.fields = fields  # further members of <Error>, in order (BucketName, Key, Resource, ...)


class InvalidArgument(S3Error):
    code = "InvalidArgument"


class MalformedXML(S3Error):
    code = "MalformedXML"


class NoSuchBucket(S3Error):
    code = "NoSuchBucket"
    status = 404
