-- `target=type/id` is `target_type = ? AND target_id = ?`: one index range for the pair, in
-- keyset order. With only (tenant, target_id, …) and (tenant, target_type, …) the planner, on a
-- partition not yet analysed (a new month, a fresh database), walked the target_type range and
-- filtered target_id: every row of the type for a page of a few (46 ms p99 at 18,000 entries).
CREATE INDEX entries_target_pair ON entries (tenant, target_type, target_id, occurred_at, seq);
