"""What PostgreSQL's store adds to the store contract (tests/unit/test_store.py runs that against it
too): several stores on one database at once, as replicas are. Claims of queued events and outbox
messages, writers racing on one revision or one layer's numbers, migrations started together,
each cell's schema, and URLs and schema names that are not what they should be."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import psycopg
import pytest

from lamina.model import LayerVersion
from lamina.settings import Settings
from lamina.store.base import DEAD_LETTER, EventContent, OutboxMessage, QueuedEvent, Resource
from lamina.store.choice import DatabaseUnavailable, cell_schema
from lamina.store.errors import StaleRevision
from lamina.store.postgresql import PostgresStore
from lamina.store.postgresql.changes import parse
from lamina.store.postgresql.engine import _migrations
from tests.postgres import Postgres, postgres_db, postgres_server, scalar  # noqa: F401
from tests.unit.test_store import function

T = TypeVar("T")


@pytest.fixture
def url(postgres_server: Postgres, postgres_db: str) -> str:
    return postgres_server.url(postgres_db)


def with_stores(url: str, count: int, scenario: Callable[[list[PostgresStore]], Awaitable[T]]) -> T:
    """``scenario`` given ``count`` stores on the database at ``url``, opened together (as replicas
    starting at once) and closed after."""

    async def run() -> T:
        stores = [PostgresStore(url) for _ in range(count)]
        await asyncio.gather(*(store.open() for store in stores))
        try:
            return await scenario(stores)
        finally:
            for store in stores:
                await store.close()

    return asyncio.run(run())


def now_ms() -> int:
    return int(time.time() * 1000)


def test_claimers_on_two_stores_take_every_event_once(url: str) -> None:
    total = 400

    async def scenario(stores: list[PostgresStore]) -> Counter[int]:
        gone, *claiming = stores  # the replica that accepted them went away: its claims end
        event = QueuedEvent("r", "f", None, enqueued_ms=1000, next_ms=1000)
        seqs = [await gone.enqueue_event(dataclasses.replace(event, request_id=f"r-{i}"), EventContent(b"{}"))
                for i in range(total)]  # fmt: skip
        later = now_ms() + gone.claim_ms
        taken: Counter[int] = Counter()

        async def claimer(store: PostgresStore) -> None:
            while batch := await store.claim_events(store.claimer, later, later + 60_000, limit=7):
                for claimed in batch:
                    taken[claimed.seq] += 1
                    await store.finish_event(claimed.seq)  # delivered: gone for every claimer

        await asyncio.gather(*(claimer(claiming[i % 2]) for i in range(6)))
        assert set(taken) == set(seqs)
        assert await claiming[1].list_queued_events() == []
        return taken

    taken = with_stores(url, 3, scenario)
    assert len(taken) == total and max(taken.values()) == 1  # none lost, none twice


def test_an_event_is_held_by_its_replica_while_it_renews_its_claims(url: str) -> None:
    async def scenario(stores: list[PostgresStore]) -> None:
        one, two = stores
        start = now_ms()
        seq = await one.enqueue_event(QueuedEvent("r", "f", None, enqueued_ms=1000, next_ms=1000), EventContent(b""))
        assert await two.claim_events(two.claimer, start, start + 60_000, 10) == []  # one's
        assert await one.renew_claims(one.claimer, start + 100_000) == 1
        assert await two.claim_events(two.claimer, start + 50_000, start + 60_000, 10) == []  # renewed
        (lapsed,) = await two.claim_events(two.claimer, start + 100_000, start + 200_000, 10)  # one went away
        assert lapsed.seq == seq and lapsed.request_id == "r"
        assert await one.claim_events(one.claimer, start + 150_000, start + 250_000, 10) == []  # two's now
        assert await one.renew_claims(one.claimer, start + 300_000) == 0  # not one's any more
        assert await two.release_claims(two.claimer) == 1  # two stops: given back at once
        assert [e.seq for e in await one.claim_events(one.claimer, start + 150_000, start + 250_000, 10)] == [seq]
        # A claimer does not take back its own events: it holds them already.
        assert await one.claim_events(one.claimer, start + 999_000, start + 1_000_000, 10) == []

    with_stores(url, 2, scenario)


def test_outbox_claimers_take_every_message_once(url: str) -> None:
    async def scenario(stores: list[PostgresStore]) -> Counter[int]:
        message = OutboxMessage("arn:aws:sqs:us-east-1:000000000000:q", DEAD_LETTER, "f", "r", b"x", {}, 1000)
        await stores[0].add_outbox([dataclasses.replace(message, request_id=f"r-{i}") for i in range(150)])
        taken: Counter[int] = Counter()

        async def claimer(store: PostgresStore, name: str) -> None:
            while batch := await store.claim_outbox(name, now_ms=2000, until_ms=60_000, limit=5):
                taken.update(m.id for m in batch)
                await store.delete_outbox([m.id for m in batch])

        await asyncio.gather(*(claimer(stores[i % 2], f"c{i}") for i in range(4)))
        return taken

    taken = with_stores(url, 2, scenario)
    assert len(taken) == 150 and max(taken.values()) == 1


def test_writers_of_one_revision_on_two_stores_do_not_both_win(url: str) -> None:
    async def scenario(stores: list[PostgresStore]) -> list[BaseException | None]:
        await stores[0].create_function(function("f", "r1"))
        writes = [store.put_function(function("f", f"r2-{i}"), expected_revision="r1")
                  for i, store in enumerate(stores * 4)]  # fmt: skip
        return list(await asyncio.gather(*writes, return_exceptions=True))

    outcomes = with_stores(url, 2, scenario)
    assert outcomes.count(None) == 1
    assert all(isinstance(o, StaleRevision) for o in outcomes if o is not None)


def test_layer_versions_published_at_once_on_two_stores_take_every_number_once(url: str) -> None:
    async def scenario(stores: list[PostgresStore]) -> list[int]:
        layer = LayerVersion(name="shared", version=0, code=function("f").code)
        published = await asyncio.gather(*(store.publish_layer(layer) for store in stores * 10))
        return sorted(p.version for p in published)

    assert with_stores(url, 2, scenario) == list(range(1, 21))


def test_replicas_starting_together_apply_each_migration_once(url: str) -> None:
    async def scenario(stores: list[PostgresStore]) -> None:
        await stores[2].create_function(function("f"))
        assert await stores[0].get_function("f") == function("f")

    with_stores(url, 4, scenario)
    numbers = [number for number, _ in _migrations()]
    assert scalar(url, "SELECT count(*) FROM lamina.schema_migrations") == len(numbers)
    assert scalar(url, "SELECT max(version) FROM lamina.schema_migrations") == numbers[-1]


def test_each_cell_has_a_schema_of_its_own(url: str) -> None:
    other = cell_schema("111122223333", "eu-west-1", default=False)
    assert other == "cell_111122223333_eu_west_1"
    assert cell_schema("000000000000", "us-east-1", default=True) == "lamina"

    async def run() -> None:
        default, cell = PostgresStore(url), PostgresStore(url, other)
        await default.open()
        await cell.open()
        try:
            await default.create_function(function("only-in-default"))
            await cell.create_function(function("only-in-cell"))
            assert [f.name for f in await default.list_functions(None, 10)] == ["only-in-default"]
            assert [f.name for f in await cell.list_functions(None, 10)] == ["only-in-cell"]
        finally:
            await default.close()
            await cell.close()

    asyncio.run(run())


@pytest.mark.parametrize("schema", ["", "Lamina", "a;DROP SCHEMA lamina", 'x"y', "a" * 64, "1abc"])
def test_a_schema_name_that_is_not_one_is_refused(url: str, schema: str) -> None:
    with pytest.raises(ValueError):
        PostgresStore(url, schema)


@pytest.mark.parametrize("account,region", [("1234", "us-east-1"), ("111122223333", "us-east-1;drop"),
                                            ("111122223333", "A" * 40)])  # fmt: skip
def test_a_cell_schema_is_made_only_of_an_account_and_a_region(account: str, region: str) -> None:
    with pytest.raises(ValueError):
        cell_schema(account, region, default=False)


@pytest.mark.parametrize("bad", ["sqlite:///tmp/x.db", "postgresql://h/db?sslmode=bogus&x", "http://h/db",
                                 "postgresql://[::1/db"])  # fmt: skip
def test_a_url_that_is_not_postgresql_is_refused_before_anything_is_opened(bad: str) -> None:
    async def run() -> None:
        store = PostgresStore(bad)
        await store.open()

    with pytest.raises(DatabaseUnavailable):
        asyncio.run(run())


@pytest.mark.parametrize("payload", ["", "a\tb", "a\tb\tc\td", "\t\t", "lamina\t\tf", "x" * 7000])
def test_a_notice_that_is_not_lamina_s_is_no_notice(payload: str) -> None:
    assert parse(payload) is None


def test_a_server_follows_what_others_change_and_not_what_it_changes(url: str) -> None:
    async def scenario(stores: list[PostgresStore]) -> None:
        here, there = stores
        reread: asyncio.Queue[str] = asyncio.Queue()
        everything = asyncio.Event()

        async def reread_all() -> None:
            everything.set()

        follower = here.follow_changes(reread.put, reread_all)
        try:
            await asyncio.wait_for(follower.listening.wait(), 30)
            await here.create_function(function("mine"))  # its own: not read again
            await there.create_function(function("theirs"))
            assert await asyncio.wait_for(reread.get(), 30) == "theirs"
            await there.put_version(dataclasses.replace(function("theirs"), version="1"))
            assert await asyncio.wait_for(reread.get(), 30) == "theirs"
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                # Another program's notices on the channel, and another cell's, are not Lamina's.
                await conn.execute("SELECT pg_notify('lamina_changes', 'DROP TABLE functions')")
                await conn.execute("SELECT pg_notify('lamina_changes', %s)", (f"cell_x\t{there.claimer}\tf",))
                await there.delete_function("theirs")
                assert await asyncio.wait_for(reread.get(), 30) == "theirs"
                assert reread.empty()
                # Its connection cut (as by a restart of the database): it listens again and has
                # everything read again, since what changed meanwhile was notified to nobody.
                await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE query = 'LISTEN lamina_changes'")  # fmt: skip
            await asyncio.wait_for(everything.wait(), 30)
        finally:
            await follower.close()

    with_stores(url, 2, scenario)


def test_a_server_follows_the_kinds_of_resources_others_change(url: str) -> None:
    async def scenario(stores: list[PostgresStore]) -> None:
        here, there = stores
        kinds: asyncio.Queue[str] = asyncio.Queue()
        functions: asyncio.Queue[str] = asyncio.Queue()

        async def nothing() -> None:
            pass

        follower = here.follow_resources(kinds.put, nothing)
        others = here.follow_changes(functions.put, nothing)
        try:
            await asyncio.wait_for(follower.listening.wait(), 30)
            await asyncio.wait_for(others.listening.wait(), 30)
            await here.change_resources([Resource("iam/user", "mine", {})])  # its own: not read again
            await there.change_resources([Resource("iam/user", "u", {}), Resource("iam/key", "k", {})],
                                         deletes=[("sts/session", "s")])  # fmt: skip
            got = {await asyncio.wait_for(kinds.get(), 30) for _ in range(3)}
            assert got == {"iam/user u", "iam/key k", "sts/session s"}  # one key each: named
            await there.change_resources([Resource("iam/user", "v", {}), Resource("iam/user", "w\tx", {})])
            assert await asyncio.wait_for(kinds.get(), 30) == "iam/user"  # several: the kind, read whole
            await there.change_resources([Resource("iam/user", "w\tx", {})])
            assert await asyncio.wait_for(kinds.get(), 30) == "iam/user"  # a key a notice cannot hold
            assert await there.read_resource("iam/user", "w\tx") == Resource("iam/user", "w\tx", {})
            assert await there.read_resource("iam/user", "nobody") is None
            await there.create_function(function("theirs"))  # a function's notice is not a kind's
            assert await asyncio.wait_for(functions.get(), 30) == "theirs"
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                # A kind's notice forged by another program is one more read, never a function's.
                await conn.execute("SELECT pg_notify('lamina_changes', %s)", (f"lamina\t{there.claimer}\t@x\ty",))
                await conn.execute("SELECT pg_notify('lamina_changes', %s)", (f"lamina\t{there.claimer}\t@",))
            await there.change_resources(deletes=[("iam/role", "r")])
            assert await asyncio.wait_for(kinds.get(), 30) == "iam/role r"
            assert kinds.empty() and functions.empty()
        finally:
            await follower.close()
            await others.close()

    with_stores(url, 2, scenario)


def test_the_usage_ledger_s_running_mark_is_one_per_server(url: str) -> None:
    from lamina.store.base import InvocationRecord, MeterRun, ProvisionedAllocation

    live = ProvisionedAllocation("f", "live", "1", 256, "x86_64", 2, 1500)

    async def opened() -> PostgresStore:
        store = PostgresStore(url)
        await store.open()
        return store

    async def killed(store: PostgresStore) -> None:
        """Closed without ending its run, and waited for until its connections are gone, as a kill's."""
        await store.close()
        gone = f"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{store.application}'"
        while await asyncio.to_thread(scalar, url, gone):
            await asyncio.sleep(0.05)

    async def scenario() -> None:
        one, two = await opened(), await opened()
        assert await one.begin_metering(1000) is None
        await one.record_allocations([live])
        assert await two.begin_metering(2000) is None  # the other runs: not taken for a killed one
        await one.end_metering(3000)  # the other still keeps the environments: still allocated
        assert await two.list_allocations(10_000) == [live]
        await one.close()

        three = await opened()
        await three.begin_metering(4000)
        await three.record_invocations([InvocationRecord("r", "f", "1", 5000, 99.2, 100, 256, 30, None, "success")])
        await killed(three)
        four = await opened()
        assert await four.begin_metering(6000) == MeterRun(killed=True, last_write_ms=5100, closed=0)  # two runs
        assert await four.list_allocations(10_000) == [live]
        await two.end_metering(7000)
        await two.close()
        assert await four.list_allocations(10_000) == [live]  # the last one running ends them
        await killed(four)

        five = await opened()  # every run before was killed or stopped: the killed one's allocations end
        assert await five.begin_metering(9000) == MeterRun(killed=True, last_write_ms=6000, closed=1)
        assert await five.list_allocations(10_000) == [live, dataclasses.replace(live, environments=0, at_ms=6000)]
        await five.end_metering(9500)
        await five.close()

    asyncio.run(scenario())


def test_one_server_at_a_time_prepares_a_function_and_another_takes_it_over_once_its_claim_ends(url: str) -> None:
    async def scenario(stores: list[PostgresStore]) -> None:
        one, two = stores
        await one.create_function(function("f"))
        won = await asyncio.gather(*(store.claim_preparation("f", "$LATEST", 1000, 2000) for store in stores * 5))
        # One of them holds it (and claims it again as often as it likes); the other never gets it.
        assert {tuple(won[0::2]), tuple(won[1::2])} == {(True,) * 5, (False,) * 5}
        holder, other = (one, two) if won[0] else (two, one)
        assert await holder.claim_preparation("f", "$LATEST", 1500, 2500)  # its own again: renewed
        assert not await other.claim_preparation("f", "$LATEST", 2400, 3400)
        assert await other.claim_preparation("f", "$LATEST", 2500, 3500)  # ended: taken over
        await holder.renew_preparations(9999)  # renews only what it still holds
        assert not await holder.claim_preparation("f", "$LATEST", 3000, 4000)
        await other.finish_preparation("f", "$LATEST")
        assert await holder.claim_preparation("f", "$LATEST", 3000, 4000)
        assert not await holder.claim_preparation("no-such-function", "$LATEST", 3000, 4000)  # nothing to prepare
        await holder.release_preparations()
        assert await other.claim_preparation("f", "1' OR '1'='1", 3000, 4000)  # a version is data
        await one.delete_function("f")  # its claims go with it
        assert scalar(url, "SELECT count(*) FROM lamina.preparations") == 0

    with_stores(url, 2, scenario)


def test_the_database_settings_are_read_from_the_environment() -> None:
    settings = Settings.from_env({"LAMINA_DATABASE_URL": " postgresql://u:p@h:5/d ", "LAMINA_CODE_DIR": "/shared",
                                  "LAMINA_ASYNC_CLAIM_SECONDS": "2.5"})  # fmt: skip
    assert (settings.database_url, settings.code_dir, settings.async_claim_seconds) == (
        "postgresql://u:p@h:5/d", Path("/shared"), 2.5)  # fmt: skip
    assert "p@h" not in repr(settings)  # the password is not shown
    empty = Settings.from_env({"LAMINA_DATABASE_URL": "  ", "LAMINA_CODE_DIR": ""})
    assert (empty.database_url, empty.code_dir, empty.async_claim_seconds) == (None, None, 30.0)


@pytest.mark.parametrize("variables", [
    {"LAMINA_DATABASE_URL": "sqlite:///x.db"}, {"LAMINA_DATABASE_URL": "postgresql:/no-slashes"},
    {"LAMINA_ASYNC_CLAIM_SECONDS": "0"}, {"LAMINA_ASYNC_CLAIM_SECONDS": "nan"},
    {"LAMINA_ASYNC_CLAIM_SECONDS": "1e9"}, {"LAMINA_ASYNC_CLAIM_SECONDS": "-5"},
])  # fmt: skip
def test_database_settings_that_are_not_right_are_refused(variables: dict[str, str]) -> None:
    with pytest.raises(ValueError if "LAMINA_ASYNC_CLAIM_SECONDS" in variables else DatabaseUnavailable):
        Settings.from_env(variables)
