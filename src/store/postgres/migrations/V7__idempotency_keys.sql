-- Idempotency keys outside the partitions. A repeat is looked up under the tenant's head lock at
-- every commit that carries keys; on `entries` that is one index probe per partition, and over
-- 402 daily partitions ~100 ms a commit (BENCHMARKS.md); here it is one probe of one key. A prune
-- removes the keys of the entries it removes (`trailscope_prune_many`), as the entries' own
-- index lost them before, so a repeat after its entry was pruned is stored anew on both stores.
CREATE TABLE idempotency_keys (
    tenant text   NOT NULL,
    key    text   NOT NULL,
    seq    bigint NOT NULL,
    id     text   NOT NULL,
    hash   text   NOT NULL,
    PRIMARY KEY (tenant, key)
);
CREATE INDEX idempotency_keys_by_seq ON idempotency_keys (tenant, seq);
INSERT INTO idempotency_keys (tenant, key, seq, id, hash)
    SELECT tenant, idempotency_key, seq, id, hash FROM entries WHERE idempotency_key IS NOT NULL
    ON CONFLICT DO NOTHING;
DROP INDEX entries_idem;
REVOKE ALL ON idempotency_keys FROM PUBLIC;
GRANT SELECT, INSERT ON idempotency_keys TO trailscope_app;
