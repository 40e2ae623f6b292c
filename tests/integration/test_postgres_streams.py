"""PostgreSQL tables as DynamoDB-stream-shaped event sources, end to end: a real PostgreSQL
(tests/postgres.py), an event source mapping made with boto3's ``lambda`` client
(SelfManagedEventSource ``POSTGRESQL_URL``, Topics ``["schema.table"]``), real functions that print
what they got (the tests read their logs), and the slot and publication read back from the
database. No timing assertions: every wait polls with a deadline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.brokers import free_port
from tests.conftest import LaminaProcess, deploy
from tests.functions import wait_for_logs, wait_until
from tests.mapping_helpers import PRINTER
from tests.postgres import PASSWORD, Postgres, postgres_db, postgres_server, scalar, sql  # noqa: F401


def lamina_objects(url: str) -> tuple[int, int]:
    """(replication slots, publications) Lamina keeps in the database at ``url``."""
    slots = scalar(url, "SELECT count(*) FROM pg_replication_slots WHERE database = current_database() "
                        "AND slot_name LIKE 'lamina\\_%'")  # fmt: skip
    publications = scalar(url, "SELECT count(*) FROM pg_publication WHERE pubname LIKE 'lamina\\_%'")
    return int(slots), int(publications)


def postgres_mapping(client: Any, function: str, url: str, table: str, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "FunctionName": function, "Topics": [table], "StartingPosition": "TRIM_HORIZON",
        "SelfManagedEventSource": {"Endpoints": {"POSTGRESQL_URL": [url]}}, **extra,
    }  # fmt: skip
    return dict(client.create_event_source_mapping(**params))


def stream_records(lines: list[str]) -> list[dict[str, Any]]:
    events = [json.loads(line.split("EVENT ", 1)[1]) for line in lines if "EVENT " in line]
    return [r for e in events for r in e["Records"]]


def test_row_changes_reach_the_function_as_dynamodb_stream_records(lamina: LaminaProcess, client: Any, fn_name: str,
                                                                   postgres_server: Postgres,
                                                                   postgres_db: str) -> None:  # fmt: skip
    url = postgres_server.url(postgres_db)
    sql(url, "CREATE TABLE orders (id int PRIMARY KEY, item text, qty int, paid bool)",
        "ALTER TABLE orders REPLICA IDENTITY FULL")  # fmt: skip
    deploy(client, fn_name, PRINTER)
    mapping = postgres_mapping(client, fn_name, url, "public.orders", BatchSize=10)
    assert mapping["Topics"] == ["public.orders"] and mapping["StartingPosition"] == "TRIM_HORIZON"
    wait_until(lambda: client.get_event_source_mapping(UUID=mapping["UUID"])["State"] == "Enabled", timeout=60)
    wait_until(lambda: lamina_objects(url) == (1, 1), timeout=60)  # the slot exists: changes from here on

    sql(url, "INSERT INTO orders VALUES (1, 'book', 2, false)",
        "BEGIN; UPDATE orders SET paid = true WHERE id = 1; INSERT INTO orders VALUES (2, 'pen', 1, NULL); COMMIT",
        "DELETE FROM orders WHERE id = 1")  # fmt: skip
    lines = wait_for_logs(lamina.endpoint, fn_name, lambda lines: len(stream_records(lines)) >= 4, timeout=90)
    records = stream_records(lines)
    assert [(r["eventName"], r["dynamodb"]["Keys"]) for r in records] == [
        ("INSERT", {"id": {"N": "1"}}), ("MODIFY", {"id": {"N": "1"}}),
        ("INSERT", {"id": {"N": "2"}}), ("REMOVE", {"id": {"N": "1"}}),
    ]  # fmt: skip
    book = {"id": {"N": "1"}, "item": {"S": "book"}, "qty": {"N": "2"}, "paid": {"BOOL": False}}
    assert records[0]["dynamodb"]["NewImage"] == book and "OldImage" not in records[0]["dynamodb"]
    assert records[1]["dynamodb"]["OldImage"] == book
    assert records[1]["dynamodb"]["NewImage"] == {**book, "paid": {"BOOL": True}}
    assert records[2]["dynamodb"]["NewImage"] == {"id": {"N": "2"}, "item": {"S": "pen"}, "qty": {"N": "1"},
                                                  "paid": {"NULL": True}}  # fmt: skip
    assert records[3]["dynamodb"]["OldImage"] == {**book, "paid": {"BOOL": True}}
    assert "NewImage" not in records[3]["dynamodb"]
    sequence = []
    for record in records:
        assert set(record) >= {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb",
                               "eventSourceARN"}  # fmt: skip
        assert record["eventSource"] == "aws:dynamodb" and record["eventVersion"] == "1.1"
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert isinstance(record["dynamodb"]["SizeBytes"], int)
        assert "ApproximateCreationDateTime" in record["dynamodb"]
        sequence.append(int(record["dynamodb"]["SequenceNumber"]))
    assert sequence == sorted(set(sequence))

    # Deleting the mapping removes what Lamina made in the database: PostgreSQL keeps no WAL for it.
    client.delete_event_source_mapping(UUID=mapping["UUID"])
    wait_until(lambda: lamina_objects(url) == (0, 0), timeout=60)


def test_a_table_that_cannot_be_read_is_refused_at_create_saying_why(lamina: LaminaProcess, client: Any, fn_name: str,
                                                                      postgres_server: Postgres,
                                                                      postgres_db: str) -> None:  # fmt: skip
    """As a DynamoDB stream that does not exist is refused by CreateEventSourceMapping: nothing is
    left in the database, and the password is not in the answer."""
    url = postgres_server.url(postgres_db)
    sql(url, "CREATE TABLE notes (body text)")
    deploy(client, fn_name, PRINTER)

    def refused(table: str) -> str:
        with pytest.raises(client.exceptions.InvalidParameterValueException) as caught:
            postgres_mapping(client, fn_name, url, table)
        return str(caught.value.response["Error"]["Message"])

    assert "public.absent does not exist" in refused("public.absent")
    message = refused("public.notes")
    assert "public.notes has no primary key" in message and "REPLICA IDENTITY FULL" in message
    assert PASSWORD not in message
    assert client.list_event_source_mappings(FunctionName=fn_name)["EventSourceMappings"] == []
    assert lamina_objects(url) == (0, 0)


def test_a_database_that_does_not_answer_is_reported_on_the_mapping_not_by_create(lamina: LaminaProcess, client: Any,
                                                                                 fn_name: str) -> None:  # fmt: skip
    """As a mapping to a Kafka broker that is down: created, and the reason shown, without the password."""
    deploy(client, fn_name, PRINTER)
    url = f"postgresql://shop:{PASSWORD}@127.0.0.1:{free_port()}/shop"  # nothing listens there
    mapping = postgres_mapping(client, fn_name, url, "public.orders")
    assert "Cannot connect to PostgreSQL" in mapping["StateTransitionReason"]
    assert PASSWORD not in json.dumps(mapping, default=str)

    def result() -> str:
        text = str(client.get_event_source_mapping(UUID=mapping["UUID"]).get("LastProcessingResult", ""))
        return text if "Cannot connect to PostgreSQL" in text else ""

    assert PASSWORD not in wait_until(result, timeout=60)
    client.delete_event_source_mapping(UUID=mapping["UUID"])
    assert wait_until(lambda: not client.list_event_source_mappings(FunctionName=fn_name)["EventSourceMappings"],
                      timeout=60)  # fmt: skip


# Prints one line per batch: the keys, in the order they came. Then it waits a little, so the line
# is in Lamina's log before the batch is done and confirmed: a kill -9 cannot lose the line of a
# batch whose changes will not come again.
ID_PRINTER = """import time
def handler(event, context):
    ids = [r["dynamodb"]["Keys"]["id"]["N"] for r in event["Records"]]
    print("IDS " + ",".join(ids), flush=True)
    time.sleep(0.4)
"""


def printed_ids(lines: list[str]) -> list[int]:
    return [int(i) for line in lines if "IDS " in line for i in line.split("IDS ", 1)[1].strip().split(",") if i]


def test_lamina_killed_mid_stream_delivers_100000_changes_in_order(make_server: Any, tmp_path: Path,
                                                                  postgres_server: Postgres,
                                                                  postgres_db: str) -> None:  # fmt: skip
    url = postgres_server.url(postgres_db)
    sql(url, "CREATE TABLE orders (id int PRIMARY KEY, item text)")
    data = tmp_path / "data"
    first = make_server(data)
    deploy(first.client(), "pgkilled", ID_PRINTER)
    uuid = postgres_mapping(first.client(), "pgkilled", url, "public.orders", BatchSize=1000)["UUID"]
    wait_until(lambda: lamina_objects(url) == (1, 1), timeout=60)
    total = 100_000
    # A hundred transactions of a thousand rows: a restart resumes after the last one confirmed.
    sql(url, *(f"INSERT INTO orders SELECT g, 'item ' || g FROM generate_series({k * 1000 + 1}, {k * 1000 + 1000}) g"
               for k in range(total // 1000)))  # fmt: skip
    wait_for_logs(first.endpoint, "pgkilled", lambda lines: len(printed_ids(lines)) >= 20_000, timeout=300)
    first.kill()

    second = make_server(data)
    # The second server's log holds the first one's lines too (those it had stored before the kill).
    lines = wait_for_logs(second.endpoint, "pgkilled", lambda lines: set(printed_ids(lines)) >= set(range(1, total + 1)),
                          timeout=600)  # fmt: skip
    ids = printed_ids(lines)
    assert set(ids) == set(range(1, total + 1))  # none lost
    # In order: increasing within each run; the one step back is the restart taking up the changes
    # after the last transaction it had confirmed (or, at most, all of them again).
    steps_back = [i for i in range(1, len(ids)) if ids[i] <= ids[i - 1]]
    assert len(steps_back) <= 1, steps_back[:10]
    if steps_back:
        restart = steps_back[0]
        assert (ids[restart] - 1) % 1000 == 0  # at a transaction's start
        assert ids[restart:] == list(range(ids[restart], total + 1))
    print(f"kill -9 mid-stream: {total} row changes, {len(ids) - total} delivered more than once")
    second.client().delete_event_source_mapping(UUID=uuid)
    wait_until(lambda: lamina_objects(url) == (0, 0), timeout=60)
