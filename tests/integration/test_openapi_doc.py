"""The OpenAPI import walkthroughs of docs/http-apis.md and docs/rest-apis.md, run as written (after
the five-minute sections they start from) against a real server of the test's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.functions import DOC_BLOCK, Walkthrough

DOCS = Path(__file__).resolve().parents[2] / "docs"
DOC_ENDPOINT = "http://127.0.0.1:9000"
SECTION = "## Importing an OpenAPI definition"


@pytest.mark.slow
@pytest.mark.parametrize("doc", ["http-apis.md", "rest-apis.md"])
def test_the_import_walkthrough_runs_as_written(make_server: Any, tmp_path: Path, doc: str) -> None:
    server = make_server(tmp_path / "data")
    port = server.endpoint.rsplit(":", 1)[1]
    text = (DOCS / doc).read_text().replace(DOC_ENDPOINT, server.endpoint).replace("localhost:9000", f"localhost:{port}")
    text = text.replace(".venv/bin/", "")  # the walkthrough's PATH has the virtual environment's bin first
    before, _, rest = text.partition(SECTION)
    walk = Walkthrough(server.endpoint, tmp_path)
    walk.run("sh", next(b["body"] for b in DOC_BLOCK.finditer(before) if b["lang"] == "sh"))  # the function
    (lang, body), (printed, expected) = [(b["lang"], b["body"]) for b in DOC_BLOCK.finditer(rest.split("\n## ")[0])]
    assert (lang, printed) == ("sh", "")
    assert walk.run(lang, body).strip().splitlines()[-1] == expected.strip()
