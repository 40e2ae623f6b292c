-- Units of concurrency each replica holds (store/postgresql/leases.py, scheduler/units.py): a pool
-- is a function with reserved concurrency (its name) or the account's unreserved concurrency ('');
-- a lease lasts until expires_ms unless its replica renews it. The units of live leases of a pool
-- never add up to more than its limit.
CREATE TABLE concurrency_leases (
    pool       text   NOT NULL,
    claimer    text   NOT NULL,
    units      integer NOT NULL CHECK (units >= 0),
    expires_ms bigint NOT NULL,
    PRIMARY KEY (pool, claimer)
);
CREATE INDEX concurrency_leases_claimer ON concurrency_leases (claimer);
