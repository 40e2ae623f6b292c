"""LAMINA_DATA_PLANE: which data plane serves warm Invokes, read as settings read every switch."""

from __future__ import annotations

import pytest

from lamina.settings import Settings


def test_the_native_plane_is_the_default() -> None:
    assert Settings.from_env({}).data_plane == "native"


@pytest.mark.parametrize("value, plane", [("native", "native"), ("python", "python"), (" Python ", "python")])
def test_either_plane_may_be_named(value: str, plane: str) -> None:
    assert Settings.from_env({"LAMINA_DATA_PLANE": value}).data_plane == plane


@pytest.mark.parametrize("value", ["", "rust", "off", "native;python"])
def test_anything_else_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="LAMINA_DATA_PLANE must be native or python"):
        Settings.from_env({"LAMINA_DATA_PLANE": value})
