-- The usage ledger's running mark, one per server (store/postgresql/ledger.py) rather than one for
-- all: a server that starts while another runs must not take it for a killed one. ``app`` is the
-- application_name of the run's connections: a run still marked running none of whose connections
-- is left (pg_stat_activity) was killed. The single mark of before is kept as a run without one.
CREATE TABLE meter_runs (
    claimer       text PRIMARY KEY,
    app           text,
    running       boolean NOT NULL,
    started_ms    bigint NOT NULL,
    last_write_ms bigint NOT NULL
);
INSERT INTO meter_runs (claimer, app, running, started_ms, last_write_ms)
SELECT 'before-replicas', NULL, running, started_ms, last_write_ms FROM meter_run;
DROP TABLE meter_run;
