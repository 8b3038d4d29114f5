-- Scheduled jobs that must run once across replicas (the daily prune): the replica whose INSERT
-- of (job, day) goes in runs it; the others find the row and skip.
CREATE TABLE scheduled_runs (
    job      text   NOT NULL,
    day      date   NOT NULL,
    replica  text   NOT NULL,
    claimed  bigint NOT NULL,
    PRIMARY KEY (job, day)
);
GRANT SELECT, INSERT ON scheduled_runs TO trailscope_app;
