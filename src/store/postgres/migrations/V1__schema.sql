-- trailscope on PostgreSQL, schema 1. Run by the role that owns the schema (the role in
-- --database-url); the server's own connections then act as `trailscope_app`, which may read and
-- append but never UPDATE or DELETE history: prune and pseudonymise go through the SECURITY
-- DEFINER functions below, which the append-only triggers let through.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'trailscope_app') THEN
        BEGIN
            CREATE ROLE trailscope_app NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- another database of the cluster created it at the same moment
        END;
    END IF;
    IF NOT pg_has_role(current_user, 'trailscope_app', 'MEMBER') THEN
        EXECUTE format('GRANT trailscope_app TO %I', current_user);
    END IF;
END
$$;

-- Times are milliseconds since the epoch (UTC), as in SQLite: the hashed text is formatted from
-- them, so both stores hash the same bytes.
CREATE TABLE entries (
    tenant           text   NOT NULL,
    seq              bigint NOT NULL,
    id               text   NOT NULL,
    occurred_at      bigint NOT NULL,
    received_at      bigint NOT NULL,
    action           text   NOT NULL,
    kind             text   NOT NULL,
    channel          text   NOT NULL,
    outcome          text   NOT NULL,
    description      text,
    actor_type       text   NOT NULL,
    actor_id         text,
    actor_name       text,
    actor_email      text,
    actor_ip         text,
    actor_user_agent text,
    target_type      text,
    target_id        text,
    target_name      text,
    details          text,
    idempotency_key  text,
    commitments      text   NOT NULL,
    prev_hash        text   NOT NULL,
    hash             text   NOT NULL,
    -- What `q` searches, lowercased, for the trigram index.
    search           text GENERATED ALWAYS AS (lower(
        coalesce(description, '') || E'\n' || action || E'\n' || coalesce(actor_name, '') || E'\n' ||
        coalesce(actor_email, '') || E'\n' || coalesce(actor_id, '') || E'\n' ||
        coalesce(target_name, '') || E'\n' || coalesce(target_id, ''))) STORED,
    -- A unique key on a partitioned table must hold the partition key; (tenant, seq) alone is
    -- kept unique by the per-tenant lock every append takes (and checked by verify).
    PRIMARY KEY (tenant, seq, received_at)
) PARTITION BY RANGE (received_at);

-- Rows whose month has no partition yet (a clock far ahead) land here rather than being refused.
CREATE TABLE entries_default PARTITION OF entries DEFAULT;

-- Every filter is index-backed and each index ends in the keyset (occurred_at, seq).
CREATE INDEX entries_time    ON entries (tenant, occurred_at, seq);
CREATE INDEX entries_action  ON entries (tenant, action, occurred_at, seq);
CREATE INDEX entries_channel ON entries (tenant, channel, occurred_at, seq);
CREATE INDEX entries_kind    ON entries (tenant, kind, occurred_at, seq);
CREATE INDEX entries_outcome ON entries (tenant, outcome, occurred_at, seq);
CREATE INDEX entries_actor   ON entries (tenant, actor_id, occurred_at, seq);
CREATE INDEX entries_email   ON entries (tenant, lower(actor_email), occurred_at, seq);
CREATE INDEX entries_aname   ON entries (tenant, lower(actor_name), occurred_at, seq);
CREATE INDEX entries_target  ON entries (tenant, target_id, occurred_at, seq);
CREATE INDEX entries_ttype   ON entries (tenant, target_type, occurred_at, seq);
CREATE INDEX entries_ip      ON entries (tenant, actor_ip, occurred_at, seq);
CREATE INDEX entries_id      ON entries (id);
CREATE INDEX entries_idem    ON entries (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX entries_search  ON entries USING gin (search gin_trgm_ops);

-- The head of each tenant's chain: every append locks it (SELECT … FOR UPDATE), so one tenant's
-- chain and tree stay one sequence whichever replica commits.
CREATE TABLE chain_heads (
    tenant      text PRIMARY KEY,
    seq         bigint NOT NULL,
    hash        text   NOT NULL,
    received_at bigint NOT NULL
);

CREATE TABLE chain_anchors (
    tenant text PRIMARY KEY,
    seq    bigint NOT NULL,
    hash   text   NOT NULL,
    report text   NOT NULL
);

CREATE TABLE retention (
    tenant text PRIMARY KEY,
    days   integer NOT NULL
);

CREATE TABLE actions (
    tenant text NOT NULL,
    action text NOT NULL,
    PRIMARY KEY (tenant, action)
);

-- The Merkle tree (see src/proof): one row of stored hashes per leaf.
CREATE TABLE trees (
    tenant    text PRIMARY KEY,
    first_seq bigint NOT NULL
);

CREATE TABLE tree_rows (
    tenant text   NOT NULL,
    leaf   bigint NOT NULL,
    hashes bytea  NOT NULL,
    PRIMARY KEY (tenant, leaf)
);

CREATE TABLE checkpoints (
    tenant     text   NOT NULL,
    size       bigint NOT NULL,
    note       text   NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (tenant, size)
);

CREATE TABLE tokens (
    id          text PRIMARY KEY,
    secret_hash text NOT NULL UNIQUE,
    role        text NOT NULL,
    tenant      text NOT NULL,
    name        text,
    created_at  bigint NOT NULL,
    revoked_at  bigint
);

-- The append-only rules. The one door is a transaction-local setting that only the SECURITY
-- DEFINER functions below set (`prune:<tenant>` with `trailscope.prune_upto`, or `pseudonymise:<tenant>`); the
-- application's role could set it too, but holds no UPDATE or DELETE privilege to use it with.
CREATE FUNCTION trailscope_entries_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    permit text := coalesce(current_setting('trailscope.maintenance', true), '');
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF permit = 'prune:' || OLD.tenant
           AND OLD.seq <= coalesce(nullif(current_setting('trailscope.prune_upto', true), ''), '0')::bigint THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit entries are append-only: DELETE is refused' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF permit = 'pseudonymise:' || OLD.tenant
       AND NEW.tenant = OLD.tenant AND NEW.seq = OLD.seq AND NEW.id = OLD.id
       AND NEW.occurred_at = OLD.occurred_at AND NEW.received_at = OLD.received_at
       AND NEW.action = OLD.action AND NEW.kind = OLD.kind AND NEW.channel = OLD.channel
       AND NEW.outcome = OLD.outcome AND NEW.description IS NOT DISTINCT FROM OLD.description
       AND NEW.actor_type = OLD.actor_type AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id
       AND NEW.target_type IS NOT DISTINCT FROM OLD.target_type
       AND NEW.target_id IS NOT DISTINCT FROM OLD.target_id
       AND NEW.target_name IS NOT DISTINCT FROM OLD.target_name
       AND NEW.details IS NOT DISTINCT FROM OLD.details
       AND NEW.idempotency_key IS NOT DISTINCT FROM OLD.idempotency_key
       AND NEW.prev_hash = OLD.prev_hash AND NEW.hash = OLD.hash THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit entries are append-only: UPDATE is refused' USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE FUNCTION trailscope_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION trailscope_entries_guard();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION trailscope_refuse();
CREATE TRIGGER tree_rows_append_only BEFORE UPDATE OR DELETE ON tree_rows
    FOR EACH ROW EXECUTE FUNCTION trailscope_refuse();
CREATE TRIGGER tree_rows_no_truncate BEFORE TRUNCATE ON tree_rows
    FOR EACH STATEMENT EXECUTE FUNCTION trailscope_refuse();
CREATE TRIGGER trees_append_only BEFORE UPDATE OR DELETE ON trees
    FOR EACH ROW EXECUTE FUNCTION trailscope_refuse();
CREATE TRIGGER trees_no_truncate BEFORE TRUNCATE ON trees
    FOR EACH STATEMENT EXECUTE FUNCTION trailscope_refuse();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION trailscope_refuse();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION trailscope_refuse();

-- Retention: removes the tenant's entries up to `upto` and records the new anchor.
CREATE FUNCTION trailscope_prune(p_tenant text, p_upto bigint, p_anchor_hash text, p_report text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    removed bigint;
BEGIN
    PERFORM set_config('trailscope.maintenance', 'prune:' || p_tenant, true);
    PERFORM set_config('trailscope.prune_upto', p_upto::text, true);
    DELETE FROM entries WHERE tenant = p_tenant AND seq <= p_upto;
    GET DIAGNOSTICS removed = ROW_COUNT;
    PERFORM set_config('trailscope.maintenance', '', true);
    PERFORM set_config('trailscope.prune_upto', '', true);
    INSERT INTO chain_anchors (tenant, seq, hash, report) VALUES (p_tenant, p_upto, p_anchor_hash, p_report)
        ON CONFLICT (tenant) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, report = EXCLUDED.report;
    RETURN removed;
END
$$;

-- A prune that removed nothing still records its report (the anchor stays where it was).
CREATE FUNCTION trailscope_prune_report(p_tenant text, p_report text)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT AS $$
    UPDATE chain_anchors SET report = p_report WHERE tenant = p_tenant;
$$;

-- GDPR: one entry's personal fields become the pseudonym; its salts are gone from `commitments`.
CREATE FUNCTION trailscope_pseudonymise(p_tenant text, p_seq bigint, p_name text, p_email text,
    p_ip text, p_user_agent text, p_commitments text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM set_config('trailscope.maintenance', 'pseudonymise:' || p_tenant, true);
    UPDATE entries SET actor_name = p_name, actor_email = p_email, actor_ip = p_ip,
        actor_user_agent = p_user_agent, commitments = p_commitments
        WHERE tenant = p_tenant AND seq = p_seq;
    PERFORM set_config('trailscope.maintenance', '', true);
END
$$;

-- Monthly partitions of `entries` by received_at: the month holding `at_ms` and the next one.
CREATE FUNCTION trailscope_ensure_partitions(at_ms bigint)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    month timestamptz := date_trunc('month', to_timestamp(at_ms / 1000.0) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    i int;
    lo timestamptz;
    hi timestamptz;
    name text;
BEGIN
    -- Replicas may all ask at once: one creates, the others find it there.
    PERFORM pg_advisory_xact_lock(hashtext('trailscope.partitions'));
    FOR i IN 0..1 LOOP
        lo := month + make_interval(months => i);
        hi := lo + interval '1 month';
        name := 'entries_' || to_char(lo AT TIME ZONE 'UTC', 'YYYY"m"MM');
        IF to_regclass(name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF entries FOR VALUES FROM (%s) TO (%s)', name,
                (extract(epoch FROM lo) * 1000)::bigint, (extract(epoch FROM hi) * 1000)::bigint);
        END IF;
    END LOOP;
END
$$;

REVOKE ALL ON entries, entries_default, tree_rows, trees, checkpoints, chain_anchors FROM PUBLIC;
GRANT SELECT, INSERT ON entries, tree_rows, trees, checkpoints TO trailscope_app;
GRANT SELECT ON chain_anchors TO trailscope_app;
GRANT SELECT, INSERT, UPDATE ON chain_heads, retention, tokens TO trailscope_app;
GRANT SELECT, INSERT ON actions TO trailscope_app;
REVOKE ALL ON FUNCTION trailscope_prune(text, bigint, text, text), trailscope_prune_report(text, text),
    trailscope_pseudonymise(text, bigint, text, text, text, text, text),
    trailscope_ensure_partitions(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION trailscope_prune(text, bigint, text, text), trailscope_prune_report(text, text),
    trailscope_pseudonymise(text, bigint, text, text, text, text, text),
    trailscope_ensure_partitions(bigint) TO trailscope_app;
