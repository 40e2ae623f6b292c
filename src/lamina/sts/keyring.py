"""The key ring of the keys IAM and STS issue (``identity.principals.KeyRing``): users' long-term
``AKIA...`` keys (active ones, of users that exist) and sessions' temporary ``ASIA...`` keys
(expired ones included until pruned: whoever verifies checks ``expires_at``). Authentication adds it
to its composite ring beside the configured root keys."""

from __future__ import annotations

from lamina.iam.service import IamService
from lamina.identity.principals import AccessKey
from lamina.sts.sessions import Sessions


class IssuedKeys:
    def __init__(self, iam: IamService, sessions: Sessions) -> None:
        self._iam = iam
        self._sessions = sessions

    def find(self, access_key_id: str) -> AccessKey | None:
        if access_key_id.startswith("ASIA"):
            return self._sessions.find(access_key_id)
        return self._iam.find(access_key_id)
