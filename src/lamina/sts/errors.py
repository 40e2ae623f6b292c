"""STS's errors that IAM does not share (query protocol, api/query.py renders them)."""

from __future__ import annotations

from lamina.iam.errors import QueryError


class RegionDisabled(QueryError):
    code = "RegionDisabledException"
    status = 403


class ExpiredToken(QueryError):
    code = "ExpiredTokenException"
    status = 400
