-- What /healthz writes (and rolls back) to learn whether the database can write again after a
-- write failed for want of space: answering `SELECT 1` says nothing about a full disk. Each probe
-- row fills most of a page, uncompressed, so a probe needs a free page as an append would; the
-- rolled-back rows are reclaimed by autovacuum. In the database's default tablespace, like the
-- entries' partitions.
CREATE TABLE write_probe (pad text NOT NULL);
ALTER TABLE write_probe ALTER COLUMN pad SET STORAGE PLAIN;
GRANT INSERT ON write_probe TO trailscope_app;
