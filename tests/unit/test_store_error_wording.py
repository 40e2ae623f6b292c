"""Each of the store's errors as Lambda's API words it (``from_store``), the store's own terms in."""

from __future__ import annotations

import pytest

from lamina.api.errors import from_store
from lamina.settings import Settings
from lamina.store import errors as store

ARN = "arn:aws:lambda:us-east-1:000000000000:function:"
STALE = "The Revision Id provided does not match the latest Revision Id. Call the {} API to retrieve the latest Revision Id"


@pytest.mark.parametrize("error, expected", [
    (store.NotFound(store.FUNCTION, "f"), ("ResourceNotFoundException", 404, f"Function not found: {ARN}f")),
    (store.Conflict(store.FUNCTION, "f"), ("ResourceConflictException", 409, "Function already exist: f")),
    (store.StaleRevision(store.FUNCTION, "f"), ("PreconditionFailedException", 412, STALE.format("GetFunction/GetAlias"))),
    (store.NotFound(store.ALIAS, "f", "live"), ("ResourceNotFoundException", 404, f"Alias not found: {ARN}f:live")),
    (store.Conflict(store.ALIAS, "f", "live"), ("ResourceConflictException", 409, f"Alias already exists: {ARN}f:live")),
    (store.StaleRevision(store.ALIAS, "f", "live"), ("PreconditionFailedException", 412, STALE.format("GetFunction/GetAlias"))),
    (store.StaleRevision(store.POLICY, "f", "$LATEST"), ("PreconditionFailedException", 412, STALE.format("GetPolicy"))),
    (store.Conflict(store.FUNCTION_URL, "f", "$LATEST"),
     ("ResourceConflictException", 409, f"Failed to create function url config for [functionArn = {ARN}f]. "
                                        "Error message:  FunctionUrlConfig exists for this Lambda function")),
    (store.NotFound(store.FUNCTION_URL, "f", "live"),
     ("ResourceNotFoundException", 404, "The resource you requested does not exist.")),
    (store.Conflict(store.FUNCTION_URL, "f", "live"),
     ("ResourceConflictException", 409, f"Failed to create function url config for [functionArn = {ARN}f:live]. "
                                        "Error message:  FunctionUrlConfig exists for this Lambda function")),
])  # fmt: skip
def test_each_store_error_has_lambdas_wording(error: store.StoreError, expected: tuple[str, int, str]) -> None:
    answer = from_store(error, Settings().function_arn)
    assert (answer.code, answer.status, answer.message) == expected
