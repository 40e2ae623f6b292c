"""The console's HTML page: the front end's modules (static/app.js and its vendored packages,
mapped by an import map) and this server's token for the page's POSTs; or, when the vendored
packages were never built, a page that says which command builds them."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from pathlib import Path

STATIC = Path(__file__).parent / "static"
VENDOR = STATIC / "vendor"
BUILD_COMMAND = "bash scripts/install/console.sh"
_LEAF = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.(?:js|css)", re.ASCII)
_VENDORED = ("preact.js", "preact-hooks.js", "htm.js", "uplot.js", "uplot.css")

# The bare names app.js imports, mapped to the vendored copies (no bundler: the files as published).
IMPORTMAP = json.dumps({"imports": {
    "preact": "/console/assets/vendor/preact.js",
    "preact/hooks": "/console/assets/vendor/preact-hooks.js",
    "htm": "/console/assets/vendor/htm.js",
    "uplot": "/console/assets/vendor/uplot.js",
}})  # fmt: skip
# The page's Content-Security-Policy allows this one inline script by its hash.
IMPORTMAP_SHA256 = base64.b64encode(hashlib.sha256(IMPORTMAP.encode()).digest()).decode()

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="lamina-console-token" content="{token}">
<title>Lamina console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/assets/vendor/uplot.css">
<link rel="stylesheet" href="/console/assets/app.css">
<script type="importmap">{importmap}</script>
<script type="module" src="/console/assets/app.js"></script>
</head>
<body><div id="app"></div></body>
</html>
"""

_MISSING = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Lamina console: not built</title></head>
<body>
<h1>The console's front end is not built</h1>
<p>Its packages (Preact, htm, uPlot) are installed from the npm registry at set-up time. From
Lamina's folder, run:</p>
<pre>{command}</pre>
<p>(<code>scripts/up</code> and <code>scripts/test</code> run it too), then reload this page.</p>
</body>
</html>
"""


def built() -> bool:
    return all((VENDOR / name).is_file() for name in _VENDORED)


def page(token: str) -> str:
    return _PAGE.format(token=html.escape(token, quote=True), importmap=IMPORTMAP)


def missing() -> str:
    return _MISSING.format(command=html.escape(BUILD_COMMAND))


def asset(name: str) -> Path | None:
    """The static file ``name`` (``app.js``, ``vendor/uplot.js``) names, or None: only plain
    names of .js and .css files directly in static/ or static/vendor/, nothing else of the disk."""
    if len(name) > 100:
        return None
    parts = name.split("/")
    if len(parts) > 2 or (len(parts) == 2 and parts[0] != "vendor"):
        return None
    if not _LEAF.fullmatch(parts[-1]):
        return None
    path = STATIC.joinpath(*parts)
    return path if path.is_file() and not path.is_symlink() else None
