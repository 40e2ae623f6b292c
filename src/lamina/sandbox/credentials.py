"""An execution environment's AWS credentials, and how far Lamina's API is from it.

As Lambda does, each environment is given, before its init, temporary credentials of its function's
execution role (``CredentialIssuer.assume_role(role, session_name=<function name>, ...)``) in
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and ``AWS_SESSION_TOKEN``, and ``AWS_ENDPOINT_URL``
naming Lamina's API as the environment reaches it, so that the SDKs inside call Lamina unchanged.

Lambda never changes a running environment's variables: it retires environments before their
credentials expire. Lamina asks for ``CREDENTIALS_SECONDS`` (12 hours, the longest a role session
lasts) and retires an environment once it is ``MAX_AGE_SECONDS`` old (6 hours), or
``EXPIRY_MARGIN_SECONDS`` before its credentials expire if the issuer gave it less: an environment
past its time takes no further invocation (``Environment.invoke`` says it is gone, and the
invocation runs on a new one), and the scheduler's reaper stops it once it is idle.

Pure but for ``issue``; the credentials are never logged (``AccessKey`` keeps its secret and token
out of its repr) and are not the function's configuration: GetFunction does not show them.
"""

from __future__ import annotations

from datetime import datetime

from lamina.identity.principals import AccessKey, CredentialIssuer
from lamina.model import FunctionConfig

CREDENTIALS_SECONDS = 12 * 3600
MAX_AGE_SECONDS = 6 * 3600.0
EXPIRY_MARGIN_SECONDS = 5 * 60.0


async def issue(issuer: CredentialIssuer, fn: FunctionConfig) -> AccessKey:
    """Credentials of ``fn``'s execution role for one of its environments; the issuer's
    ``ApiError`` (the role does not exist, may not be assumed) propagates."""
    return await issuer.assume_role(fn.role, session_name=fn.name, duration_seconds=CREDENTIALS_SECONDS)


def variables(key: AccessKey | None, endpoint_url: str | None) -> dict[str, str]:
    """The variables an environment is given: its credentials (if any) and Lamina's endpoint."""
    env: dict[str, str] = {}
    if key is not None:
        env["AWS_ACCESS_KEY_ID"] = key.access_key_id
        env["AWS_SECRET_ACCESS_KEY"] = key.secret_access_key
        if key.session_token is not None:
            env["AWS_SESSION_TOKEN"] = key.session_token
    if endpoint_url is not None:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    return env


def lifetime(key: AccessKey | None, now: datetime, max_age: float = MAX_AGE_SECONDS) -> float | None:
    """Seconds an environment given ``key`` at ``now`` (aware) may serve invocations: ``max_age``,
    less if its credentials expire sooner (then up to ``EXPIRY_MARGIN_SECONDS`` before they do,
    and never below zero). None without credentials: nothing expires."""
    if key is None:
        return None
    if key.expires_at is None:
        return max_age
    left = (key.expires_at - now).total_seconds() - EXPIRY_MARGIN_SECONDS
    return max(0.0, min(max_age, left))
