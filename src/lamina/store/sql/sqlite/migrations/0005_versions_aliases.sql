-- Published versions: immutable snapshots of a function's $LATEST, numbered 1, 2, ... The
-- configuration is a JSON document (store/codec.py), as for functions. Like everything a function
-- owns, versions and aliases go with it (ON DELETE CASCADE) and cannot be written once it is gone.
CREATE TABLE function_versions (
    function TEXT NOT NULL REFERENCES functions (name) ON DELETE CASCADE,
    version  INTEGER NOT NULL,
    config   TEXT NOT NULL,
    PRIMARY KEY (function, version)
);

-- The highest version number each function has published: numbers are never reused, even after
-- the version is deleted (a function created again under the same name starts again at 1).
CREATE TABLE function_version_numbers (
    function     TEXT PRIMARY KEY REFERENCES functions (name) ON DELETE CASCADE,
    last_version INTEGER NOT NULL
);

-- Aliases: a name for a version (or $LATEST), with an optional weighted second version.
CREATE TABLE function_aliases (
    function    TEXT NOT NULL REFERENCES functions (name) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    config      TEXT NOT NULL,
    PRIMARY KEY (function, name)
);
