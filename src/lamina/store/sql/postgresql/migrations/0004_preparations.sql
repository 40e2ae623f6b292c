-- Which server prepares a function's code (store/postgresql/preparations.py): a function left
-- Pending (or InProgress) by a server that died is taken over by another once the claim ends.
CREATE TABLE preparations (
    function text   NOT NULL REFERENCES functions (name) ON DELETE CASCADE,
    version  text   NOT NULL,
    claimer  text   NOT NULL,
    until_ms bigint NOT NULL,
    PRIMARY KEY (function, version)
);
CREATE INDEX preparations_claimer ON preparations (claimer);
