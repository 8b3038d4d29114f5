-- Retention that drops whole monthly partitions where it can (issue 13), instead of deleting
-- them row by row. One call prunes several tenants together, because a partition holds every
-- tenant's rows of its month: it can be dropped only when each tenant with rows in it is being
-- pruned past all of them. The caller holds every listed tenant's head lock.
--
-- A partition is dropped when its month has ended before each of its tenants' cutoffs and every
-- row in it is at or below its tenant's `upto`; an empty partition of the past (its month ended
-- before every cutoff) goes too. The rest are deleted row by row through the append-only guard's
-- permit, as before. Dropping takes an ACCESS EXCLUSIVE lock on `entries`, waited for 200 ms at a
-- time (`trailscope_lock_entries`): if it is not had within about two and a half seconds (a long
-- export is reading), the partitions are deleted row by row instead. The lock is held until the
-- prune commits, which follows at once.
--
-- Security: this grants the application's role nothing `trailscope_prune` did not: it removes
-- only rows at or below the `upto` given for their tenant, and moves that tenant's anchor there.
CREATE FUNCTION trailscope_prune_many(p_tenants text[], p_uptos bigint[], p_cutoffs bigint[],
    p_anchor_hashes text[], p_reports text[])
RETURNS bigint[] LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    n int := coalesce(array_length(p_tenants, 1), 0);
    removed bigint[] := array_fill(0::bigint, ARRAY[greatest(n, 1)]);
    earliest bigint := (SELECT min(c) FROM unnest(p_cutoffs) c);
    latest bigint := (SELECT max(c) FROM unnest(p_cutoffs) c);
    part record;
    rel regclass;
    drops regclass[] := '{}';
    outside text := '';
    open_from bigint;
    got boolean := false;
    k int;
    cnt bigint;
BEGIN
    IF n = 0 OR array_length(p_uptos, 1) IS DISTINCT FROM n OR array_length(p_cutoffs, 1) IS DISTINCT FROM n
       OR array_length(p_anchor_hashes, 1) IS DISTINCT FROM n OR array_length(p_reports, 1) IS DISTINCT FROM n
       OR (SELECT count(DISTINCT t) FROM unnest(p_tenants) t) <> n THEN
        RAISE EXCEPTION 'trailscope_prune_many: one element per distinct tenant in each of the five arrays'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Which partitions are wholly due, oldest first; the received_at ranges outside them are
    -- where rows are deleted one by one.
    FOR part IN
        SELECT b.rel, b.lo, b.hi FROM trailscope_partition_bounds() b
         WHERE b.hi <= latest ORDER BY b.lo
    LOOP
        IF trailscope_partition_covered(part.rel, part.hi, p_tenants, p_uptos, p_cutoffs, earliest) THEN
            drops := drops || part.rel;
            outside := outside || format(' OR (%s received_at < %s)',
                CASE WHEN open_from IS NULL THEN '' ELSE format('received_at >= %s AND', open_from) END, part.lo);
            open_from := part.hi;
        END IF;
    END LOOP;
    outside := 'false' || outside || format(' OR (%s)',
        CASE WHEN open_from IS NULL THEN 'true' ELSE format('received_at >= %s', open_from) END);

    -- Row by row outside the dropped months, each tenant under its own permit.
    FOR k IN 1..n LOOP
        removed[k] := removed[k] + trailscope_delete_prefix('entries', outside, p_tenants[k], p_uptos[k]);
    END LOOP;

    IF cardinality(drops) > 0 THEN
        got := trailscope_lock_entries();
        FOREACH rel IN ARRAY drops LOOP
            -- Checked again and counted, now that nothing can be added to it.
            IF got AND trailscope_partition_covered(rel, NULL, p_tenants, p_uptos, p_cutoffs, earliest) THEN
                FOREACH k IN ARRAY ARRAY(SELECT array_position(p_tenants, t) FROM unnest(trailscope_partition_tenants(rel)) t) LOOP
                    EXECUTE format('SELECT count(*) FROM %s WHERE tenant = $1', rel) INTO cnt USING p_tenants[k];
                    removed[k] := removed[k] + cnt;
                END LOOP;
                EXECUTE format('DROP TABLE %s', rel);
            ELSE
                FOR k IN 1..n LOOP
                    removed[k] := removed[k] + trailscope_delete_prefix(rel, 'true', p_tenants[k], p_uptos[k]);
                END LOOP;
            END IF;
        END LOOP;
    END IF;
    FOR k IN 1..n LOOP
        -- The keys of the removed entries (the table is migration V7's).
        DELETE FROM idempotency_keys WHERE tenant = p_tenants[k] AND seq <= p_uptos[k];
        INSERT INTO chain_anchors (tenant, seq, hash, report)
            VALUES (p_tenants[k], p_uptos[k], p_anchor_hashes[k], p_reports[k])
            ON CONFLICT (tenant) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, report = EXCLUDED.report;
    END LOOP;
    RETURN removed;
END
$$;

-- Every partition of `entries` but the default, with its received_at range [lo, hi).
CREATE FUNCTION trailscope_partition_bounds()
RETURNS TABLE (rel regclass, lo bigint, hi bigint) LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT b.rel, b.m[1]::bigint, b.m[2]::bigint FROM (
        SELECT c.oid::regclass AS rel,
               regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''?(-?[0-9]+)''?\) TO \(''?(-?[0-9]+)''?\)') AS m
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'entries'::regclass) b
     WHERE b.m IS NOT NULL;
$$;

-- Deletes one tenant's rows up to `p_upto` from `p_rel` where `p_cond` holds, through the
-- append-only guard's permit (opened for this statement only); how many went.
CREATE FUNCTION trailscope_delete_prefix(p_rel regclass, p_cond text, p_tenant text, p_upto bigint)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    cnt bigint;
BEGIN
    PERFORM set_config('trailscope.maintenance', 'prune:' || p_tenant, true);
    PERFORM set_config('trailscope.prune_upto', p_upto::text, true);
    EXECUTE format('DELETE FROM %s WHERE tenant = $1 AND seq <= $2 AND (%s)', p_rel, p_cond)
        USING p_tenant, p_upto;
    GET DIAGNOSTICS cnt = ROW_COUNT;
    PERFORM set_config('trailscope.maintenance', '', true);
    PERFORM set_config('trailscope.prune_upto', '', true);
    RETURN cnt;
END
$$;

-- Takes the ACCESS EXCLUSIVE lock on `entries` that dropping a partition needs, waiting at most
-- 200 ms at a time in the lock queue (every reader and writer that comes after queues behind
-- the request, so it must not wait long), up to 10 times 50 ms apart. False when it was not had.
-- No deadlock: the prune holds only head rows, and a writer takes all its head rows before it
-- touches `entries`.
CREATE FUNCTION trailscope_lock_entries()
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    before text := current_setting('lock_timeout');
BEGIN
    FOR j IN 1..10 LOOP
        BEGIN
            PERFORM set_config('lock_timeout', '200ms', true);
            LOCK TABLE entries IN ACCESS EXCLUSIVE MODE;
            PERFORM set_config('lock_timeout', before, true);
            RETURN true;
        EXCEPTION WHEN lock_not_available THEN
            PERFORM pg_sleep(0.05);
        END;
    END LOOP;
    RETURN false;
END
$$;

-- Drops the partitions of months that ended before `p_before` and hold no rows (left by a prune
-- that had to delete row by row); the number dropped. A prune with nothing to remove calls it.
CREATE FUNCTION trailscope_drop_empty_months(p_before bigint)
RETURNS int LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    empty regclass[] := ARRAY(SELECT b.rel FROM trailscope_partition_bounds() b
                               WHERE b.hi <= p_before AND cardinality(trailscope_partition_tenants(b.rel)) = 0);
    rel regclass;
    dropped int := 0;
BEGIN
    IF cardinality(empty) = 0 OR NOT trailscope_lock_entries() THEN
        RETURN 0;
    END IF;
    FOREACH rel IN ARRAY empty LOOP
        IF cardinality(trailscope_partition_tenants(rel)) = 0 THEN
            EXECUTE format('DROP TABLE %s', rel);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    RETURN dropped;
END
$$;

-- The tenants with rows in one partition, by a walk of its primary key (tenant first): one
-- index probe per tenant, not a scan of the partition.
CREATE FUNCTION trailscope_partition_tenants(p_part regclass)
RETURNS text[] LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    found text[];
BEGIN
    EXECUTE format('WITH RECURSIVE d(tenant) AS (SELECT min(tenant) FROM %1$s '
                   'UNION ALL SELECT (SELECT min(tenant) FROM %1$s WHERE tenant > d.tenant) FROM d WHERE d.tenant IS NOT NULL) '
                   'SELECT coalesce(array_agg(tenant), ''{}'') FROM d WHERE tenant IS NOT NULL', p_part)
        INTO found;
    RETURN found;
END
$$;

-- Whether every row of the partition is due: each of its tenants is listed, its month ended before
-- that tenant's cutoff (`p_hi`, or looked up when NULL) and its rows are at or below the tenant's
-- `upto`. An empty partition is due when its month ended before every cutoff.
CREATE FUNCTION trailscope_partition_covered(p_part regclass, p_hi bigint, p_tenants text[],
    p_uptos bigint[], p_cutoffs bigint[], p_earliest bigint)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    hi bigint := p_hi;
    t text;
    k int;
    top bigint;
    tenants text[];
BEGIN
    IF hi IS NULL THEN
        SELECT b.hi INTO hi FROM trailscope_partition_bounds() b WHERE b.rel = p_part;
    END IF;
    IF hi IS NULL THEN
        RETURN false;
    END IF;
    tenants := trailscope_partition_tenants(p_part);
    IF cardinality(tenants) = 0 THEN
        RETURN hi <= p_earliest;
    END IF;
    FOREACH t IN ARRAY tenants LOOP
        k := array_position(p_tenants, t);
        IF k IS NULL OR hi > p_cutoffs[k] THEN
            RETURN false;
        END IF;
        EXECUTE format('SELECT max(seq) FROM %s WHERE tenant = $1', p_part) INTO top USING t;
        IF top > p_uptos[k] THEN
            RETURN false;
        END IF;
    END LOOP;
    RETURN true;
END
$$;

DROP FUNCTION trailscope_prune(text, bigint, text, text);
REVOKE ALL ON FUNCTION trailscope_prune_many(text[], bigint[], bigint[], text[], text[]),
    trailscope_drop_empty_months(bigint), trailscope_lock_entries(),
    trailscope_delete_prefix(regclass, text, text, bigint),
    trailscope_partition_tenants(regclass), trailscope_partition_bounds(),
    trailscope_partition_covered(regclass, bigint, text[], bigint[], bigint[], bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION trailscope_prune_many(text[], bigint[], bigint[], text[], text[]),
    trailscope_drop_empty_months(bigint) TO trailscope_app;
