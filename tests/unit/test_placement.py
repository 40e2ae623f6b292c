"""Placement's pure parts: the channel's frames (caps, malformed headers, the hello's secret), the
choice of a node, and that the embedded mode never imports Ray."""

from __future__ import annotations

import asyncio
import json
import struct
import subprocess
import sys

import pytest

from lamina.placement import frames
from lamina.placement.cluster import Node, place
from lamina.placement.frames import Frame, FrameError


def node(name: str, memory_mb: int = 1024, placed_mb: int = 0, environments: int = 0, alive: bool = True) -> Node:
    return Node(name, "127.0.0.1", 1, "s", memory_mb, 1.0, placed_mb=placed_mb, environments=environments, alive=alive)


def read(data: bytes, cap: int = frames.MAX_FRAME_BYTES) -> Frame:
    async def go() -> Frame:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        return await frames.read(reader, cap)

    return asyncio.run(go())


def test_a_frame_round_trips_with_its_body() -> None:
    frame = read(frames.encode({"op": "invoke", "id": 7, "env": "e"}, b"\x00payload\xff"))
    assert frame.op == "invoke" and frame.id == 7 and frame.body == b"\x00payload\xff"


@pytest.mark.parametrize("data, says", [
    (struct.pack(">II", frames.MAX_FRAME_BYTES + 1, 2) + b"{}", "over the channel's limit"),
    (struct.pack(">II", 1 << 31, 2), "over the channel's limit"),
    (struct.pack(">II", 6, 10) + b"{}", "header is longer"),
    (struct.pack(">II", 12, 8) + b"not json", "not JSON"),
    (struct.pack(">II", 6, 2) + b"[]", "not a JSON object"),
    (struct.pack(">II", 8, 4) + b"\xff\xfe\xfd\xfc", "not JSON"),
])  # fmt: skip
def test_a_frame_that_is_not_one_is_refused(data: bytes, says: str) -> None:
    with pytest.raises(FrameError, match=says):
        read(data)


def test_a_truncated_frame_ends_the_stream() -> None:
    with pytest.raises(asyncio.IncompleteReadError):
        read(frames.encode({"op": "x"}, b"body")[:-2])


def test_the_hello_cap_is_smaller_than_a_frame() -> None:
    with pytest.raises(FrameError):
        read(frames.encode({"op": "hello", "secret": "s"}, b"x" * (frames.MAX_HEADER_BYTES + 1)), frames.MAX_HEADER_BYTES)


def test_an_oversized_frame_is_not_sent() -> None:
    with pytest.raises(FrameError):
        frames.encode({"op": "outcome"}, b"x" * frames.MAX_FRAME_BYTES)


def test_only_the_hello_with_the_secret_authenticates() -> None:
    assert frames.authentic(Frame({"op": "hello", "secret": "abc"}), "abc")
    assert not frames.authentic(Frame({"op": "hello", "secret": "abd"}), "abc")
    assert not frames.authentic(Frame({"op": "hello", "secret": 1}), "abc")
    assert not frames.authentic(Frame({"op": "hello"}), "abc")
    assert not frames.authentic(Frame({"op": "start", "secret": "abc"}), "abc")
    assert not frames.authentic(Frame({"op": "hello", "secret": "é"}), "abc")


def test_ids_that_are_not_integers_answer_nothing() -> None:
    assert Frame({"op": "x", "id": True}).id == 0
    assert Frame({"op": "x", "id": "3"}).id == 0
    assert Frame({"op": 3}).op == ""


def test_an_environment_goes_where_most_memory_is_left() -> None:
    a, b, c = node("a", placed_mb=512), node("b", placed_mb=128), node("c", placed_mb=256)
    assert place([a, b, c]) is b
    assert place([node("a"), node("b", memory_mb=2048)]).node_id == "b"  # type: ignore[union-attr]


def test_ties_go_to_the_node_with_fewer_environments() -> None:
    busy, quiet = node("busy", environments=3), node("quiet", environments=1)
    assert place([busy, quiet]) is quiet


def test_no_alive_node_places_nothing() -> None:
    assert place([]) is None
    assert place([node("gone", alive=False)]) is None
    assert place([node("gone", memory_mb=8192, alive=False), node("here")]).node_id == "here"  # type: ignore[union-attr]


def test_the_embedded_mode_never_imports_ray() -> None:
    code = ("import sys, lamina.server, lamina.cells.cell, lamina.placement.provider; "
            "print(json.dumps(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.'))))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
