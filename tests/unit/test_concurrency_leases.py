"""Units of concurrency leased by replicas on one PostgreSQL (store/postgresql/leases.py) and held by
one server (scheduler/units.py): a pool's live leases never pass its limit however many take at
once, an ended lease holds nothing, what is not used goes back, and pool names are data."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from lamina.scheduler.units import UNRESERVED, HeldUnits, units_kept, units_wanted
from lamina.settings import Settings
from lamina.store.postgresql import PostgresStore
from lamina.store.postgresql.leases import granted
from tests import postgres
from tests.postgres import Postgres, scalar
from tests.unit.test_store_postgresql import now_ms, with_stores

NOW, LATER = 1_000_000, 1_060_000  # a lease taken at NOW until LATER

postgres_server, postgres_db = postgres.postgres_server, postgres.postgres_db  # the fixtures, for the tests here


@pytest.fixture
def url(postgres_server: Postgres, postgres_db: str) -> str:
    return postgres_server.url(postgres_db)


def test_what_is_asked_for_and_given() -> None:
    assert units_wanted(in_use=1, held=1, limit=1000) == 0  # held already: no round trip
    assert units_wanted(in_use=2, held=1, limit=2) == 1  # small limits: one at a time
    assert units_wanted(in_use=3, held=1, limit=50) == 2 + 5  # a block ahead: a tenth of the limit
    assert units_wanted(in_use=1, held=0, limit=10_000) == 1 + 16  # at most 16 ahead
    assert granted(want=5, limit=10, others=3, mine=4) == 3
    assert granted(want=5, limit=2, others=3, mine=0) == 0  # a lowered limit takes nothing back
    assert units_kept(held=8, peak=3) == 3 and units_kept(held=2, peak=5) == 2


def test_replicas_taking_at_once_never_hold_more_than_the_limit(url: str) -> None:
    async def scenario(stores: list[PostgresStore]) -> tuple[list[int], int]:
        held = [0, 0]

        async def take(i: int) -> None:
            held[i % 2] = max(held[i % 2], await stores[i % 2].take_units("f", 1, 7, NOW, LATER))

        await asyncio.gather(*(take(i) for i in range(40)))
        total = int(scalar(stores[0].url, "SELECT sum(units) FROM lamina.concurrency_leases WHERE pool = 'f'"))
        return held, total

    held, total = with_stores(url, 2, scenario)
    assert sum(held) == 7 and total == 7


def test_an_ended_lease_holds_nothing_and_renewing_does_not_revive_it(url: str) -> None:
    async def scenario(stores: list[PostgresStore]) -> None:
        one, two = stores
        assert await one.take_units("f", 3, 5, NOW, NOW + 100) == 3
        assert await two.take_units("f", 9, 5, NOW, LATER) == 2  # the first holds 3 of 5
        # The first's lease ended (it died, or stalled): its units are the other's to take.
        assert await two.take_units("f", 9, 5, NOW + 100, LATER) == 5
        assert await one.renew_units(NOW + 100, LATER) == {}  # not renewed: they may be another's now
        assert await one.take_units("f", 1, 5, NOW + 100, LATER) == 0
        await two.give_back_units("f", 1)
        await two.give_back_units("f", 4)  # giving back never takes any again
        assert await two.renew_units(NOW + 200, LATER) == {"f": 1}
        assert await one.take_units("f", 9, 5, NOW + 200, LATER) == 4
        await two.release_units()
        assert await one.renew_units(NOW + 300, LATER) == {"f": 4}

    with_stores(url, 2, scenario)


@pytest.mark.parametrize("pool", ["'; DROP TABLE concurrency_leases; --", "f\x00", "é" * 300, UNRESERVED])
def test_a_pool_name_is_data(url: str, pool: str) -> None:
    async def scenario(stores: list[PostgresStore]) -> None:
        try:
            assert await stores[0].take_units(pool, 2, 2, NOW, LATER) == 2
            assert await stores[0].renew_units(NOW, LATER) == {pool: 2}
        except psycopg.DataError:  # refused whole (function names never hold one)
            assert "\x00" in pool

    with_stores(url, 1, scenario)
    assert scalar(url, "SELECT count(*) FROM lamina.concurrency_leases") == (0 if "\x00" in pool else 1)
    assert scalar(url, "SELECT count(*) FROM lamina.functions") == 0  # the table is there, untouched


def test_a_server_grows_past_what_it_holds_and_gives_back_what_it_did_not_use(url: str) -> None:
    running = {"f": 0}

    async def scenario(stores: list[PostgresStore]) -> None:
        one, two = stores
        units = HeldUnits(one, lambda pool: running.get(pool, 0), lease_seconds=60)
        other = HeldUnits(two, lambda pool: 0, lease_seconds=60)
        running["f"] = 1
        assert not units.covers("f", 1) and await units.grow("f", 3) and units.held("f") == 1
        running["f"] = 2
        assert not units.covers("f", 2) and await units.grow("f", 3) and units.held("f") == 2
        running["f"] = 1
        await units.renew()  # ran 2 at once since the last look: keeps 2
        assert units.held("f") == 2
        await units.renew()  # ran 1 at most since: gives one back, which another server can take
        assert units.held("f") == 1
        running["f"] = 0
        await units.close()  # gives everything back
        assert await two.take_units("f", 3, 3, now_ms(), now_ms() + 60_000) == 3
        await other.close()

    with_stores(url, 2, scenario)


@pytest.mark.parametrize("value", ["0", "nan", "601", "-1", "ten"])
def test_a_lease_time_that_is_not_one_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        Settings.from_env({"LAMINA_CONCURRENCY_LEASE_SECONDS": value})
    assert Settings.from_env({"LAMINA_CONCURRENCY_LEASE_SECONDS": "2.5"}).concurrency_lease_seconds == 2.5
