"""Layers, attacked: merging a function's layers must never reach outside the merged tree.

Each layer zip passes the per-zip symlink check on its own; together they aim at the host. The
merged tree of a function's layers is built under ``<data>/code/layers-merged/.merge.<random>``,
four levels below the test's ``tmp_path`` (the data directory is ``tmp_path / "data"``), so a link
``up -> sub/sub/sub/sub/../../../..`` reaches ``tmp_path`` itself once a later layer adds
``sub -> .``. Sentinels planted there are what a merge that follows links would write, delete and
chmod: checked after CreateFunction, after an invocation, and after a restart, whose first cold
start merges the layers again.
"""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import deploy, make_zip
from tests.functions import invoke

# data/code/layers-merged/.merge.<random>: how deep the merge directory is below tmp_path.
MERGE_DEPTH = 4
AIM = "/".join(["sub"] * MERGE_DEPTH + [".."] * MERGE_DEPTH)
SYMLINK = stat.S_IFLNK | 0o777

# The function reports its /opt as the environment sees it: each path's kind, a link's target.
LIST_OPT = """
import os

def handler(event, context):
    found = {}
    for dirpath, dirnames, filenames in os.walk("/opt"):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            relative = os.path.relpath(path, "/opt")
            if os.path.islink(path):
                found[relative] = "-> " + os.readlink(path)
            elif os.path.isdir(path):
                found[relative] = "dir"
            else:
                with open(path) as f:
                    found[relative] = f.read()
    return found
"""


def layer(client: Any, name: str, files: dict[str, str], links: dict[str, str] | None = None) -> str:
    """Publish a layer of ``files`` (name -> content; names ending in / are directories) and
    ``links`` (name -> target), and return its version ARN."""
    links = links or {}
    modes = {name: SYMLINK for name in links}
    data = make_zip({**files, **links}, modes=modes)
    return str(client.publish_layer_version(LayerName=name, Content={"ZipFile": data})["LayerVersionArn"])


@dataclass(frozen=True)
class Sentinels:
    """What the layers below aim at, outside the data directory."""

    root: Path

    @classmethod
    def plant(cls, root: Path) -> Sentinels:
        root.chmod(0o700)
        (root / "private").mkdir(mode=0o700)
        (root / "private" / "secret.txt").write_text("secret")
        (root / "doomed").mkdir()
        (root / "doomed" / "keep.txt").write_text("keep")
        return cls(root)

    def check(self) -> None:
        assert not (self.root / "escaped.txt").exists(), "a layer wrote a file outside the data directory"
        assert sorted(p.name for p in (self.root / "private").iterdir()) == ["secret.txt"]
        assert stat.S_IMODE((self.root / "private").stat().st_mode) == 0o700
        assert stat.S_IMODE(self.root.stat().st_mode) == 0o700
        assert (self.root / "doomed").is_dir(), "a layer deleted a directory outside the data directory"
        assert (self.root / "doomed" / "keep.txt").read_text() == "keep"


def opt_of(client: Any, name: str) -> Any:
    response, body, _ = invoke(client, name, {})
    assert "FunctionError" not in response, body
    return body


def test_the_attack_of_the_issue_touches_nothing_outside_at_create_invoke_and_restart(
    make_server: Any, tmp_path: Path
) -> None:
    sentinels = Sentinels.plant(tmp_path)
    server = make_server(tmp_path / "data")
    client = server.client()
    aim = layer(client, "aim", {}, {"up": AIM})
    reach = layer(
        client, "reach",
        {"up/escaped.txt": "planted", "up/private/": "", "up/private/planted.txt": "planted", "up/doomed": "planted"},
        {"sub": "."},
    )  # fmt: skip
    deploy(client, "victim-of-layers", LIST_OPT, Layers=[aim, reach])
    sentinels.check()

    # The later layer's directory `up` replaces the earlier layer's link: it is not written through.
    expected = {
        "sub": "-> .", "up": "dir", "up/escaped.txt": "planted", "up/private": "dir",
        "up/private/planted.txt": "planted", "up/doomed": "planted",
    }  # fmt: skip
    assert opt_of(client, "victim-of-layers") == expected
    sentinels.check()

    # A restart clears merged trees: the first cold start merges the layers again.
    assert server.stop() == 0
    client = make_server(tmp_path / "data").client()
    assert opt_of(client, "victim-of-layers") == expected
    sentinels.check()


def test_later_layers_replace_links_instead_of_writing_through_them(make_server: Any, tmp_path: Path) -> None:
    sentinels = Sentinels.plant(tmp_path)
    client = make_server(tmp_path / "data").client()
    first = layer(client, "first", {"data/keep.txt": "keep"}, {"up": AIM, "lib": "data", "tool": "data"})
    second = layer(client, "second", {}, {"sub": "."})
    # A directory through a link that, with `sub`, leads outside; a directory through a link
    # to a directory of the tree; a file where a link to a directory was.
    third = layer(client, "third", {"up/escaped.txt": "planted", "lib/new.txt": "new", "tool": "a file now"})
    deploy(client, "chained-layers", LIST_OPT, Layers=[first, second, third])
    sentinels.check()
    assert opt_of(client, "chained-layers") == {
        "data": "dir", "data/keep.txt": "keep", "lib": "dir", "lib/new.txt": "new", "sub": "-> .",
        "tool": "a file now", "up": "dir", "up/escaped.txt": "planted",
    }  # fmt: skip
    sentinels.check()


def test_a_merged_tree_whose_links_leave_it_is_refused(make_server: Any, tmp_path: Path) -> None:
    sentinels = Sentinels.plant(tmp_path)
    client = make_server(tmp_path / "data").client()
    aim = layer(client, "aim", {"python/ok.py": "OK = 1\n"}, {"up": AIM})
    sub = layer(client, "sub", {}, {"sub": "."})
    with pytest.raises(ClientError) as exc:
        deploy(client, "refused-at-create", LIST_OPT, Layers=[aim, sub])
    error = exc.value.response["Error"]
    assert error["Code"] == "InvalidParameterValueException"
    assert "'up'" in error["Message"] and "layer 1" in error["Message"] and "/opt" in error["Message"]
    with pytest.raises(ClientError):
        client.get_function(FunctionName="refused-at-create")

    # Each layer alone is fine; the pair is refused as an update too, and the function keeps its layers.
    deploy(client, "refused-at-update", LIST_OPT, Layers=[aim])
    with pytest.raises(ClientError) as exc:
        client.update_function_configuration(FunctionName="refused-at-update", Layers=[aim, sub])
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValueException"
    config = client.get_function_configuration(FunctionName="refused-at-update")
    assert [ref["Arn"] for ref in config["Layers"]] == [aim]
    assert opt_of(client, "refused-at-update") == {"python": "dir", "python/ok.py": "OK = 1\n", "up": f"-> {AIM}"}
    sentinels.check()


def test_deeply_nested_directories_are_refused_at_upload(client: Any, fn_name: str) -> None:
    nested = {"a/" * depth: "" for depth in range(1, 1001)}
    with pytest.raises(ClientError) as exc:
        client.publish_layer_version(LayerName=f"deep-{fn_name}"[:60], Content={"ZipFile": make_zip(nested)})
    error = exc.value.response["Error"]
    assert error["Code"] == "InvalidParameterValueException"
    assert "levels deep" in error["Message"] and "Traceback" not in error["Message"]

    # A deep but reasonable tree (100 levels) is accepted and reachable.
    deep = "/".join(["d"] * 99) + "/deep.txt"
    published = client.publish_layer_version(LayerName=f"deep-ok-{fn_name}"[:60],
                                             Content={"ZipFile": make_zip({deep: "bottom"})})  # fmt: skip
    arn = str(published["LayerVersionArn"])
    code = f"def handler(event, context):\n    return open('/opt/{deep}').read()\n"
    deploy(client, fn_name, code, Layers=[arn])
    response, body, _ = invoke(client, fn_name, {})
    assert body == "bottom", json.dumps(body)
