-- Layer versions: immutable once published; the configuration is a JSON document (store/codec.py).
CREATE TABLE layer_versions (
    name    TEXT NOT NULL,
    version INTEGER NOT NULL,
    config  TEXT NOT NULL,
    PRIMARY KEY (name, version)
);

-- The next version number of each layer: numbers are never reused, even after deletion.
CREATE TABLE layers (
    name         TEXT PRIMARY KEY,
    last_version INTEGER NOT NULL
);
