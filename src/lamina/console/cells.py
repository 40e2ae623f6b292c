"""Which cells a console request is for (pure): ``?cell=ACCOUNT/REGION`` names one, ``?cell=all``
(where a route reads every cell) all of them; without it, every cell for those routes and the
default cell for the others.

Only a cell that exists (``known``: started, or left on disk by an earlier run) is chosen: the
console reads cells, it never makes one, so a well-formed name of no cell is ResourceNotFound and
anything else (a path, a second ``cell``, an account that is not 12 digits) is refused. The name
never becomes a path: it is looked up among the known cells' keys.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lamina.errors import InvalidParameterValue, ResourceNotFound

PARAM = "cell"
ALL = "all"
_NAME = re.compile(r"(?P<account>[0-9]{12})/(?P<region>[a-z0-9-]{1,40})")

Key = tuple[str, str]  # (account, region)


def name(key: Key) -> str:
    """A cell's name as the console writes it: ``ACCOUNT/REGION``."""
    return f"{key[0]}/{key[1]}"


def chosen(given: Sequence[str], known: Sequence[Key], *, every: bool = False) -> list[Key]:
    """The cells ``given`` (the request's values of ``cell``) names, of ``known`` (the default cell's
    first). ``every``: a route across cells, for which ``all`` (and no ``cell``) means every cell;
    otherwise no ``cell`` is the default cell. ``InvalidParameterValue`` for a malformed or repeated
    value, ``ResourceNotFound`` for a cell that does not exist."""
    if not given:
        return list(known) if every else [known[0]]
    if len(given) > 1:
        raise InvalidParameterValue("Name one cell: cell=ACCOUNT/REGION.")
    raw = given[0]
    if raw == ALL and every:
        return list(known)
    match = _NAME.fullmatch(raw)
    if match is None:
        allowed = "ACCOUNT/REGION (12 digits, a slash, a region)" + (" or all" if every else "")
        raise InvalidParameterValue(f"cell must be {allowed}, not {raw[:60]!r}.")
    key = (match["account"], match["region"])
    if key not in known:
        raise ResourceNotFound(f"No cell of account {key[0]} in {key[1]}: none of its keys has signed a request "
                               f"there.")  # fmt: skip
    return [key]
