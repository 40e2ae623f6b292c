-- The embedded object store's metadata (lamina/objects): buckets, objects, multipart uploads and
-- their parts, each a JSON document by (kind, bucket, key). Bodies are files under the data
-- directory's objects/ folder, named in the documents; a change (an object put, a bucket deleted)
-- is one transaction with the notifications it owes (the outbox), so none is lost or invented.
CREATE TABLE object_records (
    kind    TEXT NOT NULL,  -- 'bucket' (key ''), 'object', 'upload' (key: the upload id), 'part' (key: '<upload id>/<number>')
    bucket  TEXT NOT NULL,
    key     TEXT NOT NULL,
    doc     TEXT NOT NULL,
    PRIMARY KEY (kind, bucket, key)
);
