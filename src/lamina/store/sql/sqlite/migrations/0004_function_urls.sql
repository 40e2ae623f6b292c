-- Function URLs: at most one per function and qualifier ("$LATEST" for the unqualified function,
-- or an alias), each with a url-id of its own for life. Like everything a function owns, a URL goes
-- with its function (ON DELETE CASCADE) and cannot be written for a function that is gone.
CREATE TABLE function_urls (
    function  TEXT NOT NULL REFERENCES functions (name) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    url_id    TEXT NOT NULL UNIQUE,
    config    TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);
