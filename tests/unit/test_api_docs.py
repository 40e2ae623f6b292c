"""docs/api.md's table of supported operations stays true to the routes the server has."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import botocore.session

from lamina.api.app import build_app
from lamina.identity.keys import Keys

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _shape(uri: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", uri.split("?")[0])


def served_operations() -> set[str]:
    services: Any = SimpleNamespace(max_request_bytes=1, uids=SimpleNamespace(owns=lambda uid: False),
                                    keys=Keys(()))  # fmt: skip
    app = build_app(services)
    routes = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if path:
            routes.add((route.method, _shape(path)))
    model = botocore.session.get_session().get_service_model("lambda")
    served = set()
    for name in model.operation_names:
        http = model.operation_model(name).http
        if (http["method"], _shape(http["requestUri"])) in routes:
            served.add(name)
    return served


def documented_operations() -> tuple[set[str], set[str]]:
    supported: set[str] = set()
    unsupported: set[str] = set()
    text = DOCS.read_text()
    table = text[text.index("| area | supported | not supported |") :].split("\n\n", 1)[0]
    for line in table.splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3:
            for target, cell in ((supported, cells[1]), (unsupported, cells[2])):
                target.update(op.strip() for op in cell.split(",") if op.strip() not in ("", "—"))
    return supported, unsupported


def test_the_docs_list_what_the_server_serves() -> None:
    supported, unsupported = documented_operations()
    served = served_operations()
    assert served, "no operation matched: the route table or botocore's model changed shape"
    assert supported == served, (sorted(supported - served), sorted(served - supported))
    assert not supported & unsupported
