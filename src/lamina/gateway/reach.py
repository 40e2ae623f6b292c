"""Which cell's invoker runs the function an API's integration names.

An integration's function ARN (``arn:aws:lambda:<region>:<account>:function:<name>``, or inside an
apigateway ``.../functions/<ARN>/invocations`` URI) names an account. This account's function is
invoked by this cell's invoker; another account's, in the same region, by that account's cell
(``cells/crossings.py``), where its resource-based policy must allow ``apigateway.amazonaws.com``
for the API (``iam/triggers.py``: a trigger of another account is never let through by the
development mode), as AWS requires of cross-account integrations. Another region's function, or an
account with no cell here, is invoked by no one: the API answers as for a function that does not
exist (500). Never is another account's ARN run as this account's function of the same name.
"""

from __future__ import annotations

from typing import Callable

from lamina.control.validation import function_account, function_region
from lamina.invoke.service import Invoker
from lamina.settings import Settings

InvokerOf = Callable[[str, str], "Invoker | None"]
"""(account, region) → that account's cell's invoker in the region (None: no such cell)."""


def nowhere(account_id: str, region: str) -> Invoker | None:
    return None


class Reach:
    def __init__(self, home: Invoker, settings: Settings, invoker_of: InvokerOf = nowhere) -> None:
        self._home = home
        self._settings = settings
        self._invoker_of = invoker_of

    def invoker(self, function: str) -> Invoker | None:
        """The invoker of ``function`` (a name, or an ARN, stage variables replaced), or None."""
        region, account = function_region(function), function_account(function)
        s = self._settings
        if region not in (None, s.region):
            return None
        if account is None or account == s.account_id:
            return self._home
        return self._invoker_of(account, s.region)
