"""An environment's mount table: each directory it is given is mounted once (Lamina's interpreter
and a Python runtime's are often one installation; bound twice, every cold start paid a mount more
and every environment kept one more). Lamina runs as root here: environments are sandboxed."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import deploy

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="sandboxed environments need root")

MOUNTS = "def handler(event, context):\n    return [line.split()[4] for line in open('/proc/self/mountinfo')]\n"


def test_every_mount_point_of_an_environment_is_mounted_once(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, MOUNTS)
    answer = client.invoke(FunctionName=fn_name, Payload=b"{}")
    assert "FunctionError" not in answer
    points: list[str] = json.loads(answer["Payload"].read())
    assert "/var/task" in points and "/tmp" in points
    assert str(Path(sys.base_prefix).resolve()) in points  # the runtime's installation is there...
    assert [p for p, n in Counter(points).items() if n > 1] == []  # ...and nothing twice
