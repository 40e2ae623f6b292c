-- The qualifier an invocation was invoked with (an alias or a version; NULL: unqualified), for
-- metrics and usage by alias.
ALTER TABLE invocations ADD COLUMN qualifier TEXT;
