"""How the suite is shared out among pytest-xdist's workers (tests/parallel.py): its pure parts."""

from __future__ import annotations

from pytest import MonkeyPatch

from tests import parallel
from tests.parallel import module_units, unit_order


def test_a_module_is_its_own_unit_unless_it_uses_a_shared_service() -> None:
    units = module_units({"tests/a.py": set(), "tests/b.py": {"kafka"}, "tests/c.py": {"kafka"}, "tests/d.py": set()})
    assert units == {"tests/a.py": "tests/a.py", "tests/b.py": "kafka", "tests/c.py": "kafka", "tests/d.py": "tests/d.py"}


def test_modules_sharing_a_service_through_others_are_one_unit() -> None:
    units = module_units({
        "tests/a.py": {"kafka"}, "tests/b.py": {"rabbitmq"}, "tests/c.py": {"postgres", "kafka"},
        "tests/d.py": {"postgres"}, "tests/e.py": {"mosquitto_shared"},
    })  # fmt: skip
    assert units == {"tests/a.py": "kafka+postgres", "tests/b.py": "rabbitmq", "tests/c.py": "kafka+postgres",
                     "tests/d.py": "kafka+postgres", "tests/e.py": "mosquitto_shared"}  # fmt: skip
    # The order the modules come in does not change the units.
    assert module_units({"tests/d.py": {"postgres"}, "tests/c.py": {"kafka", "postgres"}, "tests/a.py": {"kafka"}}) == {
        "tests/d.py": "kafka+postgres", "tests/c.py": "kafka+postgres", "tests/a.py": "kafka+postgres"}  # fmt: skip


def test_units_go_out_longest_first_and_the_unknown_in_their_order(monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "TIMES", {"tests/b.py": 30.0, "tests/k1.py": 20.0, "tests/k2.py": 20.0})
    units = {"tests/a.py": ["tests/a.py"], "tests/b.py": ["tests/b.py"], "kafka": ["tests/k1.py", "tests/k2.py"],
             "tests/c.py": ["tests/c.py"]}  # fmt: skip
    assert unit_order(units) == ["kafka", "tests/b.py", "tests/a.py", "tests/c.py"]
