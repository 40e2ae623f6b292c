"""S3's errors: an XML body ``<Error><Code/><Message/>...</Error>`` and the HTTP status S3 gives,
as botocore's model and S3's error list name them (``aws/api/s3``).

Every class here is an ``ApiError`` (lamina/errors.py); ``objects/api.py`` renders them as S3's XML
(not as the Lambda API's JSON), with the members of ``fields`` (BucketName, Key, ...) in order.
"""

from __future__ import annotations

from lamina.errors import ApiError


class S3Error(ApiError):
    status = 400

    def __init__(self, message: str, **fields: str) -> None:
        super().__init__(message)
        self.fields = fields  # further members of <Error>, in order (BucketName, Key, Resource, ...)


class InvalidArgument(S3Error):
    code = "InvalidArgument"


class InvalidRequest(S3Error):
    code = "InvalidRequest"


class MalformedXML(S3Error):
    code = "MalformedXML"

    def __init__(self, message: str = "The XML you provided was not well-formed or did not validate against our "
                 "published schema", **fields: str) -> None:  # fmt: skip
        super().__init__(message, **fields)


class InvalidBucketName(S3Error):
    code = "InvalidBucketName"


class KeyTooLong(S3Error):
    code = "KeyTooLongError"


class BadDigest(S3Error):
    code = "BadDigest"


class InvalidDigest(S3Error):
    code = "InvalidDigest"


class IncompleteBody(S3Error):
    code = "IncompleteBody"


class ContentSha256Mismatch(S3Error):
    code = "XAmzContentSHA256Mismatch"


class MetadataTooLarge(S3Error):
    code = "MetadataTooLarge"


class MissingContentLength(S3Error):
    code = "MissingContentLength"
    status = 411


class EntityTooSmall(S3Error):
    code = "EntityTooSmall"


class EntityTooLarge(S3Error):
    code = "EntityTooLarge"


class InvalidPart(S3Error):
    code = "InvalidPart"


class InvalidPartOrder(S3Error):
    code = "InvalidPartOrder"


class InvalidLocationConstraint(S3Error):
    code = "InvalidLocationConstraint"


class IllegalLocationConstraint(S3Error):
    code = "IllegalLocationConstraintException"


class InvalidTag(S3Error):
    code = "InvalidTag"


class AccessDenied(S3Error):
    code = "AccessDenied"
    status = 403


class NoSuchBucket(S3Error):
    code = "NoSuchBucket"
    status = 404


class NoSuchKey(S3Error):
    code = "NoSuchKey"
    status = 404


class NoSuchUpload(S3Error):
    code = "NoSuchUpload"
    status = 404


class NoSuchTagSet(S3Error):
    code = "NoSuchTagSet"
    status = 404


class MethodNotAllowed(S3Error):
    code = "MethodNotAllowed"
    status = 405


class BucketAlreadyExists(S3Error):
    code = "BucketAlreadyExists"
    status = 409


class BucketAlreadyOwnedByYou(S3Error):
    code = "BucketAlreadyOwnedByYou"
    status = 409


class BucketNotEmpty(S3Error):
    code = "BucketNotEmpty"
    status = 409


class PreconditionFailed(S3Error):
    code = "PreconditionFailed"
    status = 412


class InvalidPartNumber(S3Error):
    code = "InvalidPartNumber"
    status = 416


class InvalidRange(S3Error):
    code = "InvalidRange"
    status = 416


class NotImplementedYet(S3Error):
    code = "NotImplemented"
    status = 501


class InternalError(S3Error):
    code = "InternalError"
    status = 500


# Refused signatures (api/authentication.py), as S3 answers them.
class InvalidAccessKeyId(S3Error):
    code = "InvalidAccessKeyId"
    status = 403


class SignatureDoesNotMatch(S3Error):
    code = "SignatureDoesNotMatch"
    status = 403


class RequestTimeTooSkewed(S3Error):
    code = "RequestTimeTooSkewed"
    status = 403


class ExpiredToken(S3Error):
    code = "ExpiredToken"


class InvalidToken(S3Error):
    code = "InvalidToken"


class AuthorizationHeaderMalformed(S3Error):
    code = "AuthorizationHeaderMalformed"


class AuthorizationQueryParametersError(S3Error):
    code = "AuthorizationQueryParametersError"


class MalformedPolicy(S3Error):
    code = "MalformedPolicy"


class NoSuchBucketPolicy(S3Error):
    code = "NoSuchBucketPolicy"
    status = 404
