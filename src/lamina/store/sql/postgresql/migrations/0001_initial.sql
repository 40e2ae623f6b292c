-- The schema SQLite's migrations 0001 to 0019 arrive at, with the same meaning (see each table's
-- comment there), in PostgreSQL's types: ids that are never reused are identity columns, blobs
-- bytea, timestamps in milliseconds bigint. Documents are text, not jsonb: jsonb refuses \u0000,
-- which a JSON document may hold.

CREATE TABLE functions (
    name        text PRIMARY KEY,
    revision_id text NOT NULL,
    config      text NOT NULL
);

CREATE TABLE layer_versions (
    name    text NOT NULL,
    version integer NOT NULL,
    config  text NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE layers (
    name         text PRIMARY KEY,
    last_version integer NOT NULL
);

-- Everything a function owns goes with it (ON DELETE CASCADE) and cannot be written once it is gone.
CREATE TABLE function_tags (
    function text NOT NULL REFERENCES functions (name) ON DELETE CASCADE,
    key      text NOT NULL,
    value    text NOT NULL,
    PRIMARY KEY (function, key)
);

CREATE TABLE function_policies (
    function    text NOT NULL REFERENCES functions (name) ON DELETE CASCADE,
    qualifier   text NOT NULL,
    revision_id text NOT NULL,
    statements  text NOT NULL,
    PRIMARY KEY (function, qualifier)
);

CREATE TABLE event_invoke_configs (
    function  text NOT NULL REFERENCES functions (name) ON DELETE CASCADE,
    qualifier text NOT NULL,
    config    text NOT NULL,
    PRIMARY KEY (function, qualifier)
);

CREATE TABLE function_urls (
    function  text NOT NULL REFERENCES functions (name) ON DELETE CASCADE,
    qualifier text NOT NULL,
    url_id    text NOT NULL UNIQUE,
    config    text NOT NULL,
    PRIMARY KEY (function, qualifier)
);

CREATE TABLE function_versions (
    function text NOT NULL REFERENCES functions (name) ON DELETE CASCADE,
    version  integer NOT NULL,
    config   text NOT NULL,
    PRIMARY KEY (function, version)
);

CREATE TABLE function_version_numbers (
    function     text PRIMARY KEY REFERENCES functions (name) ON DELETE CASCADE,
    last_version integer NOT NULL
);

CREATE TABLE function_aliases (
    function    text NOT NULL REFERENCES functions (name) ON DELETE CASCADE,
    name        text NOT NULL,
    revision_id text NOT NULL,
    config      text NOT NULL,
    PRIMARY KEY (function, name)
);

CREATE TABLE function_concurrency (
    function text PRIMARY KEY REFERENCES functions (name) ON DELETE CASCADE,
    reserved integer NOT NULL CHECK (reserved >= 0)
);

CREATE TABLE provisioned_concurrency_configs (
    function      text NOT NULL REFERENCES functions (name) ON DELETE CASCADE,
    qualifier     text NOT NULL,
    requested     integer NOT NULL CHECK (requested >= 1),
    last_modified text NOT NULL,
    PRIMARY KEY (function, qualifier)
);

-- The asynchronous queue: what schedules an event, and apart from it its content. claimed_by and
-- claimed_until: which replica is attempting it, until when (claim_events; NULL: nobody).
CREATE TABLE async_events (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id    text NOT NULL,
    function      text NOT NULL,
    qualifier     text,
    size          bigint NOT NULL DEFAULT 0,
    attempts      integer NOT NULL DEFAULT 0,
    enqueued_ms   bigint NOT NULL,
    next_ms       bigint NOT NULL,
    claimed_by    text,
    claimed_until bigint
);
CREATE INDEX async_events_function ON async_events (function, next_ms);
CREATE INDEX async_events_due ON async_events (next_ms);

CREATE TABLE async_payloads (
    seq            bigint PRIMARY KEY,
    payload        bytea NOT NULL,
    client_context text
);

CREATE TABLE outbox (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target      text NOT NULL,
    kind        text NOT NULL,
    function    text NOT NULL,
    request_id  text NOT NULL,
    body        bytea NOT NULL,
    attributes  text NOT NULL,
    created_ms  bigint NOT NULL,
    claimed_by    text,
    claimed_until bigint
);
CREATE INDEX outbox_target ON outbox (target, id);

CREATE TABLE log_usage (
    function text PRIMARY KEY,
    bytes    bigint NOT NULL
);

CREATE TABLE log_chunks (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    function text NOT NULL,
    stream   text NOT NULL,
    first_ms bigint NOT NULL,
    last_ms  bigint NOT NULL,
    lines    integer NOT NULL,
    size     bigint NOT NULL,
    data     bytea NOT NULL
);
CREATE INDEX log_chunks_by_function ON log_chunks (function, id);
CREATE INDEX log_chunks_by_stream ON log_chunks (function, stream, first_ms);
CREATE INDEX log_chunks_by_last_time ON log_chunks (function, last_ms);

CREATE TABLE resources (
    kind text NOT NULL,
    key  text NOT NULL,
    doc  text NOT NULL,
    PRIMARY KEY (kind, key)
);

CREATE TABLE bus_events (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bus         text NOT NULL,
    envelope    bytea NOT NULL,
    deliveries  text NOT NULL,
    created_ms  bigint NOT NULL,
    hops        integer NOT NULL DEFAULT 0
);

CREATE TABLE queue_messages (
    seq               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue             text NOT NULL,
    message_id        text NOT NULL,
    body              text NOT NULL,
    attributes        text NOT NULL,
    sent_ms           bigint NOT NULL,
    visible_ms        bigint NOT NULL,
    receive_count     integer NOT NULL DEFAULT 0,
    first_receive_ms  bigint NOT NULL DEFAULT 0,
    group_id          text,
    dedup_id          text
);
CREATE INDEX queue_messages_by_queue ON queue_messages (queue, seq);

CREATE TABLE object_records (
    kind    text NOT NULL,
    bucket  text NOT NULL,
    key     text NOT NULL,
    doc     text NOT NULL,
    PRIMARY KEY (kind, bucket, key)
);

-- The ledger: id keeps rows of one start time in the order they were written (SQLite's rowid).
CREATE TABLE invocations (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id         text NOT NULL,
    function           text NOT NULL,
    version            text NOT NULL,
    started_ms         bigint NOT NULL,
    duration_ms        double precision NOT NULL,
    billed_ms          bigint NOT NULL,
    memory_mb          integer NOT NULL,
    max_memory_used_mb integer NOT NULL,
    init_ms            double precision,
    outcome            text NOT NULL,
    qualifier          text,
    architecture       text NOT NULL DEFAULT 'x86_64',
    ephemeral_mb       integer NOT NULL DEFAULT 512,
    provisioned        boolean NOT NULL DEFAULT false
);
CREATE INDEX invocations_by_function ON invocations (function, started_ms);
CREATE INDEX invocations_by_time ON invocations (started_ms);

CREATE TABLE provisioned_allocations (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    function     text NOT NULL,
    qualifier    text NOT NULL,
    version      text NOT NULL,
    memory_mb    integer NOT NULL,
    architecture text NOT NULL,
    environments integer NOT NULL CHECK (environments >= 0),
    at_ms        bigint NOT NULL
);
CREATE INDEX provisioned_allocations_by_time ON provisioned_allocations (at_ms);

CREATE TABLE meter_run (
    id            integer PRIMARY KEY CHECK (id = 1),
    running       boolean NOT NULL,
    started_ms    bigint NOT NULL,
    last_write_ms bigint NOT NULL
);

CREATE TABLE metric_counts (
    function  text NOT NULL,
    qualifier text NOT NULL,
    metric    text NOT NULL,
    minute_ms bigint NOT NULL,
    count     bigint NOT NULL,
    PRIMARY KEY (function, qualifier, metric, minute_ms)
);
CREATE INDEX metric_counts_by_time ON metric_counts (minute_ms);
