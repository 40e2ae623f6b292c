"""The statements each aggregate's store runs, by name, in every dialect.

Each dialect's file (``store/sql/<dialect>/<aggregate>.sql``) holds a statement for every name of
its aggregate's class here; a dialect's module adds in a subclass the names of what only it runs
(PostgreSQL's change notices and claims, SQLite's own numbering of layers' versions).
``queries.load`` binds a file to its class, so a name missing on either side fails at import.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AliasesStatements:
    """``aliases.sql``'s statements."""

    insert_alias: str
    alias_revision: str
    update_alias: str
    list_aliases: str
    delete_alias: str


@dataclass(frozen=True)
class BusStatements:
    """``bus.sql``'s statements."""

    insert_bus_event: str
    list_bus_events: str
    bus_envelope: str
    set_deliveries: str
    delete_bus_event: str


@dataclass(frozen=True)
class ConfigsStatements:
    """``configs.sql``'s statements."""

    get_tags: str
    delete_tags: str
    insert_tag: str
    get_policy: str
    policy_revision: str
    delete_policy: str
    upsert_policy: str
    upsert_event_invoke_config: str
    delete_event_invoke_config: str
    all_event_invoke_configs: str
    event_invoke_configs: str
    delete_reserved_concurrency: str
    upsert_reserved_concurrency: str
    list_reserved_concurrency: str
    upsert_provisioned_concurrency: str
    delete_provisioned_concurrency: str
    list_provisioned_concurrency: str


@dataclass(frozen=True)
class FunctionsStatements:
    """``functions.sql``'s statements."""

    insert_function: str
    get_function: str
    list_functions: str
    function_revision: str
    update_function: str
    delete_function: str
    all_functions: str
    all_layer_versions: str
    all_versions: str
    upsert_version: str
    raise_last_version: str
    list_versions: str
    last_version: str
    delete_version: str


@dataclass(frozen=True)
class LayersStatements:
    """``layers.sql``'s statements."""

    insert_layer_version: str
    get_layer_version: str
    all_layer_versions: str
    layer_versions: str
    delete_layer_version: str


@dataclass(frozen=True)
class LedgerStatements:
    """``ledger.sql``'s statements."""

    insert_invocation: str
    raise_last_write: str
    invocations_of_function: str
    ledger: str
    insert_allocation: str
    allocations_before: str
    start_meter_run: str
    end_meter_run: str
    invocations_between: str
    function_invocations_between: str
    invocation_series: str
    add_metric_count: str
    metric_counts_between: str


@dataclass(frozen=True)
class LogsStatements:
    """``logs.sql``'s statements."""

    insert_chunk: str
    read_chunks: str
    chunks_of_streams: str
    chunks_from: str
    chunks_before: str
    chunks_in_order: str
    streams: str
    functions: str
    function_names: str
    stored: str
    oldest_chunks: str
    delete_chunks_through: str
    functions_over: str
    chunks_ended_before: str
    delete_chunk: str
    add_usage: str
    drop_empty_usage: str


@dataclass(frozen=True)
class MessagesStatements:
    """``messages.sql``'s statements."""

    delete_message: str
    receive_message: str
    insert_message: str
    list_messages: str
    purge_queue: str
    purge_queue_through: str


@dataclass(frozen=True)
class QueueStatements:
    """``queue.sql``'s statements."""

    insert_event: str
    queued_events: str
    event_content: str
    reschedule_event: str
    delete_event: str
    delete_payload: str
    insert_outbox: str
    outbox_after: str
    target_outbox_after: str
    delete_outbox: str


@dataclass(frozen=True)
class UrlsStatements:
    """``urls.sql``'s statements."""

    insert_url: str
    update_url: str
    delete_url: str
    list_urls: str
