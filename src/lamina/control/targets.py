"""What a per-qualifier resource (a policy, an event-invoke configuration) is attached to: a function's
``$LATEST``, or one of its versions or aliases.

``identify`` reads the request (FunctionName path, Qualifier query) as AWS does; ``Targets.find``
asks the function service whether the qualifier names ``$LATEST``, a version or an alias.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lamina.control.functions import FunctionService
from lamina.control.validation import FUNCTION_NAME, NameShape, function_account, function_identifier, function_region
from lamina.errors import InvalidParameterValue, ResourceNotFound
from lamina.model import FunctionConfig
from lamina.settings import Settings

LATEST = "$LATEST"
_FUNCTION_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:(?P<region>[^:]+):(?P<account>\d{12}):function:(?P<name>[a-zA-Z0-9-_]+)"
    r"(:(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?$"
)


@dataclass(frozen=True)
class FunctionArn:
    """A Lambda function ARN's parts, as a destination names a function."""

    region: str
    account: str
    name: str
    qualifier: str | None

    def is_local(self, settings: Settings) -> bool:
        """Whether it names a function of this server (its region and account)."""
        return (self.region, self.account) == (settings.region, settings.account_id)


def parse_function_arn(arn: str) -> FunctionArn | None:
    """The parts of a function ARN, qualified or not; None if ``arn`` is not one."""
    match = _FUNCTION_ARN.match(arn)
    return None if match is None else FunctionArn(match["region"], match["account"], match["name"], match["qualifier"])


def identify(function_name: str, qualifier: str | None, *, region: str | None = None, account: str | None = None,
             shape: NameShape = FUNCTION_NAME) -> tuple[str, str | None]:  # fmt: skip
    """(name, qualifier or None) from a FunctionName path parameter and an optional Qualifier parameter,
    both checked against the operation's model (``shape``).

    With ``region`` (the server's), an ARN of another region is refused as Lambda refuses it. With
    ``account`` (the cell's), an ARN (full or partial) of another account is not found here: its
    function is that account's, never this account's function of the same name."""
    name, derived = function_identifier(function_name, shape, qualifier)
    named = function_region(function_name)
    if region is not None and named is not None and named != region:
        raise ResourceNotFound(f"Functions from '{named}' are not reachable in this region ('{region}')")
    owner = function_account(function_name)
    if account is not None and owner is not None and owner != account:
        raise ResourceNotFound(f"Function not found: {function_name}")
    if qualifier is not None and derived is not None and derived != qualifier:
        raise InvalidParameterValue(
            "The derived qualifier from the function name does not match the specified qualifier."
        )
    return name, qualifier if qualifier is not None else derived


@dataclass(frozen=True)
class Target:
    function: FunctionConfig
    qualifier: str  # "$LATEST" when none was given
    arn: str  # as AWS renders it for this request: qualified only when a qualifier was given


class Targets:
    def __init__(self, functions: FunctionService, settings: Settings) -> None:
        self._functions = functions
        self._settings = settings

    def arn(self, name: str, qualifier: str | None = None) -> str:
        return self._settings.function_arn(name, qualifier)

    def find(self, name: str, qualifier: str | None) -> Target | None:
        """The function (and qualifier) if it exists; ``None`` if either does not."""
        try:
            fn = self._functions.resolve(name, qualifier)
        except ResourceNotFound:
            return None
        return Target(fn, qualifier or LATEST, self.arn(name, qualifier))

    def revision(self, name: str, qualifier: str) -> str:
        """The current RevisionId of what ``qualifier`` names ($LATEST, a version, an alias)."""
        return self._functions.revision(name, qualifier)

    async def rotate_revision(self, name: str, qualifier: str, revision: str) -> None:
        """Give what ``qualifier`` names the RevisionId ``revision`` (its resource policy changed)."""
        await self._functions.rotate_revision(name, qualifier, revision)

    def exists(self, name: str) -> bool:
        return self.find(name, None) is not None
