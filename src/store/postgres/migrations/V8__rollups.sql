-- How many entries each minute, hour and day holds per (channel, kind, outcome, action, target
-- type), written by the writers in the transaction that appends the entries (store::rollup):
-- counts, facets and histograms read these instead of every match. A prune subtracts what it
-- removes. Derived data, not evidence: no proof depends on them (and verify does not check them).
CREATE TABLE rollups (
    tenant      text   NOT NULL,
    width       bigint NOT NULL,  -- ms: 60000, 3600000 or 86400000
    slot        bigint NOT NULL,  -- ms: the start of the minute, hour or day
    channel     text   NOT NULL,
    kind        text   NOT NULL,
    outcome     text   NOT NULL,
    action      text   NOT NULL,
    target_type text   NOT NULL,  -- '' without a target
    n           bigint NOT NULL,
    PRIMARY KEY (tenant, width, slot, channel, kind, outcome, action, target_type)
);
-- The counts of the entries already here (the statement of `rollup::from_entries_sql`).
INSERT INTO rollups (tenant, width, slot, channel, kind, outcome, action, target_type, n)
SELECT tenant, w, occurred_at - ((occurred_at % w) + w) % w, channel, kind, outcome, action,
       COALESCE(target_type, ''), count(*)
  FROM entries CROSS JOIN (VALUES (60000::bigint), (3600000::bigint), (86400000::bigint)) AS widths (w)
 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
REVOKE ALL ON rollups FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON rollups TO trailscope_app;
