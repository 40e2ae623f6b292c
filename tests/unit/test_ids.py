"""Request ids are UUID version 4 strings, exactly what ``uuid.UUID(int=..., version=4)`` makes of the same bits."""

from __future__ import annotations

import json
import uuid

from lamina import ids, jsonwrite


def test_request_ids_are_the_uuid4_of_their_random_bits() -> None:
    for _ in range(2000):
        state = ids._random.getstate()
        made = ids.request_id()
        ids._random.setstate(state)
        assert made == str(uuid.UUID(int=ids._random.getrandbits(128), version=4))
        assert uuid.UUID(made).version == 4 and uuid.UUID(made).variant == uuid.RFC_4122


def test_compact_json_is_json_dumps_compact() -> None:
    values: list[object] = [
        {"a": [1, 2.5, None, True, False, "é\u2028\"\\\n"], "b": {}, "c": {"d": -0.0, "e": 10**30}},
        "text", 3, float("nan"), [], "\ud800",
    ]
    for value in values:
        assert jsonwrite.compact(value) == json.dumps(value, separators=(",", ":")).encode()
